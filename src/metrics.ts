import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** What the metrics read from elsewhere at each scrape. */
export interface MetricSources {
  /** Statements this process has sent to the database. */
  statements: () => number
}

/** The service's Prometheus metrics: one registry per app, so several apps in one process stay apart. */
export function createMetrics(sources: MetricSources) {
  const registry = new Registry()
  new Counter({
    name: 'token_broker_database_statements_total',
    help: 'Statements this process sent to the database (Prisma and driver, transactions included)',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(sources.statements())
    },
  })
  return {
    registry,
    tokenRequests: new Counter({
      name: 'token_broker_token_requests_total',
      help: 'GET /tokens answers, by outcome (served, refreshed, not_found, forbidden, reauthorization_required, provider_unavailable, ...)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    servedDuringOutage: new Counter({
      name: 'token_broker_served_during_database_outage_total',
      help: 'Answers given from what was read before a database outage, by what (token, api_key)',
      labelNames: ['what'] as const,
      registers: [registry],
    }),
    refreshes: new Counter({
      name: 'token_broker_refreshes_total',
      help: 'Refresh grants, by trigger (scheduler, on_demand, admin) and outcome (success, invalid_grant, invalid_client, transient, rejected)',
      labelNames: ['trigger', 'outcome'] as const,
      registers: [registry],
    }),
    refreshDuration: new Histogram({
      name: 'token_broker_refresh_duration_seconds',
      help: 'Time of a refresh grant at the provider',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    flows: new Counter({
      name: 'token_broker_authorization_flows_total',
      help: 'Authorization-code flows finished, by outcome (connected, access_denied, invalid_state, expired, exchange_failed)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    providerCircuitState: new Gauge({
      name: 'token_broker_provider_circuit_state',
      help: "A provider's refresh circuit: 0 closed, 1 half-open (one probe refresh in flight), 2 open",
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    schedulerLag: new Gauge({
      name: 'token_broker_scheduler_lag_seconds',
      help: 'How late the oldest claimed connection was, at the last scheduler tick',
      registers: [registry],
    }),
    connections: new Gauge({
      name: 'token_broker_connections',
      help: 'Stored connections by status, as of the last scrape',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    webhookBacklog: new Gauge({
      name: 'token_broker_webhook_deliveries_pending',
      help: 'Webhook deliveries waiting to be sent or retried, as of the last scrape',
      registers: [registry],
    }),
    webhookOldestPending: new Gauge({
      name: 'token_broker_webhook_oldest_pending_seconds',
      help: 'How long the oldest pending webhook delivery has waited, as of the last scrape (0: none)',
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'token_broker_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by outcome (delivered, failed, gave_up)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>
