// `prisma generate` insists on a schema-engine binary being present although it never runs it; where none
// could be downloaded, point it at any existing file.
import { spawnSync } from 'node:child_process'

const env = { ...process.env }
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath
env.PRISMA_HIDE_UPDATE_MESSAGE = '1'
const result = spawnSync('npx', ['prisma', 'generate'], { stdio: 'inherit', env })
process.exit(result.status ?? 1)
