import { setTimeout as sleep } from 'node:timers/promises'
import {
  claimDueConnections,
  leaseTerms,
  newLeaseOwner,
  releaseLease,
  type ConnectionWithProvider,
} from '../db/connections/index.js'
import type { Deps } from '../deps.js'
import type { ProviderCircuits } from '../providers/circuits.js'
import type { RefreshResult, RefreshService } from '../services/refresh.js'
import { ClaimedInTick } from './claimed-in-tick.js'

export interface TickReport {
  claimed: number
  refreshed: number
  failed: number
  reauthorizationRequired: number
  /** Claimed but nothing to do (refreshed meanwhile), or the outcome could not be stored. */
  other: number
}

type SchedulerDeps = Pick<Deps, 'db' | 'metrics' | 'now' | 'instanceId' | 'log' | 'config' | 'timing'>

/**
 * The refresh daemon. Each tick leases the connections whose nextRefreshAt has passed (it already includes
 * the refresh margin: the provider's, else REFRESH_WINDOW_SECONDS capped at half the token lifetime), a few at
 * a time so that a lease is never held long before its refresh starts, and keeps `concurrency` refreshes in
 * flight until nothing is due. A connection is refreshed at most once per tick.
 */
export interface ScheduledWork {
  refresher: RefreshService
  /** The providers' circuits, shared with the refreshes callers ask for. */
  circuits: ProviderCircuits
  /** Revokes and drops the grants of confirmed flows nobody confirmed in time. */
  sweepUnconfirmed: () => Promise<number>
  /** Sends connection.expiring for refresh tokens about to expire, once each. */
  warnExpiring?: () => Promise<number>
  /** Deletes a batch of webhook deliveries past their retention; returns how many. */
  pruneDeliveries: () => Promise<number>
}

export interface SchedulerOptions {
  /** Transient failures in a row after which a provider's circuit opens (default 5). */
  circuitThreshold?: number
}

