// The catalogue of provider templates: the built-in ones (templates/*.yaml, one provider a file) and those of
// TEMPLATES_FILE, which add to them or replace them by name. Every template is held to one schema and the rules below.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../../errors.js'
import { Template } from '../../schemas/template.js'
import { validator } from '../../schemas/validate.js'
import { parseYaml } from '../../schemas/yaml.js'
import { isNangoEntry, mapNangoEntry } from './nango.js'
import { placeholdersIn } from './placeholders.js'

export const TEMPLATES_DIR = fileURLToPath(new URL('../../../templates/', import.meta.url))

const checkTemplate = validator(Template)
// Metadata is answered beside the token to every caller: it must never be a credential.
const SECRET_NAME = /token|secret|password|code_verifier/i

/** What is wrong with a template beyond its schema: placeholders without a field, metadata naming a secret. */
export function templateProblems(template: Template): string[] {
  const problems: string[] = []
  const declared = new Set((template.connectionConfig ?? []).map((field) => field.name))
  const texts = [
    template.issuer,
    template.authorizationEndpoint,
    template.tokenEndpoint,
    template.refreshEndpoint,
    template.revocationEndpoint,
    ...Object.values(template.authorizationParams ?? {}),
  ]
  for (const name of texts.flatMap((text) => (text ? placeholdersIn(text) : []))) {
    if (!declared.has(name)) problems.push(`\${connectionConfig.${name}} is not among its connectionConfig`)
  }
  for (const field of template.connectionConfig ?? []) {
    try {
      new RegExp(field.pattern ?? '')
    } catch {
      problems.push(`connectionConfig ${field.name}: pattern is not a regular expression`)
    }
  }
  for (const path of template.metadata?.tokenResponse ?? []) {
    if (path.split('.').some((part) => SECRET_NAME.test(part))) problems.push(`metadata ${path} names a secret`)
  }
  if (template.authMode === 'oauth2' && template.issuer) problems.push('an oauth2 template has endpoints, not issuer')
  return problems
}

/** Checks one template: the value as a Template, or what is wrong with it. */
export function parseTemplate(value: unknown): { ok: true; template: Template } | { ok: false; errors: string[] } {
  const checked = checkTemplate(value)
  if (!checked.ok) return checked
  const problems = templateProblems(checked.value)
  return problems.length > 0 ? { ok: false, errors: problems } : { ok: true, template: checked.value }
}

/**
 * Written by `npm run build` beside the compiled code: the built-in templates parsed and checked, with a digest of the
 * files they came from. A start then reads the files only to compare the digest, and loads neither the YAML parser
 * nor the template schema; when the files have changed since the build, they are parsed as without it.
 */
export const BUILT_TEMPLATES = fileURLToPath(new URL('../../builtin-templates.json', import.meta.url))

interface TemplateFile {
  file: string
  text: string
}

function templateFiles(dir: string): TemplateFile[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }))
}

function digestOf(files: TemplateFile[]): string {
  const hash = createHash('sha256')
  for (const { file, text } of files) hash.update(file).update('\0').update(text).update('\0')
  return hash.digest('hex')
}

function parseFiles(files: TemplateFile[]): Template[] {
  return files.map(({ file, text }) => {
    const parsed = parseTemplate(parseYaml(text))
    if (!parsed.ok) throw new Error(`template ${file}: ${parsed.errors.join('; ')}`)
    if (`${parsed.template.name}.yaml` !== file) throw new Error(`template ${file} is named ${parsed.template.name}`)
    return parsed.template
  })
}

/** The built-in templates; a broken one is a bug of ours, so it stops the start with its file named. */
export function builtinTemplates(dir = TEMPLATES_DIR, built = BUILT_TEMPLATES): Template[] {
  const files = templateFiles(dir)
  let saved: { digest?: unknown; templates?: Template[] } | undefined
  try {
    saved = JSON.parse(readFileSync(built, 'utf8')) as typeof saved
  } catch {
    // not built (run from source), or unreadable: parsed below
  }
  if (saved?.digest === digestOf(files) && Array.isArray(saved.templates)) return saved.templates
  return parseFiles(files)
}

/** The build's step: parses and checks the built-in templates and writes them where builtinTemplates looks. */
export function writeBuiltTemplates(dir = TEMPLATES_DIR, built = BUILT_TEMPLATES): string {
  const files = templateFiles(dir)
  writeFileSync(built, JSON.stringify({ digest: digestOf(files), templates: parseFiles(files) }))
  return built
}

export class TemplateCatalogue {
  readonly #templates: Map<string, Template>

  constructor(templates: Iterable<Template>) {
    this.#templates = new Map([...templates].map((template) => [template.name, template]))
  }

  get(name: string): Template | undefined {
    return this.#templates.get(name)
  }

  /** Every template, by name. */
  list(): Template[] {
    return [...this.#templates.values()].sort((a, b) => a.name.localeCompare(b.name))
  }
}

const VARIABLE = 'TEMPLATES_FILE'

export interface LoadedTemplates {
  catalogue: TemplateCatalogue
  /** One line per entry of TEMPLATES_FILE that had fields we ignored or was skipped: for the start log. */
  notices: string[]
}

/** The built-in catalogue, with the templates of `file` (ours or Nango's format) added over it. */
export function loadCatalogue(file?: string, builtin: Template[] = builtinTemplates()): LoadedTemplates {
  if (!file) return { catalogue: new TemplateCatalogue(builtin), notices: [] }
  const known = new Map(builtin.map((template) => [template.name, template as Record<string, unknown>]))
  const notices: string[] = []
  const added: Template[] = []
  for (const [name, entry] of entriesOf(file)) {
    let value: Record<string, unknown> = entry
    if (isNangoEntry(entry)) {
      const mapped = mapNangoEntry(name, entry, (alias) => known.get(alias))
      if ('unsupported' in mapped) {
        notices.push(`${name}: skipped, ${mapped.unsupported}`)
        continue
      }
      if (mapped.ignored.length > 0) notices.push(`${name}: ignored ${mapped.ignored.join(', ')}`)
      value = mapped.template
    }
    const parsed = parseTemplate({ name, ...value })
    if (!parsed.ok) throw new ConfigError(VARIABLE, `template ${name}: ${parsed.errors.join('; ')}`)
    known.set(name, parsed.template)
    added.push(parsed.template)
  }
  return { catalogue: new TemplateCatalogue([...builtin, ...added]), notices }
}

/** The entries of the file by name: a list of our templates, or a map of name to entry (Nango's layout). */
function entriesOf(file: string): Array<[string, Record<string, unknown>]> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(VARIABLE, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  let document: unknown
  try {
    // YAML is a superset of JSON: one parser reads both
    document = parseYaml(text)
  } catch {
    throw new ConfigError(VARIABLE, `${file} is neither valid JSON nor YAML`)
  }
  const list = Array.isArray(document) ? document : (document as { templates?: unknown } | null)?.templates
  const entries: Array<[string, unknown]> = Array.isArray(list)
    ? list.map((entry: unknown, index) => [String((entry as { name?: unknown })?.name ?? `entry ${index + 1}`), entry])
    : isRecord(document)
      ? Object.entries(document)
      : []
  if (entries.length === 0) throw new ConfigError(VARIABLE, `${file} must hold a list or a map of templates`)
  return entries.map(([name, entry]) => {
    if (!isRecord(entry)) throw new ConfigError(VARIABLE, `template ${name} must be an object`)
    return [name, entry]
  })
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
