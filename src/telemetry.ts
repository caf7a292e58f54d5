// OpenTelemetry traces, on only when OTEL_EXPORTER_OTLP_ENDPOINT is set: the process entry imports this module then,
// before the HTTP server, the database driver and the provider client are loaded, and never otherwise, so a broker
// without tracing loads no OpenTelemetry code at all. Spans: incoming requests, provider calls (undici) and SQL (pg).
// The exporter reads the standard OTEL_* variables itself (endpoint, headers, timeouts, OTEL_BSP_* batching).
import { register } from 'node:module'
import type { IncomingMessage } from 'node:http'
import { isProbe } from './http/probes.js'
import { shownPath } from './logger.js'

export interface Tracing {
  /** The active span's ids, for every log line written inside it. */
  logFields(): Record<string, string>
  /** Sends the spans still buffered; call last when stopping. */
  shutdown(): Promise<void>
}

// what the HTTP instrumentation records of the URL, query strings included: replaced by the path as logs show it
const URL_ATTRIBUTES = ['http.target', 'url.path', 'url.query', 'http.url', 'url.full']

export async function startTracing(serviceName = process.env.OTEL_SERVICE_NAME ?? 'token-broker'): Promise<Tracing> {
  // ESM modules (pg as imported by the Prisma adapter) are patched through import-in-the-middle's loader hook
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url)
  const [api, sdk, exporter, resources, { registerInstrumentations }, http, undici, pg] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/instrumentation'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-undici'),
    import('@opentelemetry/instrumentation-pg'),
  ])
  const provider = new sdk.NodeTracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new sdk.BatchSpanProcessor(new exporter.OTLPTraceExporter())],
  })
  provider.register()
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new http.HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => isProbe(request.url ?? ''),
        requestHook: (span, request) => {
          if (!('headers' in request) || (request as IncomingMessage).method === undefined) return
          const path = shownPath((request as IncomingMessage).url ?? '')
          for (const name of URL_ATTRIBUTES) span.setAttribute(name, name === 'url.query' ? '' : path)
        },
      }),
      new undici.UndiciInstrumentation(),
      new pg.PgInstrumentation(),
    ],
  })
  return {
    logFields(): Record<string, string> {
      const context = api.trace.getActiveSpan()?.spanContext()
      return context ? { traceId: context.traceId, spanId: context.spanId } : {}
    },
    shutdown: () => provider.shutdown(),
  }
}
