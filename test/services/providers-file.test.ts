import { spawnSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError } from '../../src/errors.js'
import { clientSecretContext } from '../../src/providers/registry.js'
import { loadCatalogue } from '../../src/providers/templates/catalogue.js'
import { applyProvidersFile, loadProvidersFile } from '../../src/services/providers-file.js'
import { build } from '../helper.js'

const { catalogue } = loadCatalogue()
const dir = mkdtempSync(join(tmpdir(), 'providers-file-'))
function file(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

const yaml = `
- id: glimesh
  preset: glimesh
  clientId: glimesh-client
  clientSecretEnv: GLIMESH_CLIENT_SECRET
- id: corp
  preset: auth0
  domain: corp.eu.auth0.com
  audience: https://api.corp.example
  clientId: corp-client
  clientSecretEnv: CORP_SECRET
`
const env = { GLIMESH_CLIENT_SECRET: 'glimesh-secret', CORP_SECRET: 'corp-secret' }

t.test('YAML and JSON files are read, secrets from the environment', async (t) => {
  const fromYaml = loadProvidersFile(file('providers.yaml', yaml), catalogue, env)
  t.match(fromYaml, [
    { id: 'glimesh', clientSecret: ['glimesh-secret'], tokenEndpoint: 'https://glimesh.tv/api/oauth/token' },
    { id: 'corp', issuer: 'https://corp.eu.auth0.com/', authorizationParams: { audience: 'https://api.corp.example' } },
  ])
  const json = JSON.stringify({
    providers: [{ id: 'x', issuer: 'https://login.example.com', clientId: 'c', clientSecretEnv: 'CORP_SECRET' }],
  })
  t.match(loadProvidersFile(file('providers.json', json), catalogue, env), [{ id: 'x', clientSecret: ['corp-secret'] }])
})

t.test('every problem is one configuration error naming it', async (t) => {
  const failure = (text: string, environment: Record<string, string> = env) => {
    try {
      loadProvidersFile(file('bad.yaml', text), catalogue, environment)
    } catch (err) {
      t.type(err, ConfigError)
      return (err as Error).message
    }
    return 'no error'
  }
  t.equal(
    failure(yaml, { CORP_SECRET: 'x' }),
    'PROVIDERS_FILE: provider 1 (glimesh): environment variable GLIMESH_CLIENT_SECRET is not set',
  )
  t.match(failure('- id: a\n  clientId: c\n  clientSecret: inline\n'), /clientSecretEnv .* not clientSecret/)
  t.match(failure('- id: a\n  clientId: c\n  clientSecretEnv: CORP_SECRET\n'), /provider 1 \(a\): give either issuer/)
  const twice = '- { id: g, preset: glimesh, clientId: c, clientSecretEnv: CORP_SECRET }\n'
  t.match(failure(twice + twice), /provider 2 \(g\): id g appears twice/)
  t.match(failure('{ not: [valid'), /neither valid JSON nor valid YAML/)
  t.match(failure('id: just-one'), /list of providers/)
  t.notMatch(failure(yaml, { CORP_SECRET: 'x' }), /corp-secret|glimesh-secret/)
  t.throws(() => loadProvidersFile(join(dir, 'missing.yaml'), catalogue, env), /PROVIDERS_FILE: cannot read .*ENOENT/)
})

t.test('applying the file creates, then leaves alone, then updates', async (t) => {
  const { app, db } = await build(t)
  const inputs = loadProvidersFile(file('apply.yaml', yaml), catalogue, env)
  t.same(await applyProvidersFile(app.services.providers, inputs), {
    created: ['glimesh', 'corp'],
    updated: [],
    unchanged: [],
  })
  t.same(await applyProvidersFile(app.services.providers, inputs), {
    created: [],
    updated: [],
    unchanged: ['glimesh', 'corp'],
  })
  const rotated = loadProvidersFile(file('apply.yaml', yaml), catalogue, { ...env, CORP_SECRET: 'rotated' })
  t.same(await applyProvidersFile(app.services.providers, rotated), {
    created: [],
    updated: ['corp'],
    unchanged: ['glimesh'],
  })
  const corp = await db.prisma.provider.findUniqueOrThrow({ where: { id: 'corp' } })
  t.equal(app.deps.keyring.decrypt(corp.clientSecretEnc as Uint8Array, clientSecretContext('corp')), 'rotated')
  const audit = await db.prisma.auditEvent.findMany({ where: { subjectType: 'provider' }, orderBy: { id: 'asc' } })
  t.same(
    audit.map((event) => [event.actor, event.action, event.subjectId]),
    [
      ['system', 'provider.created', 'glimesh'],
      ['system', 'provider.created', 'corp'],
      ['system', 'provider.updated', 'corp'],
    ],
  )
})

t.test('the server stops at start with one line naming the missing variable', async (t) => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      PATH: process.env.PATH,
      DATA_DIR: dir,
      PROVIDERS_FILE: file('start.yaml', yaml),
      CORP_SECRET: 'x',
      LOG_LEVEL: 'silent',
    },
    encoding: 'utf8',
    timeout: 30_000,
  })
  t.equal(result.status, 1)
  t.equal(
    result.stderr.trim(),
    'invalid configuration: PROVIDERS_FILE: provider 1 (glimesh): environment variable GLIMESH_CLIENT_SECRET is not set',
  )
})

