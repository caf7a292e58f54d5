-- CreateTable
CREATE TABLE "import_claims" (
    "namespace" TEXT NOT NULL,
    "provider_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "import_claims_pkey" PRIMARY KEY ("namespace","provider_id","user_id")
);
