// The README's commands, run as a newcomer would run them: the provider and caller it shows how to create, its
// PROVIDERS_FILE example, and the production start's --help. (.ci/run runs the install, build, promtool, benchmark
// and container commands; test/demo.test.ts the demo; test/config.test.ts npm run keys.)
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { imageCommand, imageRuntime, imageTuning } from '../bench/lib/image-flags.js'
import { CONFIG_VARIABLES } from '../src/config.js'
import { loadCatalogue } from '../src/providers/templates/catalogue.js'
import { loadProvidersFile } from '../src/services/providers-file.js'
import { ADMIN_TOKEN, build } from './helper.js'

const root = join(import.meta.dirname, '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
/** The fenced blocks of a language, without their indentation. */
const blocks = (language: string) =>
  [...readme.matchAll(new RegExp(`^( *)\`\`\`${language}\\n([\\s\\S]*?)^\\1\`\`\``, 'gm'))].map(([, indent, body]) =>
    (body as string)
      .split('\n')
      .map((line) => line.slice((indent as string).length))
      .join('\n'),
  )

t.test('"Connect a provider": the curl commands create the provider and the caller', async (t) => {
  const { app } = await build(t, { background: false })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  // the commands of "Connect a provider" (other sections' examples hold placeholders for tokens)
  const commands = blocks('sh').filter((block) => /curl -X POST "\$PUBLIC_URL\/admin\/(providers|clients)"/.test(block))
  t.equal(commands.length, 2)
  for (const command of commands) {
    // asynchronously: the broker answering curl runs in this process
    const { stdout: out } = await promisify(execFile)(
      'bash',
      ['-c', `set -e; ${command.replace(/curl /g, 'curl -sS --fail-with-body ')}`],
      {
        env: { PATH: process.env.PATH, PUBLIC_URL: base, ADMIN_TOKEN },
        encoding: 'utf8',
      },
    )
    t.ok(JSON.parse(out).id, out.slice(0, 80))
  }
  const provider = await app.services.providers.get('zendesk-acme')
  t.match(provider, {
    template: 'zendesk',
    authorizationEndpoint: 'https://acme.zendesk.com/oauth/authorizations/new',
    redirectUri: /\/oauth\/zendesk-acme\/callback$/,
  })
  t.same(
    (await app.services.clients.list({})).items.map((client) => [client.namespace, client.allowedProviders]),
    [['billing', ['zendesk-acme']]],
  )
  t.ok(readme.includes(`${'$'}PUBLIC_URL/oauth/<provider id>/callback`))
})

t.test('the PROVIDERS_FILE example is a valid file', async (t) => {
  const [yaml] = blocks('yaml')
  const file = join(mkdtempSync(join(tmpdir(), 'tb-readme-')), 'providers.yaml')
  writeFileSync(file, yaml as string)
  const [entry] = loadProvidersFile(file, loadCatalogue().catalogue, { GOOGLE_CLIENT_SECRET: 'from-the-environment' })
  t.match(entry, { id: 'google', clientSecret: ['from-the-environment'], issuer: 'https://accounts.google.com' })
})

t.test("the production command runs the broker as the image does: its CMD's flags, its ENV's tuning", async (t) => {
  const image = imageRuntime()
  // the variables a deploy sets for itself (NODE_ENV, HOST, PORT, DATA_DIR) are in .env; the tuning is the command's
  const command = `${imageCommand(image)} dist/server.js`
  const deploy = blocks('sh').find((block) => block.includes('npm run --silent keys'))
  t.ok(deploy, 'the production deploy block')
  const lines = (deploy ?? '').split('\n').map((line) => line.replace(/\s+#.*$/, ''))
  t.ok(lines.includes(command), `it runs ${command}`)
  t.ok(
    image.flags.length > 0 && Object.keys(imageTuning(image)).length > 0,
    'the image has flags and tuning of its own to keep to',
  )
})

t.test('the configuration table names every variable, and the production command prints --help', async (t) => {
  for (const name of CONFIG_VARIABLES) t.match(readme, new RegExp(`^\\| [^|]*\`${name}\``, 'm'), name)
  const built = spawnSync('npm', ['start', '--', '--help'], { cwd: root, encoding: 'utf8', timeout: 300_000 })
  t.equal(built.status, 0, built.stderr)
  const help = spawnSync(process.execPath, ['dist/server.js', '--help'], { cwd: root, encoding: 'utf8' })
  t.equal(help.status, 0)
  t.match(help.stdout, /usage: node dist\/server\.js/)
})
