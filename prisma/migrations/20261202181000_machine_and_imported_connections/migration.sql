-- AlterTable
ALTER TABLE "connections" ADD COLUMN     "grant_type" TEXT NOT NULL DEFAULT 'authorization_code',
ADD COLUMN     "import_digest" BYTEA,
ADD COLUMN     "requested_scopes" TEXT[] DEFAULT ARRAY[]::TEXT[];