t.test('a private_key_jwt provider takes its key from privateKeyEnv', async (t) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
  const entry =
    '- { id: k, issuer: "https://login.example.com", clientId: c, tokenEndpointAuthMethod: private_key_jwt, privateKeyEnv: CORP_KEY }\n'
  const path = file('keys.yaml', entry)
  const [input] = loadProvidersFile(path, catalogue, { CORP_KEY: pem })
  t.match(input, { id: 'k', tokenEndpointAuthMethod: 'private_key_jwt', privateKey: pem })
  t.notOk(input && 'clientSecret' in input)
  t.throws(() => loadProvidersFile(path, catalogue, {}), /provider 1 \(k\): environment variable CORP_KEY is not set/)
  t.throws(
    () => loadProvidersFile(file('inline-key.yaml', '- { id: k, clientId: c, privateKey: x }\n'), catalogue, {}),
    /give privateKeyEnv .* not privateKey/,
  )
  t.throws(
    () => loadProvidersFile(path, catalogue, { CORP_KEY: 'not a key' }),
    /provider 1 \(k\): privateKey must be a private key/,
  )

  const { app } = await build(t)
  t.same(await applyProvidersFile(app.services.providers, loadProvidersFile(path, catalogue, { CORP_KEY: pem })), {
    created: ['k'],
    updated: [],
    unchanged: [],
  })
  t.same(await applyProvidersFile(app.services.providers, loadProvidersFile(path, catalogue, { CORP_KEY: pem })), {
    created: [],
    updated: [],
    unchanged: ['k'],
  })
  t.match((await app.services.providers.get('k')).hasPrivateKey, true)
})

t.test('during a rotation clientSecretEnv names a list of variables: their secrets in that order', async (t) => {
  const entry = (names: string) => `- { id: g, preset: glimesh, clientId: c, clientSecretEnv: ${names} }\n`
  const secrets = { NEW_SECRET: 'new-secret', OLD_SECRET: 'old-secret' }
  const [input] = loadProvidersFile(file('rotation.yaml', entry('[NEW_SECRET, OLD_SECRET]')), catalogue, secrets)
  t.same(input?.clientSecret, ['new-secret', 'old-secret'])
  t.throws(
    () => loadProvidersFile(file('rotation.yaml', entry('[NEW_SECRET, OLD_SECRET]')), catalogue, { NEW_SECRET: 'n' }),
    /provider 1 \(g\): environment variable OLD_SECRET is not set/,
  )
  for (const names of ['[]', '[NEW_SECRET, NEW_SECRET]', '[A, B, C, D, E, F]', '["not a name"]']) {
    t.throws(
      () => loadProvidersFile(file('rotation.yaml', entry(names)), catalogue, secrets),
      /provider 1 \(g\): .*clientSecretEnv/,
      names,
    )
  }

  const { app, db } = await build(t)
  await applyProvidersFile(app.services.providers, [input as NonNullable<typeof input>])
  const stored = await db.prisma.provider.findUniqueOrThrow({ where: { id: 'g' } })
  t.equal(app.deps.keyring.decrypt(stored.clientSecretEnc as Uint8Array, clientSecretContext('g')), 'new-secret')
  t.ok(stored.fallbackClientSecretsEnc, 'the older one kept to try on invalid_client')
})
