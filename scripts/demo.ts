// npm run demo: the broker on its embedded database with a local identity provider, a provider and a caller made
// through the admin API, and three steps from a sign-in link to an access token. Ctrl-C stops both.
//
// Environment: PORT (broker, 3000), DEMO_PROVIDER_PORT (3001), DATA_DIR (./data/demo).
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { openSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { loadConfig } from '../src/config.js'
import { callbackUrl, publicUrl } from '../src/urls/public.js'
import { startDemoProvider, type DemoProvider } from './demo-provider.js'

const repoRoot = join(import.meta.dirname, '..')
const PROVIDER_ID = 'demo'
const USER_ID = 'demo-user'
const CALLER_NAME = 'demo'

const dataDir = resolve(process.env.DATA_DIR ?? join(repoRoot, 'data', 'demo'))
const shown = (path: string) =>
  relative(process.cwd(), path).startsWith('..') ? path : `./${relative(process.cwd(), path)}`
// the same secrets the broker reads: generated into DATA_DIR on the first run, reused afterwards
const { config } = loadConfig({ PORT: process.env.PORT ?? '3000', DATA_DIR: dataDir })
const providerPort = Number(process.env.DEMO_PROVIDER_PORT ?? 3001)
const api = `http://127.0.0.1:${config.PORT}`
const logFile = join(dataDir, 'broker.log')

/** The real server process, on the embedded database, whatever DATABASE_URL or secrets the shell has set. */
function startBroker(): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(config.PORT), DATA_DIR: dataDir, LOG_LEVEL: 'info' }
  for (const name of ['DATABASE_URL', 'NODE_ENV', 'HOST', 'PUBLIC_URL', 'PROVIDERS_FILE', 'TRUST_PROXY'])
    delete env[name]
  for (const name of ['ENCRYPTION_KEYS', 'COOKIE_SECRET', 'ADMIN_TOKEN']) delete env[name]
  const log = openSync(logFile, 'a')
  // a process group of its own: Ctrl-C reaches only the demo, which then stops the broker with one SIGTERM
  return spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(repoRoot, 'src', 'server.ts')], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', log, log],
    detached: true,
  })
}

async function waitUntilReady(broker: ChildProcess): Promise<void> {
  const deadline = Date.now() + 180_000
  for (;;) {
    if (broker.exitCode !== null) throw new Error(`the broker exited with ${broker.exitCode}`)
    const res = await fetch(`${api}/readyz`).catch(() => undefined)
    if (res?.status === 200) return
    if (Date.now() > deadline) throw new Error('the broker was not ready within 3 minutes')
    await sleep(250)
  }
}

async function call<T>(
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(api + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T }
}

async function expect<T>(answer: Promise<{ status: number; json: T }>, status: number, what: string): Promise<T> {
  const { status: got, json } = await answer
  if (got !== status) throw new Error(`${what} answered ${got}: ${JSON.stringify(json)}`)
  return json
}

/** Registers the demo provider (replacing the previous run's), and leaves no connection from an earlier run. */
async function registerProvider(provider: DemoProvider, clientSecret: string): Promise<void> {
  const admin = config.ADMIN_TOKEN
  const settings = {
    displayName: 'Demo identity provider',
    issuer: provider.issuer,
    clientId: 'token-broker-demo',
    clientSecret,
    tokenEndpointAuthMethod: 'client_secret_basic',
    scopes: ['openid', 'profile', 'offline_access'],
  }
  const created = await call('POST', '/admin/providers', admin, { id: PROVIDER_ID, ...settings })
  if (created.status === 409) await expect(call('PUT', `/admin/providers/${PROVIDER_ID}`, admin, settings), 200, 'PUT')
  else if (created.status !== 201) throw new Error(`POST /admin/providers answered ${created.status}`)
  type Page = { items: Array<{ id: string; name?: string }> }
  const old = await expect(
    call<Page>('GET', `/admin/connections?provider=${PROVIDER_ID}&limit=500`, admin),
    200,
    'list',
  )
  for (const { id } of old.items) await call('DELETE', `/admin/connections/${id}`, admin)
  const callers = await expect(call<Page>('GET', '/admin/clients?limit=500', admin), 200, 'GET /admin/clients')
  for (const { id } of callers.items.filter((caller) => caller.name === CALLER_NAME)) {
    await call('DELETE', `/admin/clients/${id}`, admin)
  }
}

