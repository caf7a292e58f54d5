// undici, the HTTP client of provider calls and webhook deliveries, is about a tenth of a start's module loading: it
// is loaded by the first call that needs it, not at start.
export type Undici = typeof import('undici')

let loading: Promise<Undici> | undefined

export function loadUndici(): Promise<Undici> {
  loading ??= import('undici')
  return loading
}
