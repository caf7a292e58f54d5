// PROVIDERS_FILE: providers declared in JSON or YAML, upserted at start. Client secrets are never in the file:
// each entry names the environment variable that holds its secret (`clientSecretEnv`).
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { BrokerError, ConfigError } from '../errors.js'
import { parseProviderInput, type ProviderInput } from './provider-input.js'
import { upsertProvider, type ProviderDeps } from './providers.js'

const VARIABLE = 'PROVIDERS_FILE'
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/

type Env = Record<string, string | undefined>

/** Reads and validates the file; every problem is a ConfigError naming the entry and field or variable. */
export function loadProvidersFile(path: string, env: Env = process.env): ProviderInput[] {
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
    const { clientSecretEnv, clientSecret, ...rest } = entry
    if (clientSecret !== undefined) {
      throw new ConfigError(VARIABLE, `${name}: give clientSecretEnv (an environment variable), not clientSecret`)
    }
    if (typeof clientSecretEnv !== 'string' || !ENV_NAME.test(clientSecretEnv)) {
      throw new ConfigError(VARIABLE, `${name}: clientSecretEnv must name an environment variable`)
    }
    const secret = env[clientSecretEnv]
    if (!secret) throw new ConfigError(VARIABLE, `${name}: environment variable ${clientSecretEnv} is not set`)
    let input: ProviderInput
    try {
      input = parseProviderInput({ ...rest, clientSecret: secret }, { requireSecret: true })
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
  deps: ProviderDeps,
  inputs: ProviderInput[],
): Promise<Record<'created' | 'updated' | 'unchanged', string[]>> {
  const result: Record<'created' | 'updated' | 'unchanged', string[]> = { created: [], updated: [], unchanged: [] }
  for (const input of inputs) result[await upsertProvider(deps, input, 'system')].push(input.id)
  return result
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
