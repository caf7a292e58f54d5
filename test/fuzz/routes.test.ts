// Hostile input on every operation of openapi.yaml, generated with fast-check: random and schema-shaped path
// parameters, query strings (tampered list cursors among them), bodies and headers, with and without valid admin or caller credentials. Whatever comes
// in, the broker answers with a documented status, never a 500, with `{ error, message }` for JSON errors, never
// echoes a secret it holds, and keeps serving.
import fc from 'fast-check'
import t from 'tap'
import { seedConnection } from '../support/fixtures.js'
import { ADMIN_TOKEN, build } from '../helper.js'
import {
  bodyValue,
  cursorValue,
  headerValue,
  hostileJson,
  hostileString,
  parameterValue,
  wellFormed,
} from './support/arbitraries.js'
import { loadOperations, type Operation } from './support/operations.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 25)
const PROVIDER_SECRET = 'fuzz-provider-client-secret-0123456789'

// every call to a provider fails at once: nothing leaves the machine, and provider failures are exercised too
const refusingFetch: typeof fetch = async () => {
  throw new TypeError('fetch failed')
}
const { app, db, logs } = await build(t, { fetch: refusingFetch, background: false })
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

interface Seeds {
  apiKey: string
  revokedKey: string
  callerId: string
  connectionId: string
  authorizationId: string
  secrets: string[]
  accessToken: string
}

async function inject(method: string, url: string, headers: Record<string, string>, payload?: unknown) {
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers,
    ...(payload === undefined ? {} : { payload: payload as object }),
  })
  return res
}

/** Re-creates whatever an earlier request deleted or revoked, so every operation meets known objects. */
async function seed(): Promise<Seeds> {
  if (!(await db.prisma.provider.findUnique({ where: { id: 'idp' } }))) {
    const res = await inject('POST', '/admin/providers', admin, {
      id: 'idp',
      issuer: 'https://idp.example.test',
      clientId: 'fuzz-client',
      clientSecret: PROVIDER_SECRET,
      revocationEndpoint: undefined,
    })
    if (res.statusCode !== 201) throw new Error(`seeding the provider: ${res.statusCode} ${res.body}`)
  }
  const client = async (name: string) => {
    const res = await inject('POST', '/admin/clients', admin, {
      name,
      allowedProviders: ['idp'],
      allowedReturnTo: ['https://app.example.test/'],
    })
    if (res.statusCode !== 201) throw new Error(`seeding the client ${name}: ${res.statusCode} ${res.body}`)
    return res.json() as { id: string; apiKey: string }
  }
  const caller = await client('fuzz-caller')
  const revoked = await client('fuzz-revoked')
  await inject('DELETE', `/admin/clients/${revoked.id}`, admin)
  let alice = await db.prisma.connection.findUnique({
    where: { namespace_providerId_userId: { namespace: 'default', providerId: 'idp', userId: 'alice' } },
  })
  if (alice) await db.prisma.connection.delete({ where: { id: alice.id } })
  const tokens = await seedConnection(app, { providerId: 'idp', userId: 'alice' })
  alice = await db.prisma.connection.findUniqueOrThrow({ where: { id: tokens.id } })
  // bob's token has expired: reading it needs a refresh, which fails against the unreachable provider
  const bob = await db.prisma.connection.findUnique({
    where: { namespace_providerId_userId: { namespace: 'default', providerId: 'idp', userId: 'bob' } },
  })
  if (!bob) {
    const expired = await seedConnection(app, { providerId: 'idp', userId: 'bob' })
    await db.prisma.connection.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 1000) } })
  }
  const authorization = await inject(
    'POST',
    '/authorizations',
    { authorization: `Bearer ${caller.apiKey}` },
    { provider: 'idp', userId: 'alice', returnTo: 'https://app.example.test/done' },
  )
  if (authorization.statusCode !== 201) throw new Error(`seeding the authorization: ${authorization.statusCode}`)
  return {
    apiKey: caller.apiKey,
    revokedKey: revoked.apiKey,
    callerId: caller.id,
    connectionId: alice.id,
    authorizationId: (authorization.json() as { id: string }).id,
    accessToken: tokens.accessToken,
    secrets: [ADMIN_TOKEN, caller.apiKey, revoked.apiKey, tokens.refreshToken, PROVIDER_SECRET],
  }
}

