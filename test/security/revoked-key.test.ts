// A revoked API key is refused by every instance within a few seconds: each instance trusts a looked-up key for
// 2 seconds at most, so revoking on one instance reaches the others without any message between them.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'
import { openTestDatabase } from '../support/database.js'
import { createProvider } from '../support/fixtures.js'

const REFUSED_WITHIN_MS = 5_000

t.test('a key revoked through one instance is refused by both within a few seconds', async (t) => {
  const db = await openTestDatabase()
  t.teardown(() => db.drop())
  const one = await build(t, { db, background: false, instanceId: 'one' })
  const two = await build(t, { db, background: false, instanceId: 'two' })
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
  await createProvider(one.app, { id: 'idp' })
  const created = await one.app.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: admin,
    payload: { name: 'soon-revoked', allowedProviders: ['idp'] },
  })
  const { id, apiKey } = created.json() as { id: string; apiKey: string }
  const asCaller = { authorization: `Bearer ${apiKey}` }
  // both instances have just looked the key up, and cached it
  for (const { app } of [one, two]) {
    const res = await app.inject({ method: 'GET', url: '/tokens/u?provider=idp', headers: asCaller })
    t.equal(res.statusCode, 404, 'accepted (no such connection)')
  }

  t.equal((await one.app.inject({ method: 'DELETE', url: `/admin/clients/${id}`, headers: admin })).statusCode, 204)
  const revokedAt = Date.now()
  const refusedAfter = new Map<string, number>()
  while (refusedAfter.size < 2 && Date.now() - revokedAt < 30_000) {
    for (const [name, { app }] of [
      ['one', one],
      ['two', two],
    ] as const) {
      if (refusedAfter.has(name)) continue
      const res = await app.inject({ method: 'GET', url: '/tokens/u?provider=idp', headers: asCaller })
      if (res.statusCode === 401) refusedAfter.set(name, Date.now() - revokedAt)
      else t.equal(res.statusCode, 404, `${name} still within its cache`)
    }
    await sleep(100)
  }
  for (const name of ['one', 'two']) {
    const after = refusedAfter.get(name)
    t.ok(after !== undefined && after <= REFUSED_WITHIN_MS, `instance ${name} refuses the key after ${after} ms`)
  }
  // and keeps refusing it, on every route that takes a key
  for (const { app } of [one, two]) {
    const post = await app.inject({
      method: 'POST',
      url: '/authorizations',
      headers: asCaller,
      payload: { provider: 'idp', userId: 'u' },
    })
    t.equal(post.statusCode, 401)
    t.equal((await app.inject({ method: 'DELETE', url: '/connections/idp/u', headers: asCaller })).statusCode, 401)
    t.equal((await app.inject({ method: 'GET', url: '/webhook', headers: asCaller })).statusCode, 401)
  }
})
