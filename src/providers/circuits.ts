// A circuit breaker per provider, shared by the refresh daemon and the refreshes callers ask for (GET /tokens). After
// `threshold` transient failures in a row, of either, the circuit opens: the scheduler then sends the provider one
// refresh per tick (the probe) instead of its share of the slots, and callers' refreshes go to it one per
// `probeIntervalMs`, the others answered at once; a refresh that succeeds closes it again. A provider that is down
// costs a refresh now and then, not every due connection's and every waiting caller's.
import type { Logger } from 'pino'

export type CircuitState = 'closed' | 'open' | 'half_open'

/** As `token_broker_provider_circuit_state` reports it. */
export const CIRCUIT_STATE_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 }

interface Circuit {
  failures: number
  open: boolean
  /** When a caller's refresh last went to the provider while the circuit was open. */
  probedAt?: number
}

export interface CircuitOptions {
  threshold: number
  /** While open, callers' refreshes go to the provider once per this long (the scheduler probes once per tick). */
  probeIntervalMs: number
  log: Pick<Logger, 'warn' | 'info'>
  onState?: (providerId: string, state: CircuitState) => void
}

export const DEFAULT_CIRCUIT_THRESHOLD = 5

export class ProviderCircuits {
  readonly #circuits = new Map<string, Circuit>()
  readonly #options: CircuitOptions

  constructor(options: CircuitOptions) {
    this.#options = options
  }

  isOpen(providerId: string): boolean {
    return this.#circuits.get(providerId)?.open ?? false
  }

  /** The providers whose circuit is open. */
  open(): string[] {
    return [...this.#circuits].filter(([, circuit]) => circuit.open).map(([id]) => id)
  }

  /**
   * Whether a refresh a caller asked for may go to this provider at `nowMs`: always while its circuit is closed; while
   * open, one per `probeIntervalMs` (its probe). Call `started` when it goes.
   */
  admits(providerId: string, nowMs: number): boolean {
    const circuit = this.#circuits.get(providerId)
    if (!circuit?.open) return true
    const since = nowMs - (circuit.probedAt ?? -Infinity)
    if (since >= 0 && since < this.#options.probeIntervalMs) return false
    circuit.probedAt = nowMs
    return true
  }

  /** How long until `admits` lets a caller's refresh of this provider through again, in whole seconds (at least 1). */
  retryAfterSeconds(providerId: string, nowMs: number): number {
    const probedAt = this.#circuits.get(providerId)?.probedAt ?? nowMs
    return Math.max(1, Math.ceil((probedAt + this.#options.probeIntervalMs - nowMs) / 1000))
  }

  /** A refresh of this provider starts: while open it is the probe. */
  started(providerId: string): void {
    if (this.isOpen(providerId)) this.#options.onState?.(providerId, 'half_open')
  }

  /** The provider answered: a refresh, or a refusal of the grant (it is up). True when this closed its circuit. */
  succeeded(providerId: string): boolean {
    const circuit = this.#circuits.get(providerId)
    if (!circuit) return false
    this.#circuits.delete(providerId)
    if (!circuit.open) return false
    this.#options.log.info({ provider: providerId }, 'provider answered again: refresh circuit closed')
    this.#options.onState?.(providerId, 'closed')
    return true
  }

  /** A transient failure (network, timeout, 5xx, 429). */
  failed(providerId: string): void {
    const circuit = this.#circuits.get(providerId) ?? { failures: 0, open: false }
    circuit.failures += 1
    this.#circuits.set(providerId, circuit)
    if (!circuit.open && circuit.failures >= this.#options.threshold) {
      circuit.open = true
      this.#options.log.warn(
        { provider: providerId, failures: circuit.failures },
        'provider failed repeatedly: refresh circuit open, probing with one refresh at a time',
      )
    }
    if (circuit.open) this.#options.onState?.(providerId, 'open')
  }
}
