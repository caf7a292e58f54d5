-- connection.expiring is new: an endpoint registered for every event there was receives it too, as one registered
-- for every event now does. Endpoints that chose some events keep their choice.
UPDATE "webhook_endpoints"
SET "events" = array_append("events", 'connection.expiring')
WHERE "events" @> ARRAY[
    'connection.created',
    'connection.refresh_failed',
    'connection.reauthorization_required',
    'connection.recovered',
    'connection.revoked'
  ]::TEXT[]
  AND NOT ('connection.expiring' = ANY ("events"));
