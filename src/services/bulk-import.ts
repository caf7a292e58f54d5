// A bulk import: NDJSON, one import object per line, for migrations of thousands of connections. Lines are imported
// independently (one refused line refuses only itself), a few at a time, and lines of the same connection one after
// the other, so that two lines never present the same refresh token at once.
import type { Logger } from 'pino'
import { recordAudit } from '../db/audit.js'
import type { Db } from '../db/client.js'
import type { Provider } from '../db/generated/client.js'
import { BrokerError, invalidRequest } from '../errors.js'
import { DEFAULT_NAMESPACE } from '../schemas/ids.js'
import { ImportBody, type ImportSummary } from '../schemas/import.js'
import { validator } from '../schemas/validate.js'
import type { Imports } from './imports.js'

/** Lines one request may carry; the body limit of the route bounds their size. */
export const MAX_BULK_LINES = 20_000
export const BULK_BODY_LIMIT_BYTES = 16 * 1024 * 1024
const CONCURRENCY = 4

const checkLine = validator(ImportBody)

type LineResult =
  | { kind: 'stored'; outcome: 'imported' | 'updated' | 'unchanged'; refreshed: boolean }
  | {
      kind: 'refused'
      error: string
      message: string
    }

export function createBulkImport(deps: { db: Db; log: Pick<Logger, 'error'> }, imports: Imports) {
  async function importLine(text: string, providers: Map<string, Promise<Provider | null>>): Promise<LineResult> {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return { kind: 'refused', error: 'invalid_request', message: 'the line is not JSON' }
    }
    const checked = checkLine(parsed)
    if (!checked.ok) return { kind: 'refused', error: 'invalid_request', message: checked.errors.join('; ') }
    try {
      const outcome = await imports.import(checked.value, providers)
      return { kind: 'stored', outcome: outcome.kind, refreshed: outcome.refreshed }
    } catch (err) {
      if (err instanceof BrokerError) return { kind: 'refused', error: err.code, message: err.message }
      deps.log.error({ errorName: err instanceof Error ? err.name : 'unknown' }, 'a bulk import line failed')
      return { kind: 'refused', error: 'internal_error', message: 'the line could not be stored' }
    }
  }

  return {
    async importNdjson(body: string): Promise<ImportSummary> {
      const lines = body.split('\n')
      const summary: ImportSummary = { imported: 0, updated: 0, unchanged: 0, refreshed: 0, refused: 0, errors: [] }
      const providers = new Map<string, Promise<Provider | null>>()
      // the lines of one connection run in file order, each after the one before
      const byConnection = new Map<string, Promise<void>>()
      const pending = lines
        .map((text, index) => ({ text: text.trim(), line: index + 1 }))
        .filter(({ text }) => text !== '')
      if (pending.length > MAX_BULK_LINES) {
        throw invalidRequest(`at most ${MAX_BULK_LINES} lines per request; split the file`)
      }
      let next = 0
      const record = (line: number, result: LineResult) => {
        if (result.kind === 'refused') {
          summary.refused += 1
          summary.errors.push({ line, error: result.error, message: result.message })
          return
        }
        summary[result.outcome] += 1
        if (result.refreshed) summary.refreshed += 1
      }
      const worker = async () => {
        while (next < pending.length) {
          const { text, line } = pending[next++] as { text: string; line: number }
          const key = connectionKeyOf(text)
          const before = (key && byConnection.get(key)) || Promise.resolve()
          const run = before.then(async () => record(line, await importLine(text, providers)))
          if (key) byConnection.set(key, run)
          await run
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker))
      summary.errors.sort((a, b) => a.line - b.line)
      await recordAudit(deps.db, {
        actor: 'admin',
        action: 'connection.bulk_imported',
        subjectType: 'connection',
        detail: {
          lines: pending.length,
          imported: summary.imported,
          updated: summary.updated,
          unchanged: summary.unchanged,
          refreshed: summary.refreshed,
          refused: summary.refused,
        },
      })
      return summary
    },
  }
}

/** The connection a line names, to order lines of the same one; undefined for a line that will be refused anyway. */
function connectionKeyOf(text: string): string | undefined {
  try {
    const { namespace, provider, userId } = JSON.parse(text) as Record<string, unknown>
    return JSON.stringify([namespace ?? DEFAULT_NAMESPACE, provider, userId])
  } catch {
    return undefined
  }
}

export type BulkImport = ReturnType<typeof createBulkImport>
