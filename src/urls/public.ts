// Every URL the broker hands out is built from PUBLIC_URL, never from request headers. PUBLIC_URL may carry a
// path (a reverse proxy mounting the broker under /broker): it is kept in front of every route.

export function publicUrl(base: URL, path: string): URL {
  const url = new URL(base.href)
  url.pathname = url.pathname.replace(/\/+$/, '') + path
  url.search = ''
  url.hash = ''
  return url
}

/** The redirect URI to register at the provider, and the one sent at the authorize and token steps. */
export const callbackUrl = (base: URL, providerId: string): URL =>
  publicUrl(base, `/oauth/${encodeURIComponent(providerId)}/callback`)

export const startUrl = (base: URL, authorizationId: string): URL => publicUrl(base, `/oauth/start/${authorizationId}`)

/** The cookie path of the flow cookie: the start and callback routes, under PUBLIC_URL's own path. */
export const flowCookiePath = (base: URL): string => publicUrl(base, '/oauth').pathname
