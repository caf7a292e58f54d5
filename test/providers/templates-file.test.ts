// TEMPLATES_FILE: our format and Nango's providers.yaml entries, the fields ignored reported per entry, and a provider
// created from an imported template whose expires_in comes in milliseconds, through a flow and a refresh.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError } from '../../src/errors.js'
import { loadCatalogue } from '../../src/providers/templates/catalogue.js'
import { build } from '../helper.js'
import { adminHeaders, createCaller } from '../support/fixtures.js'
import { startQuirksServer } from '../support/quirks-server.js'

const dir = mkdtempSync(join(tmpdir(), 'templates-file-'))
function file(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

// Entries as Nango's providers.yaml writes them (field names and shapes of its format).
const nango = `
acme-crm:
  display_name: Acme CRM
  categories: [crm]
  auth_mode: OAUTH2
  authorization_url: https://\${connectionConfig.subdomain}.acme-crm.example/oauth/authorize
  token_url: https://\${connectionConfig.subdomain}.acme-crm.example/oauth/token
  authorization_params:
    prompt: consent
  token_params:
    grant_type: authorization_code
  refresh_params:
    grant_type: refresh_token
  scope_separator: ','
  default_scopes: [contacts.read, offline]
  disable_pkce: true
  token_request_auth_method: basic
  body_format: json
  expires_in_unit: milliseconds
  token_response_metadata: [account.region]
  redirect_uri_metadata: [accountId]
  connection_config:
    subdomain:
      type: string
      title: Subdomain
      description: The subdomain of your Acme CRM account
      pattern: '^[a-z0-9-]+$'
  proxy:
    base_url: https://api.acme-crm.example
  docs: https://docs.nango.dev/integrations/all/acme-crm
acme-crm-eu:
  alias: acme-crm
  display_name: Acme CRM (EU)
  docs_connect: https://docs.nango.dev/integrations/all/acme-crm/connect
some-api-key-service:
  display_name: Keys only
  auth_mode: API_KEY
  proxy:
    base_url: https://api.keys.example
`

t.test("Nango's format: mapped fields, ignored ones reported per entry, unsupported entries skipped", async (t) => {
  const { catalogue, notices } = loadCatalogue(file('nango.yaml', nango))
  t.match(catalogue.get('acme-crm'), {
    name: 'acme-crm',
    displayName: 'Acme CRM',
    docsUrl: 'https://docs.nango.dev/integrations/all/acme-crm',
    authMode: 'oauth2',
    authorizationEndpoint: 'https://${connectionConfig.subdomain}.acme-crm.example/oauth/authorize',
    authorizationParams: { prompt: 'consent' },
    scopeSeparator: ',',
    scopes: ['contacts.read', 'offline'],
    pkce: false,
    tokenEndpointAuthMethod: 'client_secret_basic',
    bodyFormat: 'json',
    expiresInUnit: 'milliseconds',
    metadata: { tokenResponse: ['account.region'], callbackQuery: ['accountId'] },
    connectionConfig: [{ name: 'subdomain', pattern: '^[a-z0-9-]+$' }],
  })
  t.match(catalogue.get('acme-crm-eu'), {
    displayName: 'Acme CRM (EU)',
    tokenEndpointAuthMethod: 'client_secret_basic',
  })
  t.notOk(catalogue.get('some-api-key-service'), 'an API key service is no OAuth 2.0 template')
  t.same(notices, [
    'acme-crm: ignored categories, proxy',
    'acme-crm-eu: ignored docs_connect',
    'some-api-key-service: skipped, auth_mode API_KEY is not OAuth 2.0',
  ])
  t.ok(catalogue.get('github'), 'the built-in templates stay')
})

t.test("Nango's parameters that YAML reads as numbers or booleans are sent as they are written", async (t) => {
  // as Nango's providers.yaml writes its shopify and twitch entries
  const { catalogue, notices } = loadCatalogue(
    file(
      'nango-params.yaml',
      `
shopify:
  display_name: Shopify (OAuth)
  auth_mode: OAUTH2
  authorization_url: https://\${connectionConfig.subdomain}.myshopify.com/admin/oauth/authorize
  token_url: https://\${connectionConfig.subdomain}.myshopify.com/admin/oauth/access_token
  token_params:
    expiring: 1
  docs: https://nango.dev/docs/integrations/all/shopify
  connection_config:
    subdomain:
      type: string
      title: Subdomain
      pattern: '^[a-zA-Z0-9-]+$'
twitch:
  display_name: Twitch
  auth_mode: OAUTH2
  authorization_url: https://id.twitch.tv/oauth2/authorize
  token_url: https://id.twitch.tv/oauth2/token
  authorization_params:
    response_type: code
    force_verify: false
  docs: https://nango.dev/docs/integrations/all/twitch
`,
    ),
  )
  t.same(notices, [])
  t.match(catalogue.get('shopify'), { tokenParams: { expiring: '1' } })
  t.match(catalogue.get('twitch'), { authorizationParams: { response_type: 'code', force_verify: 'false' } })
})

t.test('our format in a file adds and replaces templates; a broken one stops the start naming it', async (t) => {
  const ours = file(
    'ours.yaml',
    `
- name: github
  displayName: GitHub Enterprise
  docsUrl: https://docs.github.com/en/enterprise-server@3.14/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
  authMode: oauth2
  authorizationEndpoint: https://github.example.com/login/oauth/authorize
  tokenEndpoint: https://github.example.com/login/oauth/access_token
`,
  )
  t.equal(loadCatalogue(ours).catalogue.get('github')?.displayName, 'GitHub Enterprise')
  const broken = file(
    'broken.yaml',
    `
- name: leaky
  displayName: Leaky
  docsUrl: https://example.com
  authMode: oauth2
  metadata: { tokenResponse: [bot.access_token] }
`,
  )
  t.throws(() => loadCatalogue(broken), ConfigError)
  t.throws(() => loadCatalogue(broken), /TEMPLATES_FILE: template leaky: metadata bot.access_token names a secret/)
  t.throws(() => loadCatalogue(file('bad.yaml', 'just: [a')), /TEMPLATES_FILE: .* is neither valid JSON nor YAML/)
  t.throws(() => loadCatalogue(join(dir, 'missing.yaml')), /TEMPLATES_FILE: cannot read .*ENOENT/)
})

t.test('a provider from an imported Nango entry: milliseconds, JSON, Basic, both kinds of metadata', async (t) => {
  const { catalogue } = loadCatalogue(file('nango.yaml', nango))
  const quirks = await startQuirksServer(t, {
    answer: ({ tokens }) => ({
      body: {
        access_token: tokens.access,
        refresh_token: tokens.refresh,
        expires_in: 7_200_000,
        token_type: 'Bearer',
        account: { region: 'eu-1' },
      },
    }),
    callbackQuery: { accountId: 'acct-42' },
  })
  const { app } = await build(t, {
    fetch: quirks.fetch,
    templates: catalogue,
    config: { PUBLIC_URL: new URL('https://broker.example.com') },
  })
  const post = (payload: object) =>
    app.inject({
      method: 'POST',
      url: '/admin/providers',
      headers: adminHeaders,
      payload: { id: 'crm', template: 'acme-crm', clientId: 'crm-client', clientSecret: 'crm-secret', ...payload },
    })
  const missing = await post({})
  t.equal(missing.statusCode, 400)
  t.same(missing.json(), {
    error: 'invalid_request',
    message: 'the acme-crm template needs connectionConfig.subdomain',
  })
  t.equal((await post({ connectionConfig: { subdomain: 'Not Valid!' } })).statusCode, 400, 'its pattern holds')
  t.equal((await post({ connectionConfig: { subdomain: 'acme', other: 'x' } })).statusCode, 400, 'unknown name')
  const created = await post({ connectionConfig: { subdomain: 'acme' } })
  t.equal(created.statusCode, 201, created.body)
  t.match(created.json(), {
    template: 'acme-crm',
    preset: 'acme-crm',
    connectionConfig: { subdomain: 'acme' },
    tokenEndpoint: 'https://acme.acme-crm.example/oauth/token',
    pkce: false,
  })

  const caller = await createCaller(app, { allowedProviders: ['crm'], allowedReturnTo: ['https://app.example/'] })
  const authorization = await app.inject({
    method: 'POST',
    url: '/authorizations',
    headers: caller.headers,
    payload: { provider: 'crm', userId: 'u1', returnTo: 'https://app.example/done' },
  })
  const started = await app.inject({ method: 'GET', url: new URL(authorization.json().url).pathname })
  const location = new URL(started.headers.location as string)
  t.equal(location.searchParams.get('scope'), 'contacts.read,offline')
  t.equal(location.searchParams.get('prompt'), 'consent')
  const callback = quirks.authorize(location)
  const done = await app.inject({
    method: 'GET',
    url: callback.pathname + callback.search,
    headers: { cookie: String(started.headers['set-cookie']).split(';')[0] as string },
  })
  t.equal(done.headers.location, 'https://app.example/done?status=connected')
  const [exchange] = quirks.requests
  t.match(exchange, { host: 'acme.acme-crm.example', json: true, params: { grant_type: 'authorization_code' } })
  t.match(exchange?.headers.authorization, /^Basic /)
  const connection = await app.deps.db.prisma.connection.findFirstOrThrow({ where: { providerId: 'crm' } })
  t.equal(connection.lifetimeSeconds, 7200, 'expires_in in milliseconds')
  const token = await app.inject({ method: 'GET', url: '/tokens/u1?provider=crm', headers: caller.headers })
  t.same(token.json().metadata, { 'account.region': 'eu-1', accountId: 'acct-42' })
  const refreshed = await app.inject({
    method: 'POST',
    url: `/admin/connections/${connection.id}/refresh`,
    headers: adminHeaders,
  })
  t.equal(refreshed.statusCode, 200, refreshed.body)
  t.match(quirks.requests.at(-1), { json: true, params: { grant_type: 'refresh_token' } })
})
