// npm run demo as a newcomer follows it: open the printed link, sign in on the demo provider's page, run the printed
// curl, get a token; Ctrl-C stops the broker and the provider.
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import t from 'tap'
import { CookieJar } from './support/auth-server.js'
import { accepting, freePort } from './support/ports.js'

const repoRoot = join(import.meta.dirname, '..')
const tsx = import.meta.resolve('tsx')

/** A browser: follows redirects across the broker and the provider, keeps cookies per host, fills in the pages. */
async function browse(start: string, login: string): Promise<{ url: URL; status: number; body: string }> {
  const jars = new Map<string, CookieJar>()
  const jarOf = (url: URL) => jars.get(url.host) ?? jars.set(url.host, new CookieJar()).get(url.host)!
  let request: { url: URL; form?: URLSearchParams } = { url: new URL(start) }
  for (let hop = 0; hop < 20; hop++) {
    const { url, form } = request
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      headers: { cookie: jarOf(url).headerFor(url) },
      body: form,
      redirect: 'manual',
    })
    jarOf(url).store(res.headers.getSetCookie())
    const location = res.headers.get('location')
    if (res.status >= 300 && res.status < 400 && location) {
      request = { url: new URL(location, url) }
      continue
    }
    const body = await res.text()
    if (!url.pathname.startsWith('/interaction/')) return { url, status: res.status, body }
    // the provider's sign-in page, then its consent page: what a user types and presses
    const prompt = /name="prompt" value="([a-z]+)"/.exec(body)?.[1]
    const action = new URL(/<form[^>]* action="([^"]+)"/.exec(body)?.[1] ?? url.pathname, url)
    const fields: Record<string, string> =
      prompt === 'login' ? { prompt, login, password: 'anything' } : { prompt: prompt ?? 'consent' }
    request = { url: action, form: new URLSearchParams(fields) }
  }
  throw new Error('too many redirects')
}

t.test('npm run demo: the printed link, a sign-in and the printed curl give a token; Ctrl-C stops it', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tb-demo-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const [port, providerPort] = [await freePort(), await freePort()]
  const demo = spawn(process.execPath, ['--import', tsx, join(repoRoot, 'scripts', 'demo.ts')], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      DEMO_PROVIDER_PORT: String(providerPort),
      DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = once(demo, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  t.teardown(() => {
    if (demo.exitCode === null && demo.signalCode === null) demo.kill('SIGTERM')
  })
  let output = ''
  demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))

  const started = Date.now()
  while (!output.includes('Press Ctrl-C to stop.')) {
    if (demo.exitCode !== null) throw new Error(`the demo exited with ${demo.exitCode}:\n${output}`)
    if (Date.now() - started > 150_000) throw new Error(`the demo printed no steps in time:\n${output}`)
    await sleep(100)
  }
  t.comment(`steps printed after ${Date.now() - started} ms`)

  const link = /^ {3}(http:\/\/\S+\/oauth\/start\/\S+)$/m.exec(output)?.[1]
  const curl = /^ {3}(curl -H 'Authorization: Bearer ([^']+)' '([^']+)')$/m.exec(output)
  t.ok(link, 'step 1 prints a start link')
  t.match(output, /2\) Sign in .* any username and any password/, 'step 2 says how to sign in')
  t.ok(curl, 'step 3 prints a curl command')
  const [command, apiKey, tokenUrl] = (curl ?? []).slice(1) as [string, string, string]

  const before = await fetch(tokenUrl, { headers: { authorization: `Bearer ${apiKey}` } })
  t.equal(before.status, 404, 'before signing in, the user has no connection')

  const page = await browse(link as string, 'ada')
  t.equal(page.status, 200, 'the flow ends on the broker')
  t.equal(page.url.pathname, '/oauth/demo/callback', "at the provider's callback")
  t.match(page.body, /Connected/, 'which shows "Connected"')

  const res = await fetch(tokenUrl, { headers: { authorization: `Bearer ${apiKey}` } })
  const body = (await res.json()) as { accessToken?: string; provider?: string; userId?: string }
  t.equal(res.status, 200, "the curl command's request answers 200")
  t.match(body, { accessToken: String, provider: 'demo', userId: 'demo-user' }, 'with an access token')

  const { stdout } = await promisify(execFile)('sh', ['-c', command])
  t.match(JSON.parse(stdout), { accessToken: body.accessToken }, 'the printed command itself, run by a shell, too')

  demo.kill('SIGINT')
  const [code] = await exited
  t.equal(code, 0, 'Ctrl-C: the demo exits 0')
  t.notOk(await accepting(port), 'the broker is stopped')
  t.notOk(await accepting(providerPort), 'the demo provider is stopped')
  t.match(readFileSync(join(dataDir, 'broker.log'), 'utf8'), /"msg":"stopped"/, 'the broker stopped cleanly')
})
