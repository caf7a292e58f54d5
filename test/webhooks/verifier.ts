// The verification snippet of README.md, loaded as a module: the documented procedure is the one the tests use.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

export type Verify = (
  secret: string,
  headers: Record<string, string | undefined>,
  rawBody: string,
  options?: { toleranceSeconds?: number; now?: number },
) => unknown

let loaded: Promise<Verify> | undefined

export function readmeVerifier(): Promise<Verify> {
  loaded ??= load()
  return loaded
}

async function load(): Promise<Verify> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('### Verifying a delivery'))
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1]
  if (!code) throw new Error('README.md has no verification snippet')
  const dir = mkdtempSync(join(tmpdir(), 'tb-readme-'))
  try {
    writeFileSync(join(dir, 'verify.mjs'), code)
    return ((await import(pathToFileURL(join(dir, 'verify.mjs')).href)) as { verifyWebhook: Verify }).verifyWebhook
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