export function createRefreshScheduler(
  deps: SchedulerDeps,
  { refresher, circuits, sweepUnconfirmed, warnExpiring, pruneDeliveries }: ScheduledWork,
) {
  const { db, metrics, log } = deps
  const concurrency = deps.config.REFRESH_CONCURRENCY
  // one provider's share of the slots while others have work due: a slow provider leaves the rest to the others
  const share = Math.max(1, Math.ceil(concurrency / 2))
  // refreshes in flight per provider, over the ticks (a tick finishes what it started, so none overlap)
  const runningByProvider = new Map<string, number>()
  const intervalSeconds = deps.config.REFRESH_INTERVAL_SECONDS
  const leasePolicy = { instanceId: deps.instanceId, now: deps.now, leaseSeconds: deps.timing.leaseSeconds }
  // Claims wait until a quarter of the slots are free: a claim is a round trip, and one per refresh cost about a
  // tenth of the broker's CPU in a backlog; a claimed row is still leased only moments before its refresh starts.
  const claimBatch = Math.max(1, Math.floor(concurrency / 4))
  let controller: AbortController | undefined
  let loop: Promise<void> | undefined

  /**
   * Claims up to `limit` due connections, at most `perProvider` per provider counting those in flight (one for a
   * provider whose circuit is open). `capped`: some provider's limit held rows back, so more may be due.
   */
  async function claim(
    limit: number,
    seen: ClaimedInTick,
    perProvider: number,
    probed: ReadonlySet<string>,
  ): Promise<{ owner: string; rows: ConnectionWithProvider[]; capped: boolean }> {
    const terms = leaseTerms(leasePolicy, newLeaseOwner(deps.instanceId))
    // only those that could be due now: the statement stays small however many this tick refreshes
    const exclude = seen.exclude(terms.now.getTime())
    const providerLimits = new Map<string, number>()
    for (const provider of new Set([...runningByProvider.keys(), ...circuits.open()])) {
      // an open circuit: one probe per tick
      const limitOf = circuits.isOpen(provider) ? (probed.has(provider) ? 0 : 1) : perProvider
      providerLimits.set(provider, Math.max(0, limitOf - (runningByProvider.get(provider) ?? 0)))
    }
    const rows = await claimDueConnections(db, { ...terms, limit, exclude, perProvider, providerLimits })
    const claimedBy = new Map<string, number>()
    for (const row of rows) claimedBy.set(row.providerId, (claimedBy.get(row.providerId) ?? 0) + 1)
    const capped =
      [...providerLimits.values()].some((remaining) => remaining === 0) ||
      [...claimedBy].some(([provider, count]) => count >= (providerLimits.get(provider) ?? perProvider))
    return { owner: terms.owner, rows, capped }
  }

  function track(providerId: string, delta: number): void {
    const running = (runningByProvider.get(providerId) ?? 0) + delta
    if (running > 0) runningByProvider.set(providerId, running)
    else runningByProvider.delete(providerId)
  }

  async function refreshClaimed(row: ConnectionWithProvider, owner: string): Promise<RefreshResult | undefined> {
    try {
      return await refresher.refresh(row.id, {
        need: { kind: 'due' },
        trigger: 'scheduler',
        actor: 'system',
        claimed: { row, owner },
      })
    } catch (err) {
      log.error({ err, connectionId: row.id }, 'scheduled refresh failed')
      await releaseLease(db, row.id, owner).catch(() => {})
      return undefined
    }
  }

  /** Refreshes everything due now; stops claiming when `signal` aborts, and finishes what it started. */
  async function tick(signal?: AbortSignal): Promise<TickReport> {
    const report: TickReport = { claimed: 0, refreshed: 0, failed: 0, reauthorizationRequired: 0, other: 0 }
    try {
      const swept = await sweepUnconfirmed()
      if (swept > 0) log.info({ swept }, 'unconfirmed grants revoked')
    } catch (err) {
      log.warn({ err }, 'revoking unconfirmed grants failed')
    }
    try {
      const warned = (await warnExpiring?.()) ?? 0
      if (warned > 0) log.info({ warned }, 'refresh tokens about to expire: connection.expiring sent')
    } catch (err) {
      log.warn({ err }, 'sending expiry warnings failed')
    }
    try {
      const pruned = await pruneDeliveries()
      if (pruned > 0) log.info({ pruned }, 'old webhook deliveries deleted')
    } catch (err) {
      log.warn({ err }, 'deleting old webhook deliveries failed')
    }
    const seen = new ClaimedInTick()
    // providers whose open circuit was probed in this tick
    const probed = new Set<string>()
    const running = new Set<Promise<void>>()
    let exhausted = false
    let circuitClosed = false
    let lag = 0
    try {
      while (!signal?.aborted) {
        const free = concurrency - running.size
        if (!exhausted && free > 0 && (free >= claimBatch || running.size === 0)) {
          let batch = await claim(free, seen, share, probed)
          // nothing else is due: the providers held to their share may use the free slots
          if (batch.rows.length === 0 && batch.capped) batch = await claim(free, seen, concurrency, probed)
          const { owner, rows, capped } = batch
          if (rows.length < free && !capped) exhausted = true
          for (const row of rows) {
            seen.claimed(row.id)
            report.claimed += 1
            // a claimed row is due: it has a nextRefreshAt
            lag = Math.max(lag, (deps.now().getTime() - (row.nextRefreshAt as Date).getTime()) / 1000)
            track(row.providerId, 1)
            const probe = circuits.isOpen(row.providerId)
            if (probe) probed.add(row.providerId)
            // the refresh tells the circuit what the provider did; a probe that closed it lets the rest follow
            const job = refreshClaimed(row, owner).then((result) => {
              seen.finished(row.id, dueAgainFrom(result))
              if (probe && !circuits.isOpen(row.providerId)) circuitClosed = true
              count(report, result)
            })
            const tracked: Promise<void> = job.finally(() => {
              track(row.providerId, -1)
              running.delete(tracked)
            })
            running.add(tracked)
          }
          // a provider's limit held rows back: other providers' rows may be due behind them
          if (capped && rows.length > 0 && running.size < concurrency) continue
        }
        if (running.size === 0) {
          // a probe closed its provider's circuit after the last claim: that provider's other due rows follow now
          if (!circuitClosed) break
          circuitClosed = false
          exhausted = false
          continue
        }
        await Promise.race(running)
      }
    } finally {
      await Promise.allSettled(running)
      metrics.schedulerLag.set(Math.max(0, lag))
    }
    if (report.claimed > 0) log.info({ ...report }, 'scheduled refreshes done')
    return report
  }

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await sleep(intervalSeconds * 1000, undefined, { signal })
      } catch {
        return
      }
      try {
        await tick(signal)
      } catch (err) {
        log.error({ err }, 'scheduler tick failed')
      }
    }
  }

  return {
    tick: () => tick(),
    /** Ticks every intervalSeconds, the first one interval after the start, until stop() or `signal` aborts. */
    start(signal?: AbortSignal): void {
      if (loop) return
      controller = new AbortController()
      const stopped = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal
      loop = run(stopped).finally(() => {
        loop = undefined
      })
    },
    /** Stops claiming, and resolves once the refreshes in flight have stored their outcome and released their lease. */
    async stop(): Promise<void> {
      controller?.abort()
      await loop
      controller = undefined
    },
    get running(): boolean {
      return loop !== undefined
    },
  }
}

export type RefreshScheduler = ReturnType<typeof createRefreshScheduler>

/** When a connection refreshed in this tick could be claimed again: never before its stored nextRefreshAt. */
function dueAgainFrom(result: RefreshResult | undefined): number {
  if (!result || !('connection' in result)) return -Infinity
  return result.connection.nextRefreshAt?.getTime() ?? Infinity
}

function count(report: TickReport, result: RefreshResult | undefined): void {
  if (result?.kind === 'refreshed') report.refreshed += 1
  else if (result?.kind === 'failed') report.failed += 1
  else if (result?.kind === 'reauthorization_required') report.reauthorizationRequired += 1
  else report.other += 1
}
