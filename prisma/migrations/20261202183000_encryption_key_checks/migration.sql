-- One check value per key id that stored data may be encrypted under: a known text encrypted under that key, so
-- that a start with a different key of the same id, or without a key id still in use, is refused before serving.
CREATE TABLE "encryption_key_checks" (
    "key_id" TEXT NOT NULL,
    "check_value" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "encryption_key_checks_pkey" PRIMARY KEY ("key_id")
);
