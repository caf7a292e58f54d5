// The build writes the built-in templates parsed (dist/builtin-templates.json); a start uses them only while they
// come from the same files, and otherwise parses the files as without a build.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { builtinTemplates, TEMPLATES_DIR, writeBuiltTemplates } from '../../src/providers/templates/catalogue.js'

t.test('the built file gives the templates the YAML files give, and only while the files are unchanged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-templates-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const templates = join(dir, 'templates')
  const built = join(dir, 'built.json')
  // a copy of the catalogue's files, so that one can be changed
  mkdirSync(templates)
  for (const file of readdirSync(TEMPLATES_DIR)) copyFileSync(join(TEMPLATES_DIR, file), join(templates, file))

  const parsed = builtinTemplates(templates, join(dir, 'absent.json'))
  t.ok(parsed.length > 30, 'the catalogue parsed from YAML')
  writeBuiltTemplates(templates, built)
  t.same(builtinTemplates(templates, built), parsed, 'the built file answers the same templates')

  // a built file whose templates differ from the files' is used only while its digest matches them
  const saved = JSON.parse(readFileSync(built, 'utf8')) as { digest: string; templates: Array<{ name: string }> }
  writeFileSync(
    built,
    JSON.stringify({ ...saved, templates: [{ ...saved.templates[0], displayName: 'from the build' }] }),
  )
  t.equal(builtinTemplates(templates, built).length, 1, 'the build is what a start reads while the files match it')

  const github = join(templates, 'github.yaml')
  writeFileSync(github, readFileSync(github, 'utf8').replace(/^displayName: .*$/m, 'displayName: GitHub (edited)'))
  const after = builtinTemplates(templates, built)
  t.equal(after.length, parsed.length, 'an edited file: the files are parsed again, the build is not used')
  t.equal(after.find((template) => template.name === 'github')?.displayName, 'GitHub (edited)')

  writeFileSync(built, 'not json')
  t.same(builtinTemplates(TEMPLATES_DIR, built), parsed, 'an unreadable build file is ignored')
})
