import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'
import { adminHeaders, createCaller } from '../support/fixtures.js'
import { mintTokens, startIdp } from '../support/token-fixture.js'

const ndjson = { 'content-type': 'application/x-ndjson' }

t.test('1,000 connections imported in bulk, and the same file again changes nothing', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app)
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const users = Array.from({ length: 1000 }, (_, i) => `user-${i}`)
  const minted = await mintTokens(idp, users)
  const expiresAt = new Date(Date.now() + 3600_000).toISOString()
  // the first five without an access token: refreshed at once
  const lines = minted.map(({ userId, tokens }, i) =>
    JSON.stringify({
      provider: idp.providerId,
      userId,
      refreshToken: tokens.refresh_token,
      ...(i < 5 ? {} : { accessToken: tokens.access_token, expiresAt, scope: tokens.scope }),
    }),
  )
  lines.splice(100, 0, '{ not json')
  lines.splice(200, 0, JSON.stringify({ provider: idp.providerId, userId: 'mallory', refreshToken: 'garbage-token' }))
  const body = `${lines.join('\n')}\n`

  const first = await app.inject({
    method: 'POST',
    url: '/admin/connections/import/bulk',
    headers: { ...adminHeaders, ...ndjson },
    payload: body,
  })
  t.equal(first.statusCode, 200, first.body.slice(0, 500))
  t.same(first.json(), {
    imported: 1000,
    updated: 0,
    unchanged: 0,
    refreshed: 5,
    refused: 2,
    errors: [
      { line: 101, error: 'invalid_request', message: 'the line is not JSON' },
      {
        line: 201,
        error: 'reauthorization_required',
        message: 'the provider refused the grant: provider answered invalid_grant (HTTP 400)',
      },
    ],
  })
  t.notMatch(first.body, 'garbage-token', 'no token in the summary')
  t.equal(idp.server.stats.tokenRequests.refresh_token, 6, 'five refreshes, and the garbage refused by the provider')
  const { prisma } = app.deps.db
  t.equal(await prisma.connection.count(), 1000)
  const ids = (await prisma.connection.findMany({ select: { id: true }, orderBy: { id: 'asc' } })).map((row) => row.id)

  const served = await app.inject({ url: `/tokens/user-500?provider=${idp.providerId}`, headers: caller.headers })
  t.equal(served.json().accessToken, minted[500]?.tokens.access_token, 'an imported access token is served')
  const refreshed = await app.inject({ url: `/tokens/user-2?provider=${idp.providerId}`, headers: caller.headers })
  t.equal((await idp.server.introspect(refreshed.json().accessToken as string)).active, true, 'a refreshed one too')

  const second = await app.inject({
    method: 'POST',
    url: '/admin/connections/import/bulk',
    headers: { ...adminHeaders, ...ndjson },
    payload: body,
  })
  t.equal(second.statusCode, 200)
  t.match(second.json(), { imported: 0, updated: 0, unchanged: 1000, refreshed: 0, refused: 2 })
  t.equal(idp.server.stats.tokenRequests.refresh_token, 7, 'no refresh token presented again but the garbage')
  t.equal(idp.server.stats.refreshTokenReuse, 0, 'no rotated-away token came back')
  const after = (await prisma.connection.findMany({ select: { id: true }, orderBy: { id: 'asc' } })).map(
    (row) => row.id,
  )
  t.same(after, ids, 'the same rows, no duplicate')
  t.equal(await prisma.auditEvent.count({ where: { action: 'connection.imported' } }), 1000, 'one audit entry each')

  const wrongType = await app.inject({
    method: 'POST',
    url: '/admin/connections/import/bulk',
    headers: { ...adminHeaders, 'content-type': 'text/csv' },
    payload: body,
  })
  t.equal(wrongType.statusCode, 415)
})

t.test('npm run import posts a file to a running broker and prints the summary', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app)
  const [alice] = await mintTokens(idp, ['alice'])
  const dir = mkdtempSync(join(tmpdir(), 'tb-import-'))
  const file = join(dir, 'connections.ndjson')
  writeFileSync(
    file,
    `${JSON.stringify({ provider: idp.providerId, userId: 'alice', refreshToken: alice?.tokens.refresh_token })}\n`,
  )
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'scripts/import.ts', '--file', file, '--url', url],
    { env: { ...process.env, ADMIN_TOKEN } },
  )
  t.match(JSON.parse(stdout), { imported: 1, refreshed: 1, refused: 0, errors: [] })
  t.equal(await app.deps.db.prisma.connection.count(), 1)
})
