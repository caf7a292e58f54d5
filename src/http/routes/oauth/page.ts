import type { FlowOutcome } from '../../../services/callback.js'

// The page a browser sees when its flow has no returnTo. Fixed texts only: nothing from the request is echoed.
const texts: Record<FlowOutcome | 'unknown', { title: string; body: string; status: number }> = {
  connected: { title: 'Connected', body: 'Your account is connected. You can close this window.', status: 200 },
  access_denied: { title: 'Not connected', body: 'Access was not granted. You can close this window.', status: 403 },
  invalid_state: {
    title: 'Link not valid',
    body: 'This sign-in link was already used or belongs to another browser. Start again from the application.',
    status: 400,
  },
  expired: {
    title: 'Link expired',
    body: 'This sign-in took too long. Start again from the application.',
    status: 400,
  },
  exchange_failed: {
    title: 'Not connected',
    body: 'The provider did not complete the connection. Try again later.',
    status: 502,
  },
  account_mismatch: {
    title: 'Not connected',
    body: 'You signed in with another account than the one connected before. Start again from the application and sign in with that account.',
    status: 409,
  },
  pending: { title: 'Almost done', body: 'Return to the application to finish connecting.', status: 200 },
  provider_unavailable: {
    title: 'Provider unavailable',
    body: 'The provider could not be reached. Try again later.',
    status: 503,
  },
  unknown: { title: 'Link not valid', body: 'This link is not valid. Start again from the application.', status: 404 },
}

export function pageStatus(outcome: FlowOutcome | 'unknown'): number {
  return texts[outcome].status
}

export function flowPage(outcome: FlowOutcome | 'unknown'): string {
  const { title, body } = texts[outcome]
  const error = outcome === 'connected' || outcome === 'unknown' ? '' : `<p><code>${outcome}</code></p>`
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${body}</p>${error}</body></html>`
}
