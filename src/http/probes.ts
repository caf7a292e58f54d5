// Probes and scrapes: requests that come every few seconds from machines. Their request lines are written at debug,
// and tracing leaves them out. No imports: the tracing set-up reads this before anything else is loaded.
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics'])

export function isProbe(url: string): boolean {
  const query = url.indexOf('?')
  return PROBE_PATHS.has(query === -1 ? url : url.slice(0, query))
}
