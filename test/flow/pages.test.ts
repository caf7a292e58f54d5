// The pages a user sees at the end of a flow without returnTo, in a real browser (headless Chromium) as a person
// reaches them: connected, access not granted, a link used twice, expired or unknown, a provider unreachable or
// failing the exchange. Each names the provider, says what happened and what to do, is styled under the pages' own
// Content-Security-Policy (no violation), fits a phone, follows dark mode, and is kept as a screenshot in
// test/artifacts/.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { launchChromium } from '../support/browser.js'
import { createProvider } from '../support/fixtures.js'
import { requestAuthorization, startFlowEnv } from '../support/flow.js'
import { freePort } from '../support/ports.js'

const artifacts = join(import.meta.dirname, '..', 'artifacts', 'pages')
mkdirSync(artifacts, { recursive: true })

let clock = Date.now()
const env = await startFlowEnv(t, {
  providers: [{ id: 'idp', extra: { displayName: 'Example ID' } }],
  app: { now: () => new Date(clock) },
})
await createProvider(env.app, {
  id: 'offline',
  displayName: 'Offline ID',
  issuer: `http://127.0.0.1:${await freePort()}`,
})
await env.app.inject({
  method: 'PATCH',
  url: `/admin/clients/${env.caller.id}`,
  headers: { authorization: `Bearer ${env.config.ADMIN_TOKEN}` },
  payload: { allowedProviders: ['idp', 'offline'] },
})
await new Promise((resolve) => setTimeout(resolve, 2_100)) // the caller's key cache

let browser: Browser
t.before(async () => {
  browser = await launchChromium()
})
t.teardown(() => browser?.close())

const PHONE = { width: 390, height: 760 }

/** A phone-sized page that records every CSP violation it reports. */
async function phone(t: Test, colorScheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; violations: string[] }> {
  const context: BrowserContext = await browser.newContext({ viewport: PHONE, colorScheme, deviceScaleFactor: 2 })
  t.teardown(() => context.close())
  const page = await context.newPage()
  const violations: string[] = []
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text())
  })
  return { page, violations }
}

async function signIn(page: Page, login: string) {
  await page.fill('input[name="login"]', login)
  await page.fill('input[name="password"]', 'any')
  await page.click('button[type="submit"]')
  await page.waitForSelector('input[name="prompt"][value="consent"]', { state: 'attached' })
}

/** What a person sees of the page, and that it is styled, fits the screen and broke no policy. */
async function checkPage(
  t: Test,
  { page, violations }: { page: Page; violations: string[] },
  name: string,
  expected: { status?: number; title: RegExp; text: RegExp },
) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true })
  t.match(await page.textContent('h1'), expected.title, `${name}: the title`)
  t.match(await page.textContent('main'), expected.text, `${name}: what happened and what to do`)
  // evaluated in the page: written as text, as the page's globals are not Node's
  const layout = (await page.evaluate(`({
    radius: getComputedStyle(document.querySelector('main')).borderRadius,
    overflow: document.documentElement.scrollWidth > window.innerWidth,
    background: getComputedStyle(document.body).backgroundColor,
  })`)) as { radius: string; overflow: boolean; background: string }
  t.equal(layout.radius, '16px', `${name}: the stylesheet applies under the CSP`)
  t.notOk(layout.overflow, `${name}: no sideways scrolling on a phone`)
  t.same(violations, [], `${name}: no CSP violation`)
  return layout
}

t.test('connected, in light and dark mode', async (t) => {
  for (const scheme of ['light', 'dark'] as const) {
    const tab = await phone(t, scheme)
    const link = await requestAuthorization(env, { userId: `pages-${scheme}`, returnTo: null })
    const response = tab.page.waitForResponse((res) => res.url().includes('/oauth/idp/callback'))
    await tab.page.goto(link.url)
    await signIn(tab.page, `pages-${scheme}`)
    await tab.page.click('button[type="submit"]')
    t.equal((await response).status(), 200)
    await tab.page.waitForSelector('h1')
    const layout = await checkPage(t, tab, `connected-${scheme}`, {
      title: /^Connected to Example ID$/,
      text: /Your account at Example ID is now connected\.You can close this window/,
    })
    const dark = /rgb\((\d+), (\d+), (\d+)\)/.exec(layout.background)?.slice(1).map(Number) ?? []
    const luminance = dark.reduce((sum, channel) => sum + channel, 0) / 3
    t.ok(scheme === 'dark' ? luminance < 60 : luminance > 200, `${scheme} background (${layout.background})`)
  }
})

