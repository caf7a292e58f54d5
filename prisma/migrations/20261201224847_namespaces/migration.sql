-- Namespaces: every caller and connection so far belongs to `default`. The new unique key is built before the old
-- one goes, so a connection stays unique per provider and user throughout (instances of the previous version may
-- still be writing during a rolling update). Ciphertexts bind to the row id, which does not change.

-- AlterTable
ALTER TABLE "providers" ADD COLUMN     "allowed_scopes" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "api_clients" ADD COLUMN     "namespace" TEXT NOT NULL DEFAULT 'default';

-- AlterTable
ALTER TABLE "authorization_requests" ADD COLUMN     "allow_account_change" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "confirm" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "namespace" TEXT NOT NULL DEFAULT 'default',
ADD COLUMN     "pending_grant_enc" BYTEA,
ADD COLUMN     "pending_until" TIMESTAMPTZ(3),
ADD COLUMN     "result_hash" BYTEA;

-- AlterTable
ALTER TABLE "connections" ADD COLUMN     "namespace" TEXT NOT NULL DEFAULT 'default';

-- AlterTable
ALTER TABLE "audit_events" ADD COLUMN     "namespace" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "authorization_requests_result_hash_key" ON "authorization_requests"("result_hash");

-- CreateIndex
CREATE INDEX "authorization_requests_status_pending_until_idx" ON "authorization_requests"("status", "pending_until");

-- CreateIndex
CREATE UNIQUE INDEX "connections_namespace_provider_id_user_id_key" ON "connections"("namespace", "provider_id", "user_id");

-- DropIndex
DROP INDEX "connections_provider_id_user_id_key";
