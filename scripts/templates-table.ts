// Writes the catalogue table of README.md ("Connect a provider") from templates/*.yaml: `npm run templates:readme`.
// test/providers/catalogue-readme.test.ts checks the README holds the table as this writes it.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as prettier from 'prettier'
import { builtinTemplates } from '../src/providers/templates/catalogue.js'

export const readmeFile = fileURLToPath(new URL('../README.md', import.meta.url))
const START = '<!-- templates:start (npm run templates:readme) -->'
const END = '<!-- templates:end -->'

const cell = (text: string) => text.replaceAll('|', '\\|')

/** The README with its catalogue table written anew, formatted as the repository's Prettier settings say. */
export async function readmeWithTable(readme = readFileSync(readmeFile, 'utf8')): Promise<string> {
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${START} … ${END}`)
  const rows = builtinTemplates().map((template) => {
    const config = (template.connectionConfig ?? []).map((field) => `\`${field.name}\``).join(', ')
    const scopes = (template.scopes ?? []).map((scope) => `\`${scope}\``).join(' ')
    return `| \`${template.name}\` | [${cell(template.displayName)}](${template.docsUrl}) | ${template.authMode} | ${config} | ${scopes} |`
  })
  const table = [
    '| template | provider (documentation) | mode | `connectionConfig` | default scopes |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n')
  const written = `${readme.slice(0, start + START.length)}\n\n${table}\n\n${readme.slice(end)}`
  const options = (await prettier.resolveConfig(readmeFile)) ?? {}
  return prettier.format(written, { ...options, filepath: readmeFile })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(readmeFile, await readmeWithTable())
  console.log(`wrote the catalogue table of ${readmeFile}`)
}
