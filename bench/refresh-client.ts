// The provider's own capacity for refresh grants, without the broker: the grant the broker makes (openid-client
// refreshTokenGrant, client_secret_basic, after discovery) from a process of its own, `concurrency` in flight.
// Reads { issuer, clientId, clientSecret, refreshTokens, concurrency } as JSON on stdin, answers JSON on stdout.
import * as client from 'openid-client'

interface Input {
  issuer: string
  clientId: string
  clientSecret: string
  refreshTokens: string[]
  concurrency: number
}

const chunks: Buffer[] = []
for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Input

const config = await client.discovery(
  new URL(input.issuer),
  input.clientId,
  { client_secret: input.clientSecret },
  client.ClientSecretBasic(),
  { execute: [client.allowInsecureRequests] },
)

let next = 0
let failed = 0
let firstError: string | undefined
const startedAt = Date.now()
await Promise.all(
  Array.from({ length: input.concurrency }, async () => {
    while (next < input.refreshTokens.length) {
      const token = input.refreshTokens[next++] as string
      try {
        await client.refreshTokenGrant(config, token)
      } catch (err) {
        failed += 1
        firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err)
      }
    }
  }),
)
const endedAt = Date.now()
process.stdout.write(
  JSON.stringify({ startedAt, endedAt, grants: input.refreshTokens.length - failed, failed, firstError }) + '\n',
)