async function main(): Promise<void> {
  const clientSecret = randomBytes(24).toString('base64url')
  const provider = await startDemoProvider({
    port: providerPort,
    clientId: 'token-broker-demo',
    clientSecret,
    redirectUri: callbackUrl(config.PUBLIC_URL, PROVIDER_ID).href,
  })
  console.log(`starting the broker (the first run creates its database in ${shown(dataDir)}) and a demo provider…`)
  const broker = startBroker()
  const stop = onStop(broker, provider)
  try {
    await waitUntilReady(broker)
    await registerProvider(provider, clientSecret)
    const caller = await expect(
      call<{ apiKey: string }>('POST', '/admin/clients', config.ADMIN_TOKEN, {
        name: CALLER_NAME,
        allowedProviders: [PROVIDER_ID],
      }),
      201,
      'POST /admin/clients',
    )
    // no returnTo: the broker ends the flow on its own "Connected" page
    const link = await expect(
      call<{ url: string }>('POST', '/authorizations', caller.apiKey, { provider: PROVIDER_ID, userId: USER_ID }),
      201,
      'POST /authorizations',
    )
    printSteps(provider, link.url, caller.apiKey)
  } catch (err) {
    console.error(`demo failed: ${(err as Error).message}`)
    const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n')
    console.error(`last lines of ${shown(logFile)}:\n${tail}`)
    await stop(1)
  }
}

function printSteps(provider: DemoProvider, link: string, apiKey: string): void {
  const tokenUrl = publicUrl(config.PUBLIC_URL, `/tokens/${USER_ID}`)
  tokenUrl.searchParams.set('provider', PROVIDER_ID)
  console.log(`
token-broker demo: the broker at ${config.PUBLIC_URL.origin} (embedded database in ${shown(dataDir)}),
a demo identity provider at ${provider.issuer}, and a caller (a backend) with its API key.

1) Open this link in a browser (single use, valid 10 minutes):

   ${link}

2) Sign in on the demo provider's page with any username and any password, then press Continue.
   The broker stores the connection and shows "Connected".

3) Get the user's access token the way your backend would:

   curl -H 'Authorization: Bearer ${apiKey}' '${tokenUrl.href}'

More: ${publicUrl(config.PUBLIC_URL, '/docs').href} (Swagger UI; the admin token is in ${shown(join(dataDir, 'secrets.json'))}),
broker log in ${shown(logFile)}. Press Ctrl-C to stop.
`)
}

/** Stops the broker (one SIGTERM: it finishes what is in flight) and the provider on Ctrl-C, or on failure. */
function onStop(broker: ChildProcess, provider: DemoProvider): (code: number) => Promise<void> {
  let stopping = false
  const stop = async (code: number) => {
    if (stopping) return
    stopping = true
    if (broker.exitCode === null && broker.signalCode === null) {
      broker.kill('SIGTERM')
      await new Promise((resolve) => broker.once('exit', resolve))
    }
    await provider.close()
    process.exit(code)
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (!stopping) console.log('\nstopping the broker and the demo provider…')
      void stop(0)
    })
  }
  broker.once('exit', (code) => {
    if (stopping) return
    console.error(`the broker stopped unexpectedly (exit ${code}); see ${shown(logFile)}`)
    void stop(1)
  })
  // the broker runs in its own process group: never leave it behind
  process.once('exit', () => broker.kill('SIGKILL'))
  return stop
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
