// README.md's catalogue table is generated from templates/*.yaml (npm run templates:readme): it must be current.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { readmeFile, readmeWithTable } from '../../scripts/templates-table.js'
import { builtinTemplates } from '../../src/providers/templates/catalogue.js'

t.test('the README lists every template as npm run templates:readme writes it', async (t) => {
  const readme = readFileSync(readmeFile, 'utf8')
  t.equal(readme, await readmeWithTable(readme), 'run `npm run templates:readme` and commit README.md')
  for (const template of builtinTemplates()) {
    t.ok(readme.includes(`| \`${template.name}\``) && readme.includes(`](${template.docsUrl})`), template.name)
  }
})
