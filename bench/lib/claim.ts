// The scheduler's claim statement, timed as it runs: the SQL comes from src/db/connection-leases.ts, executed by
// the same driver, inside a transaction that is rolled back so nothing is leased or changed.
import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { claimDueConnectionsSql } from '../../src/db/connections/index.js'
import { median } from './load.js'

export interface ClaimFigures {
  /** Connections made due inside the transaction before the claims (0: an idle tick). */
  due: number
  claimed: number
  medianMs: number
  p95Ms: number
  /** EXECUTE time Postgres reports for one claim under EXPLAIN ANALYZE. */
  explainMs: number
  /** The plan's nodes, outermost first, with the index each scan uses. */
  plan: string
}

interface PlanNode {
  'Node Type': string
  'Index Name'?: string
  'Relation Name'?: string
  Plans?: PlanNode[]
}

function describe(node: PlanNode): string[] {
  const label = node['Index Name']
    ? `${node['Node Type']} (${node['Index Name']})`
    : node['Relation Name']
      ? `${node['Node Type']} (${node['Relation Name']})`
      : node['Node Type']
  return [label, ...(node.Plans ?? []).flatMap(describe)]
}

/** Makes `due` random connections due, then claims `limit` of them `iterations` times, each claim undone. */
export async function timeClaim(
  pool: pg.Pool,
  { due, limit, iterations }: { due: number; limit: number; iterations: number },
): Promise<ClaimFigures> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    if (due > 0) {
      await client.query(
        `UPDATE connections SET next_refresh_at = now() - random() * interval '60 seconds'
         WHERE id IN (SELECT id FROM connections ORDER BY random() LIMIT $1)`,
        [due],
      )
    }
    const terms = () => {
      const now = new Date()
      return { owner: `bench/${randomUUID()}`, now, until: new Date(now.getTime() + 60_000), limit, exclude: [] }
    }
    const times: number[] = []
    let claimed = 0
    for (let i = 0; i < iterations; i++) {
      const sql = claimDueConnectionsSql(terms())
      await client.query('SAVEPOINT claim')
      const started = performance.now()
      const { rowCount } = await client.query(sql.text, sql.values)
      times.push(performance.now() - started)
      claimed = rowCount ?? 0
      await client.query('ROLLBACK TO SAVEPOINT claim')
    }
    const sql = claimDueConnectionsSql(terms())
    const explained = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql.text}`, sql.values)
    const [report] = explained.rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode; 'Execution Time': number }>
    await client.query('ROLLBACK')
    const sorted = [...times].sort((a, b) => a - b)
    return {
      due,
      claimed,
      medianMs: median(times),
      p95Ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] as number,
      explainMs: report?.['Execution Time'] ?? NaN,
      plan: report ? describe(report.Plan).join(' → ') : '',
    }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}
