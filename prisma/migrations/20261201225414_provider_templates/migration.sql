-- AlterTable
ALTER TABLE "providers" ADD COLUMN     "connection_config" JSONB;

-- AlterTable
ALTER TABLE "connections" ADD COLUMN     "metadata" JSONB;
