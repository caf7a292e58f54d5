// Process entry: configuration, database, migrations, listen, graceful close.
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { openDatabase } from './db/client.js'
import { migrate } from './db/migrations.js'
import { ConfigError } from './errors.js'
import { createLogger } from './logger.js'
import { loadCatalogue, type LoadedTemplates } from './providers/templates/catalogue.js'
import type { ProviderInput } from './services/provider-input.js'
import { applyProvidersFile, loadProvidersFile } from './services/providers-file.js'

async function main(): Promise<void> {
  let loaded
  let providers: ProviderInput[] = []
  let templates: LoadedTemplates
  try {
    loaded = loadConfig()
    templates = loadCatalogue(loaded.config.TEMPLATES_FILE)
    if (loaded.config.PROVIDERS_FILE) {
      providers = loadProvidersFile(loaded.config.PROVIDERS_FILE, templates.catalogue)
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`invalid configuration: ${err.message}`)
      process.exit(1)
    }
    throw err
  }
  const { config, warnings } = loaded
  const logger = createLogger(config.LOG_LEVEL)
  for (const warning of warnings) logger.warn(warning)
  for (const notice of templates.notices) logger.warn(`TEMPLATES_FILE: ${notice}`)

  // PGlite is loaded only when it is used
  const embedded = config.DATABASE_URL
    ? undefined
    : await (await import('./db/embedded.js')).startEmbeddedDatabase(config.DATA_DIR)
  const url = config.DATABASE_URL?.href ?? (embedded as { url: string }).url
  const database = openDatabase({ url, poolSize: embedded?.poolSize ?? 10 })
  const applied = await migrate(database, url)
  if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied')
  const app = await buildApp({ config, database, logger, templates: templates.catalogue })
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
    app.close().then(
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

  await app.listen({ port: config.PORT, host: config.HOST })
  logger.info({ publicUrl: config.PUBLIC_URL.href }, 'token-broker ready')
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? `failed to start: ${err.message}` : err)
  process.exit(1)
})
