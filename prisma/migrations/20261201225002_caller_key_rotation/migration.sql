-- AlterTable
ALTER TABLE "api_clients" ADD COLUMN     "key_rotated_at" TIMESTAMPTZ(3),
ADD COLUMN     "previous_key_expires_at" TIMESTAMPTZ(3),
ADD COLUMN     "previous_key_hash" BYTEA,
ADD COLUMN     "updated_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE UNIQUE INDEX "api_clients_previous_key_hash_key" ON "api_clients"("previous_key_hash");