/** Values that name existing objects, per path parameter, so that requests reach past "not found". */
function knownValues(op: Operation, name: string, seeds: Seeds): string[] {
  if (name === 'provider') return ['idp']
  if (name === 'userId') return ['alice', 'bob']
  if (name !== 'id') return []
  if (op.path.startsWith('/admin/providers')) return ['idp']
  if (op.path.startsWith('/admin/clients')) return [seeds.callerId]
  if (op.path.startsWith('/admin/connections')) return [seeds.connectionId]
  if (op.path.startsWith('/oauth/start')) return [seeds.authorizationId]
  return []
}

const credentials = ['none', 'admin', 'caller', 'revoked', 'garbage', 'basic', 'huge'] as const
type Credential = (typeof credentials)[number]

function authorizationHeader(kind: Credential, seeds: Seeds): string | undefined {
  switch (kind) {
    case 'none':
      return undefined
    case 'admin':
      return `Bearer ${ADMIN_TOKEN}`
    case 'caller':
      return `Bearer ${seeds.apiKey}`
    case 'revoked':
      return `Bearer ${seeds.revokedKey}`
    case 'garbage':
      return `Bearer ${ADMIN_TOKEN.slice(0, -1)}x`
    case 'basic':
      return `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`
    case 'huge':
      return `Bearer ${'A'.repeat(8000)}`
  }
}

const RAW_BODIES = [
  '{"__proto__":{"isAdmin":true}}',
  '{"constructor":{"prototype":{"isAdmin":true}}}',
  '{"provider":"idp","userId":"alice"',
  '{"provider":"idp","provider":"other","userId":"a"}',
  'null',
  '"just a string"',
  '[',
  '\u0000',
  '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}',
]

function requestFor(op: Operation, seeds: Seeds) {
  const pathValues = fc.tuple(...op.pathParams.map((p) => parameterValue(p.schema, knownValues(op, p.name, seeds))))
  const queryNames = op.queryParams.map((p) => p.name)
  const query = fc.array(
    fc
      .oneof(
        { weight: 4, arbitrary: fc.constantFrom(...(queryNames.length > 0 ? queryNames : ['q'])) },
        { weight: 1, arbitrary: hostileString },
      )
      .chain((name) => {
        const schema = op.queryParams.find((p) => p.name === name)?.schema ?? {}
        if (name === 'cursor') {
          return fc.oneof(cursorValue, parameterValue(schema, [])).map((value) => [name, value] as const)
        }
        return parameterValue(schema, name === 'provider' ? ['idp'] : name === 'userId' ? ['alice'] : []).map(
          (value) => [name, value] as const,
        )
      }),
    { maxLength: 4 },
  )
  const hasBody = ['POST', 'PUT', 'PATCH'].includes(op.method)
  const body = fc.oneof(
    {
      weight: 6,
      arbitrary: (hasBody ? bodyValue(op.body) : fc.constant(undefined)).map((value) => ({
        kind: 'json' as const,
        value,
      })),
    },
    { weight: 1, arbitrary: hostileJson.map((value) => ({ kind: 'json' as const, value })) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES).map((value) => ({ kind: 'raw-json' as const, value })) },
    { weight: 1, arbitrary: hostileString.map((value) => ({ kind: 'text' as const, value })) },
    { weight: 1, arbitrary: hostileString.map((value) => ({ kind: 'form' as const, value })) },
  )
  return fc.record({
    pathValues,
    rawPath: fc.boolean(),
    query,
    // every list gets a tampered cursor in about half of its requests: it must be refused before any query
    cursor: queryNames.includes('cursor') ? fc.option(cursorValue) : fc.constant(null),
    // mostly the credential the operation wants, so that requests get past authentication
    credential: fc.oneof(
      { weight: 6, arbitrary: fc.constant<Credential>(op.security.includes('caller') ? 'caller' : 'admin') },
      { weight: 3, arbitrary: fc.constantFrom(...credentials) },
    ),
    body,
    requestId: fc.option(headerValue),
    cookie: fc.option(headerValue),
    extraHeaders: fc.dictionary(fc.stringMatching(/^x-[a-z-]{1,20}$/), headerValue, { maxKeys: 3 }),
    ip: fc.ipV4(),
  })
}

type Generated = ReturnType<typeof requestFor> extends fc.Arbitrary<infer R> ? R : never

