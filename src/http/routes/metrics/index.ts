import type { FastifyPluginAsync } from 'fastify'
import { sharedFor } from '../../shared-result.js'

const KNOWN_STATUSES = ['active', 'reauthorization_required']

const metricsExample = `# HELP token_broker_token_requests_total GET /tokens answers, by outcome
# TYPE token_broker_token_requests_total counter
token_broker_token_requests_total{outcome="served"} 1027
# HELP token_broker_connections Stored connections by status, as of the last scrape
# TYPE token_broker_connections gauge
token_broker_connections{status="active"} 311
token_broker_connections{status="reauthorization_required"} 4
`

/**
 * Prometheus scrape target. It asks for no credentials, as scrapers rarely carry one: it shows counts under
 * fixed labels only (outcomes, statuses, triggers), never a user, a provider's secret or a token.
 */
const metricsRoutes: FastifyPluginAsync = async (app) => {
  const { metrics, timing } = app.deps
  const { connections, webhookDeliveries } = app.services
  // a GROUP BY over connections and a scan of pending deliveries: at most once per period however often it is scraped
  const databaseGauges = sharedFor(
    timing.metricsMaxAgeMs,
    () => Promise.all([connections.countByStatus(), webhookDeliveries.backlog()]),
    () => app.deps.now().getTime(),
  )

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics: token requests, refreshes and their latency, flows, connections, scheduler lag',
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: { type: 'string', example: metricsExample } } },
          },
        },
      },
    },
    async (_request, reply) => {
      const [counts, backlog] = await databaseGauges()
      metrics.webhookBacklog.set(backlog.pending)
      metrics.webhookOldestPending.set(backlog.oldestAgeSeconds)
      metrics.connections.reset()
      for (const status of new Set([...KNOWN_STATUSES, ...Object.keys(counts)])) {
        metrics.connections.set({ status }, counts[status] ?? 0)
      }
      const text = await metrics.registry.metrics()
      return reply.type(metrics.registry.contentType).send(text)
    },
  )
}

export default metricsRoutes
