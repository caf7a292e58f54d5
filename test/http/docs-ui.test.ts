// Swagger UI in headless Chromium: an operator authorizes with the admin token and administers from the page.
import { mkdirSync } from 'node:fs'
import type { Page } from 'playwright-core'
import t from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'
import { launchChromium } from '../support/browser.js'

const artifacts = new URL('../artifacts/', import.meta.url)

async function execute(page: Page, operation: string, body?: string): Promise<{ status: string; body: string }> {
  const block = page.locator(`#operations-admin-${operation}`)
  const summary = block.locator('.opblock-summary').first()
  await summary.waitFor()
  // deep linking reopens the operation last expanded after a reload
  if (!/\bis-open\b/.test((await block.getAttribute('class')) ?? '')) await summary.click()
  const tryOut = block.locator('button.try-out__btn', { hasText: 'Try it out' })
  if (await tryOut.count()) await tryOut.click()
  // back to the documented example, when no body is given
  else if (body === undefined && (await block.locator('button.try-out__btn.reset').count())) {
    await block.locator('button.try-out__btn.reset').click()
  }
  if (body !== undefined) await block.locator('textarea.body-param__text').fill(body)
  await block.locator('button.execute').click()
  const response = block.locator('.live-responses-table .response').first()
  await response.waitFor()
  return {
    status: (await response.locator('.response-col_status').innerText()).trim(),
    body: await response.locator('.response-col_description pre').first().innerText(),
  }
}

/** Authorize, the admin token under `admin`, Authorize, Close: as an operator does it. */
async function authorizeAsAdmin(page: Page): Promise<void> {
  await page.locator('.auth-wrapper button.authorize').click()
  const scheme = page.locator('.auth-container', { has: page.locator('h4', { hasText: /^admin/ }) })
  await scheme.locator('input').fill(ADMIN_TOKEN)
  await scheme.locator('button.authorize').click()
  await scheme.locator('button.btn-done').click()
}

t.test('authorize in Swagger UI, create a provider and list providers', async (t) => {
  const { app } = await build(t)
  const base = await app.listen({ host: '127.0.0.1', port: 0 })

  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
  page.setDefaultTimeout(10_000)
  const pageErrors: string[] = []
  page.on('pageerror', (err) => pageErrors.push(err.message))
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text())
  })

  await page.goto(`${base}/docs`)
  await authorizeAsAdmin(page)

  const created = await execute(
    page,
    'post_admin_providers',
    JSON.stringify({
      id: 'acme',
      displayName: 'Acme',
      authorizationEndpoint: 'https://idp.example/authorize',
      tokenEndpoint: 'https://idp.example/token',
      clientId: 'acme-client',
      clientSecret: 'acme-secret',
      scopes: ['profile'],
    }),
  )
  t.equal(created.status, '201', `POST /admin/providers from the page: ${created.body}`)

  const listed = await execute(page, 'get_admin_providers')
  t.equal(listed.status, '200')
  t.match(JSON.parse(listed.body), { items: [{ id: 'acme', redirectUri: /\/oauth\/acme\/callback$/ }] })
  t.notMatch(listed.body, /acme-secret/, 'the client secret is write-only')

  mkdirSync(artifacts, { recursive: true })
  await page.screenshot({ path: new URL('docs-admin.png', artifacts).pathname, fullPage: true })
  await page
    .locator('#operations-admin-get_admin_providers')
    .screenshot({ path: new URL('docs-admin-list-providers.png', artifacts).pathname })
  t.strictSame(pageErrors, [], 'no script or CSP error on the page')

  // Execute on the unedited examples creates nothing: their <placeholders> are refused
  for (const operation of ['post_admin_providers', 'post_admin_clients']) {
    const untouched = await execute(page, operation)
    t.equal(untouched.status, '400', `${operation} with its example as it is: ${untouched.body}`)
  }
  t.equal((await app.services.clients.list({})).items.length, 0, 'no caller was created')

  // the token is not kept: gone after a reload, and never in local storage
  t.equal(await page.evaluate('JSON.stringify(window.localStorage)'), '{}', 'nothing in local storage')
  await page.reload()
  await page.locator('.auth-wrapper button.authorize.unlocked').waitFor()
  const again = await execute(page, 'get_admin_providers')
  t.equal(again.status, '401', 'no longer authorized after a reload')
})

t.test('with DOCS_PERSIST_AUTHORIZATION=true the token survives a reload', async (t) => {
  const { app } = await build(t, { config: { DOCS_PERSIST_AUTHORIZATION: true } })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  page.setDefaultTimeout(10_000)
  await page.goto(`${base}/docs`)
  await authorizeAsAdmin(page)
  await page.reload()
  await page.locator('.auth-wrapper button.authorize.locked').waitFor()
  t.equal((await execute(page, 'get_admin_providers')).status, '200', 'still authorized after a reload')
})