function toInjection(op: Operation, seeds: Seeds, generated: Generated) {
  let path = op.path
  op.pathParams.forEach((param, index) => {
    // a lone surrogate cannot be percent-encoded: a client would send U+FFFD
    const value = wellFormed(generated.pathValues[index] as string)
    // raw: the value as a careless client would paste it (slashes, dots and percent signs left in)
    const segment = generated.rawPath
      ? value.replace(/[^A-Za-z0-9._~!$&'()*+,;=:@%/-]/gu, (c) => encodeURIComponent(c))
      : encodeURIComponent(value)
    path = path.replace(`{${param.name}}`, segment || '%20')
  })
  const given =
    generated.cursor === null ? generated.query : [...generated.query, ['cursor', generated.cursor] as const]
  const pairs = given.map(([name, value]): [string, string] => [wellFormed(name), wellFormed(value)])
  const search = new URLSearchParams(pairs).toString()
  const headers: Record<string, string> = { ...generated.extraHeaders }
  const authorization = authorizationHeader(generated.credential, seeds)
  if (authorization) headers.authorization = authorization
  if (generated.requestId !== null) headers['x-request-id'] = generated.requestId
  if (generated.cookie !== null) headers.cookie = generated.cookie
  let payload: string | undefined
  const { kind, value } = generated.body
  if (kind === 'json' && value !== undefined) {
    headers['content-type'] = 'application/json'
    payload = JSON.stringify(value)
  } else if (kind === 'raw-json') {
    headers['content-type'] = 'application/json'
    payload = value
  } else if (kind === 'text') {
    headers['content-type'] = 'text/plain'
    payload = value
  } else if (kind === 'form') {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    payload = `a=${encodeURIComponent(wellFormed(value))}`
  }
  return { url: search ? `${path}?${search}` : path, headers, payload }
}

// Statuses any operation may answer besides its documented ones: malformed input, no such route, body limits.
const GENERIC = new Set([400, 404, 413, 415, 429])

const operations = await loadOperations()
t.ok(operations.length >= 30, `${operations.length} operations in openapi.yaml`)

const only = process.env.FUZZ_ONLY
for (const op of operations.filter((op) => !only || `${op.method} ${op.path}`.includes(only))) {
  t.test(`${op.method} ${op.path}`, async (t) => {
    const seeds = await seed()
    const seen = new Map<number, number>()
    await fc.assert(
      fc.asyncProperty(requestFor(op, seeds), async (generated) => {
        const { url, headers, payload } = toInjection(op, seeds, generated)
        const res = await app.inject({
          method: op.method as 'GET',
          url,
          headers,
          remoteAddress: generated.ip,
          ...(payload === undefined ? {} : { payload }),
        })
        const status = res.statusCode
        seen.set(status, (seen.get(status) ?? 0) + 1)
        const where = `${op.method} ${url.slice(0, 200)} → ${status} ${res.body.slice(0, 300)}`
        if (status >= 500 && !(op.responses.has(status) && status !== 500)) throw new Error(`server error: ${where}`)
        const documented = op.responses.has(status) || GENERIC.has(status) || (status === 401 && op.security.length > 0)
        if (!documented) throw new Error(`undocumented status: ${where}`)
        const type = String(res.headers['content-type'] ?? '')
        if (status >= 400 && type.startsWith('application/json')) {
          const body = res.json() as Record<string, unknown>
          if (typeof body.error !== 'string' || !/^[a-z_]+$/.test(body.error) || typeof body.message !== 'string') {
            throw new Error(`not an { error, message } body: ${where}`)
          }
        } else if (
          status >= 400 &&
          !(type.startsWith('text/html') && op.responses.get(status)?.includes('text/html'))
        ) {
          throw new Error(`error answer of type "${type}": ${where}`)
        }
        for (const secret of seeds.secrets) {
          if (res.body.includes(secret) || JSON.stringify(res.headers).includes(secret)) {
            throw new Error(`a secret was echoed: ${where}`)
          }
        }
        const servesToken = op.path === '/tokens/{userId}' && status === 200
        if (!servesToken && res.body.includes(seeds.accessToken)) throw new Error(`access token echoed: ${where}`)
        const requestId = res.headers['x-request-id']
        if (typeof requestId !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(requestId)) {
          throw new Error(`bad x-request-id ${JSON.stringify(requestId)}: ${where}`)
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    )
    t.pass(`statuses seen: ${JSON.stringify(Object.fromEntries(seen))}`)
  })
}

t.test('still serving, and no unhandled error was logged', async (t) => {
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  const seeds = await seed()
  const res = await app.inject({
    method: 'GET',
    url: '/tokens/alice?provider=idp',
    headers: { authorization: `Bearer ${seeds.apiKey}` },
  })
  t.equal(res.statusCode, 200)
  const unhandled = logs.lines.filter((line) => line.includes('"unhandled error"'))
  t.same(unhandled.slice(0, 3), [], 'no unhandled error')
})
