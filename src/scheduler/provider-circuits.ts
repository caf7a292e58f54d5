// A circuit breaker per provider for the refresh daemon. After `threshold` transient failures in a row the circuit
// opens: the scheduler then sends the provider one refresh per tick (the probe) instead of its share of the slots,
// until a refresh succeeds and closes it again. A provider that is down costs one refresh per tick, not all of them.
import type { Logger } from 'pino'

export type CircuitState = 'closed' | 'open' | 'half_open'

/** As `token_broker_provider_circuit_state` reports it. */
export const CIRCUIT_STATE_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 }

interface Circuit {
  failures: number
  open: boolean
}

export interface CircuitOptions {
  threshold: number
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
