// npm run test:container: builds the Dockerfile with podman, runs the image against the Postgres on 127.0.0.1, and
// drives it from outside as a deployment would. Prints one line per check; exits 1 at the first failure. The
// container, its database and the authorization server are removed whatever happens.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { callbackUrl } from '../../src/urls/public.js'
import { startAuthServer, type AuthServerHandle } from '../support/auth-server.js'
import { databaseUrl, serverUrl } from '../support/database.js'
import { browserGet, openStartLink } from '../support/flow.js'
import { buildImage, engine, engineSh, inspect, logs, podman, repoRoot, runDetached } from './podman.js'
import { freePort } from '../support/ports.js'

const IMAGE = 'localhost/token-broker:test'
const suffix = randomBytes(4).toString('hex')
const container = `tb-container-${suffix}`
const database = `tb_container_${suffix}`
const adminToken = randomBytes(24).toString('base64url')
const clientSecret = `container-client-${randomBytes(12).toString('hex')}`
const started = Date.now()
const cleanups: Array<() => Promise<unknown>> = []

/** Runs one check and prints it with what it found (`note`) and how long it took. */
async function step<T>(title: string, fn: (note: (detail: string) => void) => Promise<T>): Promise<T> {
  const t0 = Date.now()
  let detail = ''
  console.log(`… ${title}`)
  const value = await fn((text) => (detail = text))
  console.log(`✓ ${title}${detail ? `: ${detail}` : ''} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  return value
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message)
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

async function json(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text()
  try {
    return JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new Error(`HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`)
  }
}

/** devDependencies that package-lock.json also places in the production tree. */
function productionRequiredDevDependencies(): string[] {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: object }
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean }>
  }
  return Object.keys(pkg.devDependencies).filter((name) => {
    const entry = lock.packages[`node_modules/${name}`]
    return entry !== undefined && !entry.dev && !entry.devOptional
  })
}

async function main(): Promise<void> {
  console.log(`container test: image ${IMAGE}, container ${container}, database ${database}`)
  await step(`build the image (${engine().name})`, async (note) => {
    await buildImage('token-broker:test', (line) => {
      if (/STEP \d+\/\d+|COMMIT|Successfully tagged|error/i.test(line)) console.log(`    ${line.slice(0, 160)}`)
    })
    const size = Number(await podman('image', 'inspect', '--format', '{{.Size}}', IMAGE))
    note(`${Math.round(size / 1e6)} MB`)
  })

  await admin(`CREATE DATABASE ${database}`)
  cleanups.push(() => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const idp: AuthServerHandle = await startAuthServer({
    clients: [
      { client_id: 'broker-idp', client_secret: clientSecret, redirect_uris: [callbackUrl(new URL(base), 'idp').href] },
    ],
  })
  cleanups.push(() => idp.close())

  await step('start the container against the host Postgres (an empty database)', async (note) => {
    cleanups.push(() => engineSh(['podman', 'rm', '-f', container]))
    await runDetached(container, IMAGE, {
      DATABASE_URL: databaseUrl(database),
      PUBLIC_URL: base,
      PORT: String(port),
      ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      COOKIE_SECRET: randomBytes(32).toString('base64url'),
      ADMIN_TOKEN: adminToken,
    })
    note(`port ${port}`)
  })

  await step('GET /readyz answers 200', async (note) => {
    const deadline = Date.now() + 180_000
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${base}/readyz`).catch(() => undefined)
      if (res?.status === 200) return note(JSON.stringify(await res.json()))
      if (attempt % 10 === 9 && (await inspect(container, '{{.State.Running}}')) !== 'true') {
        throw new Error('the container exited before it was ready')
      }
      check(Date.now() < deadline, 'not ready within 180 s')
      await sleep(500)
    }
  })
  await step('the migrations were applied by the service at start', async (note) => {
    const line = (await logs(container)).split('\n').find((entry) => entry.includes('"migrations applied"'))
    check(line, 'no "migrations applied" line in the logs')
    note((JSON.parse(line) as { migrations: string[] }).migrations.join(', '))
  })

  const adminHeaders = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }
  const apiKey = await step('register the provider and create a caller through the admin API', async () => {
    const provider = await fetch(`${base}/admin/providers`, {
      method: 'POST',
      headers: adminHeaders,
      body: JSON.stringify({
        id: 'idp',
        issuer: idp.issuer,
        clientId: 'broker-idp',
        clientSecret,
        tokenEndpointAuthMethod: 'client_secret_basic',
        scopes: ['openid', 'offline_access'],
      }),
    })
    check(provider.status === 201, `POST /admin/providers: ${provider.status} ${await provider.text()}`)
    const caller = await fetch(`${base}/admin/clients`, {
      method: 'POST',
      headers: adminHeaders,
      body: JSON.stringify({ name: 'container-test', allowedProviders: ['idp'], allowedReturnTo: [] }),
    })
    const body = await json(caller)
    check(caller.status === 201 && typeof body.apiKey === 'string', `POST /admin/clients: ${caller.status}`)
    return body.apiKey as string
  })
  const callerHeaders = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }

  await step('a whole code flow through the container', async (note) => {
    const created = await fetch(`${base}/authorizations`, {
      method: 'POST',
      headers: callerHeaders,
      body: JSON.stringify({ provider: 'idp', userId: 'alice' }),
    })
    const link = await json(created)
    check(created.status === 201, `POST /authorizations: ${created.status} ${JSON.stringify(link)}`)
    const { providerUrl, cookie } = await openStartLink(link.url as string)
    const callback = await idp.authorize(providerUrl, { login: 'alice' })
    const page = await browserGet(callback, cookie)
    check(page.status === 200 && page.body.includes('Connected'), `callback: ${page.status} ${page.body.slice(0, 200)}`)
    note('POST /authorizations → start link → login → callback: Connected')
  })

  await step('GET /tokens/alice returns a token the provider accepts', async (note) => {
    const res = await fetch(`${base}/tokens/alice?provider=idp`, { headers: callerHeaders })
    const body = await json(res)
    check(res.status === 200 && typeof body.accessToken === 'string', `GET /tokens: ${res.status}`)
    const introspection = await idp.introspect(body.accessToken as string)
    check(introspection.active && introspection.sub === 'alice', 'the provider does not know the token')
    note(`200, ${body.tokenType}, expires ${body.expiresAt}`)
  })

  await step('the service runs as a non-root user', async (note) => {
    const uid = await podman('exec', container, 'id', '-u')
    const status = await podman('exec', container, 'cat', '/proc/1/status')
    const pid1Uid = /^Uid:\s+(\d+)/m.exec(status)?.[1]
    check(uid !== '0' && pid1Uid !== undefined && pid1Uid !== '0', `uid ${uid}, PID 1 uid ${pid1Uid}`)
    note(
      `PID 1 (${(await podman('exec', container, 'cat', '/proc/1/cmdline')).replace(/\0/g, ' ').trim()}) as uid ${pid1Uid}`,
    )
  })

  await step('it runs hardened: read-only root, no capabilities, no new privileges', async (note) => {
    const config = await inspect(
      container,
      '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}}',
    )
    check(/^true /.test(config), `the root file system is writable: ${config}`)
    const status = await podman('exec', container, 'cat', '/proc/1/status')
    const effective = /^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1]
    check(effective !== undefined && /^0+$/.test(effective), `PID 1 has capabilities: ${effective}`)
    check(/^NoNewPrivs:\s+1$/m.test(status), 'PID 1 may gain privileges')
    const write = await engineSh(['podman', 'exec', container, 'sh', '-c', 'echo x > /app/probe'])
    check(write.code !== 0, 'a file could be written into /app')
    note(`${config}; CapEff ${effective}; NoNewPrivs 1; /app not writable`)
  })

  await step('no dev dependency, source or test file in the image', async (note) => {
    // a dev dependency that a production one also requires is rightly there (@types/pg, from @prisma/adapter-pg)
    const required = productionRequiredDevDependencies()
    const script = `
      const fs = require('node:fs')
      const pkg = require('/app/package.json')
      const present = Object.keys(pkg.devDependencies).filter((name) => fs.existsSync('/app/node_modules/' + name))
      const files = ['src', 'test', 'scripts', 'bench', 'tsconfig.json', '.git', 'data/secrets.json']
        .filter((path) => fs.existsSync('/app/' + path))
      console.log(JSON.stringify({ present, files, top: fs.readdirSync('/app') }))`
    const run = await engineSh(['run', '--rm', '--entrypoint', 'node', IMAGE, '-e', script])
    const found = JSON.parse(run.stdout) as { present: string[]; files: string[]; top: string[] }
    const stray = found.present.filter((name) => !required.includes(name))
    check(stray.length === 0, `dev dependencies in node_modules: ${stray.join(', ')}`)
    check(found.files.length === 0, `files that belong to the checkout: ${found.files.join(', ')}`)
    const ls = await engineSh(['run', '--rm', '--entrypoint', 'npm', IMAGE, 'ls', '--omit=dev', '--omit=optional'])
    check(ls.code === 0, `npm ls --omit=dev --omit=optional in the image: ${ls.stdout}${ls.stderr}`)
    const kept = required.length > 0 ? ` (${required.join(', ')} only as dependencies of production packages)` : ''
    note(`/app holds ${found.top.join(', ')}; no dev dependency${kept}; npm ls --omit=dev clean`)
  })

  await step('the HEALTHCHECK on /healthz passes', async (note) => {
    const healthcheck = await inspect(container, '{{json .Config.Healthcheck}}')
    check(healthcheck.includes('/healthz'), `no HEALTHCHECK in the image: ${healthcheck}`)
    if (engine().name === 'docker') {
      // docker runs the check itself: wait for its verdict
      let status = ''
      for (let i = 0; i < 60 && status !== 'healthy'; i++, await sleep(1000)) {
        status = await inspect(container, '{{.State.Health.Status}}')
      }
      check(status === 'healthy', `health status ${status}`)
      note('docker: healthy')
      return
    }
    const run = await engineSh(['podman', 'healthcheck', 'run', container])
    check(run.code === 0, `podman healthcheck run: ${run.code} ${run.stdout}`)
    note('podman healthcheck run: healthy')
  })

  await step('podman stop: a clean exit', async (note) => {
    await podman('stop', '-t', '30', container)
    const code = await inspect(container, '{{.State.ExitCode}}')
    check(code === '0', `exit code ${code}`)
    const messages = (await logs(container))
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg: string }).msg)
    const shutdown = messages.filter((msg) => /^shutting down|^stopped$/.test(msg))
    check(shutdown.length === 2, `the logs do not show the shutdown: ${messages.slice(-5).join(' | ')}`)
    note(`exit code 0; logs: ${shutdown.join(' → ')}`)
  })

  await step('no secret in the container logs', async (note) => {
    const text = await logs(container)
    const leaked = { adminToken, clientSecret, apiKey }
    const found = Object.entries(leaked).filter(([, value]) => text.includes(value))
    check(found.length === 0, `found in the logs: ${found.map(([name]) => name).join(', ')}`)
    note('admin token, client secret and API key absent')
  })
}

let failed = false
try {
  await main()
} catch (err) {
  failed = true
  console.log(`✗ ${(err as Error).message}`)
  const output = await logs(container).catch(() => '')
  if (output) console.log(`container logs (last 30 lines):\n${output.trim().split('\n').slice(-30).join('\n')}`)
} finally {
  for (const cleanup of cleanups.reverse())
    await cleanup().catch((err: Error) => console.log(`cleanup: ${err.message}`))
}
console.log(`${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(0)} s`)
process.exit(failed ? 1 : 0)
