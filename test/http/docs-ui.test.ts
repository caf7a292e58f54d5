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
  await block.locator('button.try-out__btn').click()
  if (body !== undefined) await block.locator('textarea.body-param__text').fill(body)
  await block.locator('button.execute').click()
  const response = block.locator('.live-responses-table .response').first()
  await response.waitFor()
  return {
    status: (await response.locator('.response-col_status').innerText()).trim(),
    body: await response.locator('.response-col_description pre').first().innerText(),
  }
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
  await page.locator('.auth-wrapper button.authorize').click()
  const scheme = page.locator('.auth-container', { has: page.locator('h4', { hasText: /^admin/ }) })
  await scheme.locator('input').fill(ADMIN_TOKEN)
  await scheme.locator('button.authorize').click()
  await scheme.locator('button.btn-done').click()

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

  // the authorization persists across a reload
  await page.reload()
  await page.locator('.auth-wrapper button.authorize.locked').waitFor()
  const again = await execute(page, 'get_admin_providers')
  t.equal(again.status, '200', 'still authorized after a reload')
})
