// Runs once before the suite: builds the migrated template database every test file copies.
import { ensureTemplate } from './database.js'

await ensureTemplate()
// the schema engine leaves a timer behind
process.exit(0)
