// YAML (a superset of JSON) for the files an operator gives: loaded on first use, since a start with neither
// TEMPLATES_FILE nor PROVIDERS_FILE reads none (the built-in templates come parsed from the build).
import { createRequire } from 'node:module'

type Parse = (text: string) => unknown
let parse: Parse | undefined

export function parseYaml(text: string): unknown {
  parse ??= (createRequire(import.meta.url)('yaml') as { parse: Parse }).parse
  return parse(text)
}
