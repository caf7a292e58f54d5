// OpenTelemetry: with OTEL_EXPORTER_OTLP_ENDPOINT set, the broker sends traces over OTLP/HTTP (here to a receiver in
// this process): the incoming request, the provider call it made and its SQL, in one trace whose id its log lines
// carry, and no secret. Without it, no OpenTelemetry module is loaded at all.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t, { type Test } from 'tap'
import { ADMIN_TOKEN } from './helper.js'
import { startAuthServer } from './support/auth-server.js'
import { createTestDatabase } from './support/database.js'
import { freePort } from './support/ports.js'

const repoRoot = join(import.meta.dirname, '..')

interface Span {
  traceId: string
  spanId: string
  name: string
  kind: number
  attributes: Record<string, unknown>
}
const SERVER = 2
const CLIENT = 3

/** An OTLP/HTTP (JSON) trace receiver: what the broker's exporter posts to $endpoint/v1/traces. */
async function startReceiver() {
  const spans: Span[] = []
  const bodies: string[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        bodies.push(body)
        const document = JSON.parse(body) as {
          resourceSpans: { scopeSpans: { spans: (Omit<Span, 'attributes'> & { attributes: Attribute[] })[] }[] }[]
        }
        for (const resource of document.resourceSpans) {
          for (const scope of resource.scopeSpans) {
            for (const span of scope.spans) spans.push({ ...span, attributes: attributesOf(span.attributes) })
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, spans, bodies, close: () => server.close() }
}

type Attribute = { key: string; value: Record<string, unknown> }
const attributesOf = (list: Attribute[] = []) =>
  Object.fromEntries(list.map(({ key, value }) => [key, Object.values(value)[0]]))

/** Records every OpenTelemetry module the process resolves through the ESM loader, into `file`. */
function moduleRecorder(dir: string, file: string): string {
  const hooks = join(dir, 'hooks.mjs')
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  if (result.url.includes('/@opentelemetry/')) appendFileSync(${JSON.stringify(file)}, result.url + '\\n')
  return result
}
`,
  )
  const register = join(dir, 'register.mjs')
  writeFileSync(
    register,
    `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`,
  )
  return register
}

async function startBroker(t: Test, env: Record<string, string>) {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const dir = mkdtempSync(join(tmpdir(), 'tb-otel-'))
  const modules = join(dir, 'modules.txt')
  const port = await freePort()
  const child = spawn(
    process.execPath,
    ['--import', moduleRecorder(dir, modules), '--import', 'tsx', join(repoRoot, 'src', 'server.ts')],
    {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        DATABASE_URL: database.url,
        DATA_DIR: dir,
        ADMIN_TOKEN,
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  await until(() => output.includes('token-broker ready') || child.exitCode !== null, 60_000)
  if (!output.includes('token-broker ready')) throw new Error(`the broker did not start:\n${output}`)
  return {
    base: `http://127.0.0.1:${port}`,
    child,
    logs: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    modules: () => (existsSync(modules) ? readFileSync(modules, 'utf8').trim().split('\n') : []),
  }
}

async function until(condition: () => boolean, ms: number) {
  const deadline = Date.now() + ms
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
}

async function stop(child: ChildProcess): Promise<number | null> {
  child.kill('SIGTERM')
  const [code] = (await once(child, 'exit')) as [number | null]
  return code
}

t.test(
  'traces of a request, its provider call and its SQL reach the OTLP endpoint; logs carry the trace id',
  async (t) => {
    const receiver = await startReceiver()
    t.teardown(() => receiver.close())
    const idp = await startAuthServer()
    t.teardown(() => idp.close())
    const broker = await startBroker(t, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_SERVICE_NAME: 'tb-test',
    })
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }
    const post = (path: string, headers: Record<string, string>, body: object) =>
      fetch(`${broker.base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
    const provider = await post('/admin/providers', admin, {
      id: 'idp',
      issuer: idp.issuer,
      clientId: 'broker-idp',
      clientSecret: 'otel-client-secret',
      scopes: ['openid'],
    })
    t.equal(provider.status, 201)
    const { apiKey } = (await (
      await post('/admin/clients', admin, { name: 'c', allowedProviders: ['idp'] })
    ).json()) as {
      apiKey: string
    }
    const caller = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }
    const link = (await (await post('/authorizations', caller, { provider: 'idp', userId: 'u1' })).json()) as {
      url: string
    }
    const start = await fetch(link.url, { redirect: 'manual', headers: { 'x-request-id': 'traced-start' } })
    t.equal(start.status, 302, 'sent to the provider, after discovery')

    const startSpan = () =>
      receiver.spans.find(
        (span) => span.kind === SERVER && span.attributes['http.target'] === '/oauth/start/[redacted]',
      )
    await until(() => {
      const server = startSpan()
      return !!server && receiver.spans.some((span) => span.traceId === server.traceId && span.kind === CLIENT)
    }, 20_000)
    const server = startSpan()
    t.ok(server, 'a server span for the start link, its id hidden')
    const trace = receiver.spans.filter((span) => span.traceId === server?.traceId)
    const discovery = trace.find(
      (span) => span.kind === CLIENT && /openid-configuration/.test(String(span.attributes['url.full'])),
    )
    t.ok(discovery, 'the provider call (discovery) in the same trace')
    t.ok(
      trace.some(
        (span) => span.attributes['db.system'] === 'postgresql' || span.attributes['db.system.name'] === 'postgresql',
      ),
      'SQL in the same trace',
    )
    t.notOk(
      receiver.spans.some(
        (span) => span.kind === SERVER && /healthz|readyz|metrics/.test(String(span.attributes['http.target'])),
      ),
      'no probe traced',
    )

    const requestLines = broker.logs().filter((line) => line.reqId === 'traced-start')
    t.ok(requestLines.length >= 2, 'request lines')
    t.ok(
      requestLines.every((line) => line.traceId === server?.traceId && typeof line.spanId === 'string'),
      'every line of the request carries its trace id',
    )
    t.ok(
      broker.modules().some((url) => url.includes('/@opentelemetry/sdk-trace-node/')),
      'the SDK was loaded',
    )

    t.equal(await stop(broker.child), 0, 'a clean stop flushes the spans')
    const everything = receiver.bodies.join('\n')
    const startId = new URL(link.url).pathname.split('/').pop() as string
    for (const [name, secret] of Object.entries({ startId, apiKey, ADMIN_TOKEN, clientSecret: 'otel-client-secret' })) {
      t.notOk(everything.includes(secret), `no ${name} in the traces`)
    }
    t.match(everything, /"tb-test"/, 'OTEL_SERVICE_NAME names the service')
  },
)

t.test('without OTEL_EXPORTER_OTLP_ENDPOINT no OpenTelemetry module is loaded', async (t) => {
  const broker = await startBroker(t, {})
  const res = await fetch(`${broker.base}/healthz`)
  t.equal(res.status, 200)
  t.same(broker.modules(), [])
  t.notOk(broker.logs().some((line) => 'traceId' in line))
  t.equal(await stop(broker.child), 0)
})
