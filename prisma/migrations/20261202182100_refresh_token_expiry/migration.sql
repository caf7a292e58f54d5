-- AlterTable
ALTER TABLE "providers" ADD COLUMN     "refresh_token_lifetime_seconds" INTEGER;

-- AlterTable
ALTER TABLE "connections" ADD COLUMN     "expiry_warned_at" TIMESTAMPTZ(3),
ADD COLUMN     "refresh_token_expires_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "connections_status_refresh_token_expires_at_idx" ON "connections"("status", "refresh_token_expires_at");
