// Prisma's WebAssembly schema engine (applies migrations without the native binary) is loaded from
// @prisma/internals/build/, but the file ships in @prisma/schema-engine-wasm. Put it where the loader looks.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)
const packageDir = (name, entry) => {
  let dir = dirname(require.resolve(entry))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
}
let internals, engine
try {
  internals = packageDir('@prisma/internals', '@prisma/internals')
  engine = packageDir('@prisma/schema-engine-wasm', '@prisma/schema-engine-wasm/schema_engine_bg')
} catch {
  process.exit(0) // not installed: nothing to place
}
const source = join(engine, 'schema_engine_bg.wasm')
const target = join(internals, 'build', 'schema_engine_bg.wasm')
if (!existsSync(target) && existsSync(source)) {
  mkdirSync(dirname(target), { recursive: true })
  copyFileSync(source, target)
}
