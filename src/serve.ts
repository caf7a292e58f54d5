// The broker's process once its configuration is valid: embedded database, migrations, the app, listen, signals.
import { join } from 'node:path'
import type { Logger } from 'pino'
import { buildApp } from './app.js'
import type { Config } from './config.js'
import { verifyKeyring } from './crypto/key-checks.js'
import { Keyring } from './crypto/keyring.js'
import { openDatabase } from './db/client.js'
import { migrate } from './db/migrations.js'
import type { TemplateCatalogue } from './providers/templates/catalogue.js'
import type { ProviderInput } from './services/provider-input.js'
import { applyProvidersFile } from './services/providers-file.js'
import { publicUrl } from './urls/public.js'

export interface ServeOptions {
  config: Config
  logger: Logger
  providers: ProviderInput[]
  templates: TemplateCatalogue
  /** Runs after the app has closed, last before the exit (the tracer's flush). */
  afterClose?: () => Promise<void>
}

export async function serve({ config, logger, providers, templates, afterClose }: ServeOptions): Promise<void> {
  // PGlite is loaded only when it is used
  const embedded = config.DATABASE_URL
    ? undefined
    : await (await import('./db/embedded.js')).startEmbeddedDatabase(config.DATA_DIR)
  const url = config.DATABASE_URL?.href ?? (embedded as { url: string }).url
  const database = openDatabase({ url, poolSize: embedded?.poolSize ?? 10 })
  const applied = await migrate(database, url)
  if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied')
  // keys that cannot open the stored data refuse the start (one line naming the key id), not the first token read
  try {
    await verifyKeyring(database, new Keyring(config.ENCRYPTION_KEYS))
  } catch (err) {
    await database.close()
    await embedded?.close()
    throw err
  }
  const app = await buildApp({ config, database, logger, templates })
  if (providers.length > 0) {
    logger.info(await applyProvidersFile(app.services.providers, providers), 'providers file applied')
  }
  app.addHook('onClose', async () => {
    await database.close()
    await embedded?.close()
  })

  let closing = false
  const shutdown = (signal: string) => {
    // npm forwards the terminal's Ctrl-C to its child, which then gets it twice: a repeat is not an order to hurry
    if (closing) return
    closing = true
    logger.info({ signal }, 'shutting down: finishing requests and refreshes in flight')
    app
      .close()
      .then(() => afterClose?.())
      .then(
        () => {
          logger.info('stopped')
          process.exit(0)
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed')
          process.exit(1)
        },
      )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))

  const address = await app.listen({ port: config.PORT, host: config.HOST })
  logger.info(banner(config, address), 'token-broker ready')
}

/** What a person starting the broker wants to know first: where it is, its API docs, and the admin token. */
function banner(config: Config, address: string) {
  return {
    listening: address,
    publicUrl: config.PUBLIC_URL.href,
    docs: publicUrl(config.PUBLIC_URL, '/docs').href,
    adminToken: process.env.ADMIN_TOKEN
      ? 'the ADMIN_TOKEN variable'
      : `ADMIN_TOKEN in ${join(config.DATA_DIR, 'secrets.json')}`,
  }
}
