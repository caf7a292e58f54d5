// A broker with a caller whose webhook points at a test receiver, a provider and one connection, on a clock the
// test moves by hand.
import { build, type Built } from '../helper.js'
import { createCaller, createProvider, seedConnection } from '../support/fixtures.js'
import { startReceiver, type Received, type Receiver } from './receiver.js'
import { readmeVerifier } from './verifier.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface World extends Built {
  receiver: Receiver
  caller: { id: string; apiKey: string }
  secret: string
  connectionId: string
  now(): Date
  /** Moves the test clock (unless the world was built on another clock). */
  advance(ms: number): void
  /** The event of a received request after checking its signature the way README.md says. */
  verified(
    request: Received,
    secret?: string,
  ): { id: string; type: string; createdAt: string; data: Record<string, unknown> }
}

export async function webhookWorld(
  t: Teardown,
  options: Parameters<typeof build>[1] & { events?: string[] } = {},
): Promise<World> {
  let clock = new Date('2026-03-01T10:00:00.000Z')
  const { events, ...appOptions } = options
  const now = options.now ?? (() => clock)
  const built = await build(t, { background: false, ...appOptions, now })
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  await createProvider(built.app)
  const caller = await createCaller(built.app, { allowedProviders: ['acme'] })
  const { id: connectionId } = await seedConnection(built.app, { providerId: 'acme', userId: 'user-1' })
  const res = await built.app.inject({
    method: 'PUT',
    url: '/webhook',
    headers: { authorization: `Bearer ${caller.apiKey}` },
    payload: events ? { url: receiver.url, events } : { url: receiver.url },
  })
  if (res.statusCode !== 201) throw new Error(`registering the webhook failed: ${res.statusCode} ${res.body}`)
  const secret = res.json().secret as string
  const verify = await readmeVerifier()
  return {
    ...built,
    receiver,
    caller,
    secret,
    connectionId,
    now,
    advance(ms) {
      clock = new Date(clock.getTime() + ms)
    },
    verified(request, signedWith = secret) {
      const headers = Object.fromEntries(
        ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, request.headers[name] as string]),
      )
      return verify(signedWith, headers, request.body, { now: now().getTime() }) as ReturnType<World['verified']>
    },
  }
}
