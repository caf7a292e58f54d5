// SIGTERM to the real server process while its scheduler is refreshing a batch, callers wait on GET /tokens and a
// DELETE waits for another instance's refresh: every request completes, the refreshes are stored, no lease is left
// held, the process exits 0, and promptly (no connection kept alive holds it).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { takeLease } from '../src/db/connections/index.js'
import { ADMIN_TOKEN, build, testConfig, testKeys } from './helper.js'
import { openTestDatabase } from './support/database.js'
import { createCaller } from './support/fixtures.js'
import {
  type ConnectedUser,
  expireConnections,
  mintUsers,
  startIdp,
  storedRefreshToken,
  storedRefreshTokens,
} from './support/token-fixture.js'
import { accepting, freePort } from './support/ports.js'

const repoRoot = join(import.meta.dirname, '..')
const tsx = import.meta.resolve('tsx')
/** Each refresh answered this late by the provider, so that they are all in flight when the signal comes. */
const PROVIDER_DELAY_MS = 2_500

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

t.test('SIGTERM during a refresh batch and requests: all complete, leases released, exit 0', async (t) => {
  const db = await openTestDatabase()
  t.teardown(() => db.drop())
  // an app of the test's own on the same database, with the server's keys, to seed and inspect it
  const { app } = await build(t, { db, background: false })
  const idp = await startIdp(t, app, { accessTokenTtl: 3600, rotateRefreshToken: true })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })

  const scheduled = await mintUsers(app, idp, ['s0', 's1', 's2', 's3', 's4', 's5'])
  const requested = await mintUsers(app, idp, ['r0', 'r1', 'r2'])
  // disconnected through the server while another instance (this test) is refreshing it: the DELETE waits for that
  // refresh, so that the newest refresh token is the one revoked
  const [disconnected] = (await mintUsers(app, idp, ['d0'])) as [(typeof requested)[number]]
  const before = await storedRefreshTokens(app)
  await expireConnections(
    app,
    scheduled.map((user) => user.connectionId),
  )
  // expired, so GET /tokens refreshes them; not due for the scheduler, so only the requests do
  await app.deps.db.prisma.connection.updateMany({
    where: { id: { in: [...requested, disconnected].map((user) => user.connectionId) } },
    data: { expiresAt: new Date(Date.now() - 1000), nextRefreshAt: new Date(Date.now() + 3600_000) },
  })
  const otherInstance = 'other-instance/1'
  const now = new Date()
  const lease = { owner: otherInstance, now, until: new Date(now.getTime() + 600_000) }
  const heldByOther = await takeLease(app.deps.db, disconnected.connectionId, lease)
  t.ok(heldByOther, 'another instance holds the lease of d0')
  // its provider configuration ready, so that its refresh after the listener closes is one token request
  await app.deps.providers.configFor(
    await app.deps.db.prisma.provider.findUniqueOrThrow({ where: { id: idp.providerId } }),
  )
  idp.server.setTokenFault({ kind: 'hang', ms: PROVIDER_DELAY_MS, grantType: 'refresh_token' })

  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'tb-shutdown-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const config = testConfig()
  const child = spawn(process.execPath, ['--import', tsx, join(repoRoot, 'src', 'server.ts')], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      ENCRYPTION_KEYS: `${testKeys.primary.id}:${testKeys.primary.key.toString('base64')}`,
      COOKIE_SECRET: config.COOKIE_SECRET,
      ADMIN_TOKEN,
      REFRESH_INTERVAL_SECONDS: '1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  const logs = () =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; [field: string]: unknown })

  await until('the server to listen', () => {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`)
    return logs().some((line) => line.msg === 'token-broker ready')
  })

  const stats = idp.server.stats.tokenRequests
  await until('the scheduler batch at the provider', () => stats.refresh_token >= scheduled.length)
  const responses = requested.map((user) =>
    fetch(`http://127.0.0.1:${port}/tokens/${user.userId}?provider=${idp.providerId}`, {
      headers: caller.headers,
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as { accessToken?: string } })),
  )
  const disconnecting = fetch(`http://127.0.0.1:${port}/connections/${idp.providerId}/${disconnected.userId}`, {
    method: 'DELETE',
    headers: caller.headers,
  }).then((res) => res.status)
  await until('the token requests at the provider', () => stats.refresh_token >= scheduled.length + requested.length)

  const held = await app.deps.db.prisma.connection.count({ where: { leaseOwner: { not: null } } })
  t.equal(held, scheduled.length + requested.length + 1, 'every refresh holds its lease when the signal is sent')
  const signalled = Date.now()
  child.kill('SIGTERM')

  await sleep(200)
  const late = await fetch(`http://127.0.0.1:${port}/healthz`).then(
    (res) => res.status,
    (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
  )
  t.not(late, 200, `a request made after the signal is not served (${late})`)

  // The DELETE outlasts the server's own refreshes: it is still waiting when the listener closes. It waits for the
  // other instance at most 15 s (the provider timeout plus 5 s), within which the other instance finishes.
  await until('the listener to close', async () => !(await accepting(port)))
  t.comment(`listener closed ${Date.now() - signalled} ms after the signal`)
  // nothing of the server's waits at the provider any more: its refreshes ended before the listener closed
  idp.server.setTokenFault(null)
  const outcome = await app.services.refresher.refresh(disconnected.connectionId, {
    need: { kind: 'minTtl', seconds: 60 },
    trigger: 'scheduler',
    actor: 'system',
    claimed: { row: heldByOther as NonNullable<typeof heldByOther>, owner: otherInstance },
  })
  t.equal(outcome.kind, 'refreshed', 'the other instance stores its refresh of d0')
  const newest = outcome.kind === 'refreshed' ? await storedRefreshToken(app, disconnected.connectionId) : undefined

  const answers = await Promise.all(responses)
  for (const [i, user] of requested.entries()) {
    const answer = answers[i] as (typeof answers)[number]
    t.equal(answer.status, 200, `the token request in flight for ${user.userId} completes`)
    t.ok(answer.body.accessToken && answer.body.accessToken !== user.accessToken, 'with a new token')
  }
  t.equal(await disconnecting, 204, 'the DELETE in flight completes after the listener closed')
  t.equal((await idp.server.introspect(newest as string)).active, false, 'having revoked the newest refresh token')

  const [code, signal] = await exited
  const tookMs = Date.now() - signalled
  t.equal(code, 0, 'the process exits 0')
  if (code !== 0) t.comment(output.split('\n').slice(-20).join('\n'))
  t.equal(signal, null, 'by itself, not killed')
  // a connection kept alive after its answer would hold the close for the keep-alive timeout (72 s)
  t.ok(tookMs < 30_000, `promptly once the work is done (${tookMs} ms after the signal)`)
  const messages = logs().map((line) => line.msg)
  t.ok(messages.includes('shutting down: finishing requests and refreshes in flight'), 'it logs the shutdown')
  const batchDone = messages.indexOf('scheduled refreshes done')
  t.ok(batchDone >= 0 && messages.indexOf('stopped') > batchDone, 'and stops after its batch')

  t.equal(
    await app.deps.db.prisma.connection.count({ where: { leaseOwner: { not: null } } }),
    0,
    'no lease is left held',
  )
  const after = await storedRefreshTokens(app)
  for (const user of [...scheduled, ...requested]) {
    const stored = after.get(user.connectionId)
    t.ok(stored && stored !== before.get(user.connectionId), `the rotated refresh token of ${user.userId} is stored`)
    t.equal((await idp.server.introspect(stored as string)).active, true, 'and is the live one at the provider')
  }
  const rows = await app.deps.db.prisma.connection.findMany()
  t.ok(
    rows.every((row) => row.failureCount === 0 && row.lastRefreshedAt !== null),
    'every refresh succeeded',
  )
  t.equal(rows.length, scheduled.length + requested.length, 'd0 is deleted')
  t.equal(stats.refresh_token, scheduled.length + requested.length + 1, 'each connection refreshed exactly once')
  t.equal(idp.server.stats.refreshTokenReuse, 0)
})

