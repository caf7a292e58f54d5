-- DropIndex
DROP INDEX "webhook_endpoints_client_id_idx";

-- CreateIndex
CREATE UNIQUE INDEX "webhook_endpoints_client_id_key" ON "webhook_endpoints"("client_id");

-- CreateIndex
CREATE INDEX "webhook_deliveries_created_at_id_idx" ON "webhook_deliveries"("created_at", "id");
