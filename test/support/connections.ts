// Stored connections written straight to the database, for tests of what reads them (admin API, metrics).
import { randomUUID } from 'node:crypto'
import type { Keyring } from '../../src/crypto/keyring.js'
import { Secret } from '../../src/crypto/secret.js'
import type { Db } from '../../src/db/client.js'
import { sealTokens } from '../../src/services/connection-tokens.js'

export async function seedProvider(prisma: Db, id = 'acme'): Promise<string> {
  await prisma.provider.upsert({
    where: { id },
    create: {
      id,
      clientId: `${id}-client`,
      authorizationEndpoint: 'https://idp.example/authorize',
      tokenEndpoint: 'https://idp.example/token',
      issuer: 'https://idp.example',
    },
    update: {},
  })
  return id
}

export interface SeededConnection {
  id: string
  accessToken: string
  refreshToken: string
}

/** A connection with real ciphertexts of known tokens, so a test can look for them in answers and logs. */
export async function seedConnection(
  prisma: Db,
  keyring: Keyring,
  fields: { providerId: string; userId: string; status?: string; createdAt?: Date; lastError?: string },
): Promise<SeededConnection> {
  const id = randomUUID()
  const accessToken = `at-${randomUUID()}`
  const refreshToken = `rt-${randomUUID()}`
  const sealed = sealTokens(keyring, id, {
    accessToken: new Secret(accessToken),
    refreshToken: new Secret(refreshToken),
    tokenType: 'Bearer',
  })
  await prisma.connection.create({
    data: { id, ...fields, ...sealed, expiresAt: new Date(Date.now() + 3600_000), scope: 'openid' },
  })
  return { id, accessToken, refreshToken }
}