t.test('close waits beyond 10 s for a request that waits for another instance to refresh', async (t) => {
  const { app, db } = await build(t, { background: false })
  const other = await build(t, { db, background: false, instanceId: 'other-instance' })
  const idp = await startIdp(t, app, { accessTokenTtl: 3600 })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const [user] = (await mintUsers(app, idp, ['w0'])) as [ConnectedUser]
  await expireConnections(app, [user.connectionId])
  const now = new Date()
  const lease = { owner: 'other-instance/1', now, until: new Date(now.getTime() + 600_000) }
  const heldByOther = await takeLease(db, user.connectionId, lease)
  t.ok(heldByOther, 'the other instance is refreshing w0')

  const request = app.inject({ url: `/tokens/w0?provider=${idp.providerId}`, headers: caller.headers })
  await until('the request to wait for the other instance', () => app.services.refresher.inFlight === 1)
  const closeStarted = Date.now()
  const closed = app.close().then(
    () => 'closed',
    (err: Error) => `failed: ${err.message}`,
  )
  // longer than Fastify's default 10 s for a close hook, shorter than the request's 15 s wait
  await sleep(11_000)
  const outcome = await other.app.services.refresher.refresh(user.connectionId, {
    need: { kind: 'minTtl', seconds: 60 },
    trigger: 'scheduler',
    actor: 'system',
    claimed: { row: heldByOther as NonNullable<typeof heldByOther>, owner: lease.owner },
  })
  t.equal(outcome.kind, 'refreshed', 'the other instance stores its refresh')

  const res = await request
  t.equal(res.statusCode, 200, 'the waiting request gets the token')
  t.not(res.json<{ accessToken: string }>().accessToken, user.accessToken, 'the new one')
  t.equal(await closed, 'closed', `close completes (${Date.now() - closeStarted} ms), it does not give up`)
})