t.test('access not granted: the user cancels at the provider', async (t) => {
  const tab = await phone(t)
  const link = await requestAuthorization(env, { userId: 'pages-denied', returnTo: null })
  await tab.page.goto(link.url)
  await tab.page.click('a[href$="/abort"]')
  await tab.page.waitForSelector('h1')
  await checkPage(t, tab, 'access-denied', {
    title: /^Example ID was not connected$/,
    text: /Access was not granted at Example ID.*start again from the application and allow access.*access_denied/,
  })
})

t.test('a start link opened twice, one expired, one that does not exist', async (t) => {
  const used = await requestAuthorization(env, { userId: 'pages-twice', returnTo: null })
  const first = await phone(t)
  await first.page.goto(used.url)
  const again = await phone(t)
  await again.page.goto(used.url)
  await checkPage(t, again, 'link-used', {
    title: /^This link cannot be used$/,
    text: /already used.*Start again from the application, in this browser\.invalid_state/,
  })

  const late = await requestAuthorization(env, { userId: 'pages-late', returnTo: null })
  clock += 11 * 60_000
  t.teardown(() => (clock = Date.now()))
  const expired = await phone(t)
  await expired.page.goto(late.url)
  await checkPage(t, expired, 'link-expired', { title: /^This link has expired$/, text: /10 minutes.*expired/ })
  clock = Date.now()

  const unknown = await phone(t)
  await unknown.page.goto(`${env.publicUrl.origin}/oauth/start/not-a-link`)
  await checkPage(t, unknown, 'link-unknown', { title: /^This link is not valid$/, text: /Start again/ })
})

t.test('the provider unreachable, or failing the code exchange', async (t) => {
  const offline = await phone(t)
  const link = await requestAuthorization(env, { userId: 'pages-offline', provider: 'offline', returnTo: null })
  await offline.page.goto(link.url)
  await checkPage(t, offline, 'provider-unavailable', {
    title: /^Offline ID is unavailable$/,
    text: /Offline ID could not be reached.*Try again in a few minutes.*provider_unavailable/,
  })

  env.server.setTokenFault({
    kind: 'status',
    status: 400,
    body: '{"error":"invalid_request"}',
    contentType: 'application/json',
    grantType: 'authorization_code',
    times: 1,
  })
  const failing = await phone(t)
  const second = await requestAuthorization(env, { userId: 'pages-exchange', returnTo: null })
  await failing.page.goto(second.url)
  await signIn(failing.page, 'pages-exchange')
  await failing.page.click('button[type="submit"]')
  await failing.page.waitForSelector('h1')
  await checkPage(t, failing, 'exchange-failed', {
    title: /^Example ID did not complete the connection$/,
    text: /Nothing was stored.*support the code below.*exchange_failed/,
  })
})

t.test('a display name is escaped, not markup', async (t) => {
  await env.app.inject({
    method: 'PUT',
    url: '/admin/providers/offline',
    headers: { authorization: `Bearer ${env.config.ADMIN_TOKEN}` },
    payload: {
      displayName: '<img src=x onerror=alert(1)>',
      issuer: `http://127.0.0.1:${await freePort()}`,
      clientId: 'c',
    },
  })
  const link = await requestAuthorization(env, { userId: 'pages-escape', provider: 'offline', returnTo: null })
  const res = await fetch(link.url)
  const html = await res.text()
  t.notMatch(html, /<img/)
  t.match(html, /&#60;img src=x onerror=alert\(1\)&#62; is unavailable/)
  t.match(res.headers.get('content-security-policy') ?? '', /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/)
})
