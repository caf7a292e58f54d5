// PROVIDERS_FILE: providers declared in JSON or YAML, upserted at start. Client secrets are never in the file:
// each entry names the environment variable that holds its secret (`clientSecretEnv`, a list of them during a
// rotation) or its private_key_jwt key (`privateKeyEnv`). Entries are checked by the provider schema the admin API
// uses, then by the same rules.
import { readFileSync } from 'node:fs'
import { BrokerError, ConfigError } from '../errors.js'
import { ProviderFileEntry } from '../schemas/provider.js'
import type { TemplateCatalogue } from '../providers/templates/catalogue.js'
import { validator } from '../schemas/validate.js'
import { parseYaml } from '../schemas/yaml.js'
import { parseProviderInput, type ProviderInput } from './provider-input.js'
import type { ProviderService } from './providers.js'

const VARIABLE = 'PROVIDERS_FILE'
const checkEntry = validator(ProviderFileEntry)

type Env = Record<string, string | undefined>

/** Reads and validates the file; every problem is a ConfigError naming the entry and field or variable. */
export function loadProvidersFile(path: string, templates: TemplateCatalogue, env: Env = process.env): ProviderInput[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(VARIABLE, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  let document: unknown
  try {
    // YAML is a superset of JSON: one parser reads both
    document = parseYaml(text)
  } catch {
    throw new ConfigError(VARIABLE, `${path} is neither valid JSON nor valid YAML`)
  }
  const entries = Array.isArray(document) ? document : (document as { providers?: unknown } | null)?.providers
  if (!Array.isArray(entries)) throw new ConfigError(VARIABLE, `${path} must hold a list of providers`)

  const seen = new Set<string>()
  return entries.map((entry: unknown, index) => {
    const name = `provider ${index + 1}${isRecord(entry) && typeof entry.id === 'string' ? ` (${entry.id})` : ''}`
    if (!isRecord(entry)) throw new ConfigError(VARIABLE, `${name} must be an object`)
    for (const field of ['clientSecret', 'privateKey'] as const) {
      if (entry[field] !== undefined) {
        throw new ConfigError(VARIABLE, `${name}: give ${field}Env (an environment variable), not ${field}`)
      }
    }
    const checked = checkEntry(entry)
    if (!checked.ok) throw new ConfigError(VARIABLE, `${name}: ${checked.errors.join('; ')}`)
    const { clientSecretEnv, privateKeyEnv, ...fields } = checked.value
    const read = (variable: string) => {
      const value = env[variable]
      if (!value) throw new ConfigError(VARIABLE, `${name}: environment variable ${variable} is not set`)
      return value
    }
    const fromEnv = (variable: string | undefined) => (variable === undefined ? undefined : read(variable))
    // a list during a rotation: its secrets in that order, as a list clientSecret
    const clientSecret = Array.isArray(clientSecretEnv) ? clientSecretEnv.map(read) : fromEnv(clientSecretEnv)
    const privateKey = fromEnv(privateKeyEnv)
    if (clientSecret === undefined && privateKey === undefined) {
      throw new ConfigError(VARIABLE, `${name}: give clientSecretEnv, or privateKeyEnv with private_key_jwt`)
    }
    let input: ProviderInput
    try {
      input = parseProviderInput(
        {
          ...fields,
          ...(clientSecret === undefined ? {} : { clientSecret }),
          ...(privateKey === undefined ? {} : { privateKey }),
        },
        { requireSecret: true, templates },
      )
    } catch (err) {
      if (err instanceof BrokerError) throw new ConfigError(VARIABLE, `${name}: ${err.message}`)
      throw err
    }
    if (seen.has(input.id)) throw new ConfigError(VARIABLE, `${name}: id ${input.id} appears twice`)
    seen.add(input.id)
    return input
  })
}

/** Upserts every provider of the file; providers not in the file are left alone. */
export async function applyProvidersFile(
  providers: Pick<ProviderService, 'upsert'>,
  inputs: ProviderInput[],
): Promise<Record<'created' | 'updated' | 'unchanged', string[]>> {
  const result: Record<'created' | 'updated' | 'unchanged', string[]> = { created: [], updated: [], unchanged: [] }
  for (const input of inputs) result[await providers.upsert(input, 'system')].push(input.id)
  return result
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
