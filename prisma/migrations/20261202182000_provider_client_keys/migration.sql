-- AlterTable
ALTER TABLE "providers" ADD COLUMN     "fallback_client_secrets_enc" BYTEA,
ADD COLUMN     "private_key_enc" BYTEA;
