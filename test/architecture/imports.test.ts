// The layers of src/ (README, "Code map"): http → services → db, crypto, providers, webhooks; nothing below the HTTP
// layer knows of Fastify, and no module reaches itself through its imports (type imports included). ESLint holds the
// first rule file by file (eslint.config.js); this checks both over the whole tree as the compiler resolves it.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const src = join(root, 'src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** Every module a file imports or re-exports, type-only ones too: project files as paths, packages by name. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  return importedFiles.map(({ fileName }) =>
    fileName.startsWith('.') ? resolve(dirname(file), fileName).replace(/\.js$/, '.ts') : fileName,
  )
}

const files = sourceFiles(src)
const graph = new Map(files.map((file) => [file, importsOf(file)]))
const name = (file: string) => relative(root, file)

t.test('nothing below the HTTP layer imports it, the app, or Fastify', async (t) => {
  const lower = ['services', 'db', 'providers', 'crypto', 'webhooks', 'scheduler', 'schemas', 'urls']
  const forbidden = (target: string) =>
    target.startsWith(join(src, 'http') + '/') ||
    target === join(src, 'app.ts') ||
    /^(fastify|fastify-plugin|@fastify\/.*)$/.test(target)
  let checked = 0
  for (const [file, imports] of graph) {
    if (!lower.some((folder) => file.startsWith(join(src, folder) + '/'))) continue
    checked += 1
    const wrong = imports.filter(forbidden).map((target) => (target.startsWith('/') ? name(target) : target))
    t.same(wrong, [], `${name(file)} imports nothing above its layer`)
  }
  t.ok(checked > 40, `${checked} files below the HTTP layer checked`)
})

t.test('no import cycle', async (t) => {
  const state = new Map<string, 'visiting' | 'done'>()
  const cycles: string[] = []
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].map(name).join(' → '))
      return
    }
    state.set(file, 'visiting')
    for (const target of graph.get(file) ?? []) if (graph.has(target)) visit(target, [...path, file])
    state.set(file, 'done')
  }
  for (const file of files) visit(file, [])
  t.same(cycles, [], 'no module reaches itself')
  t.ok(graph.size > 80, `${graph.size} modules read`)
})

t.test('TypeBox is a type engine only: no module of src/ loads it at run time', async (t) => {
  const loading: string[] = []
  let typeOnly = 0
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest)
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue
      const from = statement.moduleSpecifier
      if (!from || !ts.isStringLiteral(from) || !/^typebox(\/|$)/.test(from.text)) continue
      // `import type` and `export type` only: the compiler erases them whatever its settings
      const erased = ts.isImportDeclaration(statement) ? statement.importClause?.isTypeOnly : statement.isTypeOnly
      if (erased) typeOnly += 1
      else loading.push(`${name(file)}: ${statement.getText(source)}`)
    }
  }
  t.same(loading, [], 'every import of typebox is a type import')
  t.ok(typeOnly >= 3, `${typeOnly} type imports of typebox`)
})
