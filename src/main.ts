// The broker process: --help, .env, the configuration (every problem at once), tracing when asked for, then serve.ts.
import { configHelp, loadConfig, loadEnvFile } from './config.js'
import { ConfigError } from './errors.js'
import { createLogger } from './logger.js'
import { loadCatalogue, type LoadedTemplates } from './providers/templates/catalogue.js'
import type { ProviderInput } from './services/provider-input.js'
import { loadProvidersFile } from './services/providers-file.js'

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(configHelp())
    return
  }
  let loaded
  let providers: ProviderInput[] = []
  let templates: LoadedTemplates
  const envFileWarning = loadEnvFile()
  try {
    loaded = loadConfig(process.env, { stdoutIsTTY: process.stdout.isTTY === true })
    templates = loadCatalogue(loaded.config.TEMPLATES_FILE)
    if (loaded.config.PROVIDERS_FILE) {
      providers = loadProvidersFile(loaded.config.PROVIDERS_FILE, templates.catalogue)
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const problem of err.problems) console.error(`invalid configuration: ${problem.message}`)
      process.exit(1)
    }
    throw err
  }
  const { config, warnings } = loaded
  const tracing = config.OTEL_EXPORTER_OTLP_ENDPOINT ? await (await import('./telemetry.js')).startTracing() : undefined
  const logger = createLogger({
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
    ...(tracing ? { mixin: tracing.logFields } : {}),
  })
  for (const warning of envFileWarning ? [envFileWarning, ...warnings] : warnings) logger.warn(warning)
  for (const notice of templates.notices) logger.warn(`TEMPLATES_FILE: ${notice}`)
  if (tracing) logger.info({ endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT?.origin }, 'tracing to OTLP/HTTP')
  // imported only now: with tracing on, the HTTP server and the database driver must load after its hooks
  const { serve } = await import('./serve.js')
  await serve({
    config,
    logger,
    providers,
    templates: templates.catalogue,
    ...(tracing ? { afterClose: tracing.shutdown } : {}),
  })
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? `failed to start: ${err.message}` : err)
  process.exit(1)
})
