// The flow in a real browser (headless Chromium): open the start link, sign in and consent on the provider's own
// pages, land on returnTo with status=connected. The returnTo app is intercepted by the browser, not served.
import type { Browser } from 'playwright-core'
import t from 'tap'
import { launchChromium } from '../support/browser.js'
import { requestAuthorization, startFlowEnv } from '../support/flow.js'

const env = await startFlowEnv(t)
let browser: Browser
t.before(async () => {
  browser = await launchChromium()
})
t.teardown(() => browser?.close())

t.test('a user connects in a real browser', async (t) => {
  const context = await browser.newContext()
  t.teardown(() => context.close())
  await context.route(`${new URL(env.returnTo).origin}/**`, (route) =>
    route.fulfill({
      status: 200,
      contentType: 'text/html',
      body: '<!doctype html><title>app</title><p>back in the app</p>',
    }),
  )
  const page = await context.newPage()
  const link = await requestAuthorization(env, { userId: 'browser-user' })

  await page.goto(link.url)
  t.match(page.url(), new RegExp(`^${env.server.url}/interaction/`), 'at the provider')
  await page.fill('input[name="login"]', 'browser-user')
  await page.fill('input[name="password"]', 'any')
  await page.click('button[type="submit"]')
  await page.waitForSelector('input[name="prompt"][value="consent"]', { state: 'attached' })
  await page.click('button[type="submit"]')
  await page.waitForURL((url) => url.origin === new URL(env.returnTo).origin, { timeout: 15_000 })

  const landed = new URL(page.url())
  t.equal(landed.origin + landed.pathname, env.returnTo)
  t.equal(landed.searchParams.get('status'), 'connected')
  t.equal(await page.textContent('p'), 'back in the app')

  const cookies = await context.cookies(env.publicUrl.href)
  t.notOk(
    cookies.some((cookie) => cookie.name.startsWith('tb_flow_')),
    'the flow cookie is gone once the flow is done',
  )
  const connection = await env.db.prisma.connection.findUniqueOrThrow({
    where: {
      namespace_providerId_userId: { namespace: 'default', providerId: env.providerId, userId: 'browser-user' },
    },
  })
  t.match(connection, { status: 'active', subject: 'browser-user' })
})

t.test('the flow cookie as the browser stores it', async (t) => {
  const context = await browser.newContext()
  t.teardown(() => context.close())
  const page = await context.newPage()
  const link = await requestAuthorization(env, { userId: 'cookie-check' })
  await page.goto(link.url)
  const [cookie] = (await context.cookies(`${env.publicUrl.origin}/oauth/`)).filter((c) =>
    c.name.startsWith('tb_flow_'),
  )
  t.match(cookie, { httpOnly: true, sameSite: 'Lax', path: '/oauth', secure: false })
  t.equal(await page.evaluate('document.cookie.includes("tb_flow_")'), false, 'not readable from scripts')
})
