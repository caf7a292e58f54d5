import { createHash } from 'node:crypto'
import type { FlowOutcome } from '../../../services/callback.js'

// The page a browser sees when its flow has no returnTo: what happened and what to do next, named after the provider.
// Fixed texts only; the provider's display name (set by the admin) is the one value in it, escaped.
type Tone = 'ok' | 'stop' | 'wait'
interface Text {
  status: number
  tone: Tone
  title: (provider: string) => string
  happened: (provider: string) => string
  next: string
}

const cap = (text: string) => text.charAt(0).toUpperCase() + text.slice(1)

const texts: Record<FlowOutcome | 'unknown', Text> = {
  connected: {
    status: 200,
    tone: 'ok',
    title: (p) => `Connected to ${p}`,
    happened: (p) => `Your account at ${p} is now connected.`,
    next: 'You can close this window and go back to the application.',
  },
  access_denied: {
    status: 403,
    tone: 'stop',
    title: (p) => `${p} was not connected`,
    happened: (p) => `Access was not granted at ${p}, so nothing was connected.`,
    next: 'To connect after all, start again from the application and allow access.',
  },
  invalid_state: {
    status: 400,
    tone: 'stop',
    title: () => 'This link cannot be used',
    happened: () =>
      'This sign-in link was already used, or it was opened in another browser than the one it started in.',
    next: 'Start again from the application, in this browser.',
  },
  expired: {
    status: 400,
    tone: 'wait',
    title: () => 'This link has expired',
    happened: () => 'The sign-in took longer than 10 minutes, so the link expired. Nothing was connected.',
    next: 'Start again from the application.',
  },
  exchange_failed: {
    status: 502,
    tone: 'stop',
    title: (p) => `${p} did not complete the connection`,
    happened: (p) => `${cap(p)} answered, but the connection could not be completed. Nothing was stored.`,
    next: 'Try again in a few minutes. If it keeps happening, tell the application’s support the code below.',
  },
  account_mismatch: {
    status: 409,
    tone: 'stop',
    title: (p) => `${p} was not connected`,
    happened: (p) =>
      `You signed in at ${p} with another account than the one connected before, so nothing was changed.`,
    next: 'Start again from the application and sign in with the account you connected before.',
  },
  pending: {
    status: 200,
    tone: 'wait',
    title: () => 'Almost done',
    happened: (p) => `Your account at ${p} is ready to be connected.`,
    next: 'Go back to the application to finish.',
  },
  provider_unavailable: {
    status: 503,
    tone: 'wait',
    title: (p) => `${p} is unavailable`,
    happened: (p) => `${cap(p)} could not be reached just now. Nothing was connected.`,
    next: 'Try again in a few minutes, from the application.',
  },
  unknown: {
    status: 404,
    tone: 'stop',
    title: () => 'This link is not valid',
    happened: () => 'This address does not lead to a sign-in: it may be incomplete or mistyped.',
    next: 'Start again from the application.',
  },
}

const icons: Record<Tone, string> = {
  ok: '<path d="M7 12.5l3.2 3.2L17 9"/>',
  stop: '<path d="M12 7.5v5.5M12 16.2v.3"/>',
  wait: '<path d="M12 7.5V12l3 2"/>',
}

// One stylesheet for every page, allowed by its hash in the pages' Content-Security-Policy: no inline script, no
// other source. Light and dark follow the system; the card fits a phone.
const STYLE = `
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--text:#1c2230;--muted:#5b6475;--line:#e3e6eb;
--ok:#1a7f4b;--stop:#b3261e;--wait:#8a5a00}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--card:#1b2027;--text:#e8ebf0;--muted:#a3acba;--line:#2c333d;
--ok:#5fd394;--stop:#ff8a80;--wait:#f2c14e}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:24px 16px;
background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{width:100%;max-width:440px;background:var(--card);border:1px solid var(--line);border-radius:16px;
padding:32px 28px;box-shadow:0 1px 3px rgba(0,0,0,.06)}
svg{width:48px;height:48px;fill:none;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
svg circle{stroke-width:1.5}
.ok svg{stroke:var(--ok)}.stop svg{stroke:var(--stop)}.wait svg{stroke:var(--wait)}
h1{font-size:1.35rem;line-height:1.3;margin:16px 0 8px}
p{margin:0 0 12px}.next{color:var(--muted)}
code{display:inline-block;margin-top:8px;padding:2px 8px;border-radius:6px;border:1px solid var(--line);
color:var(--muted);font:13px ui-monospace,SFMono-Regular,Menlo,monospace}
`.trim()

const styleHash = createHash('sha256').update(STYLE).digest('base64')

/** The pages' policy: the one stylesheet above and nothing else, not even in a frame. */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${styleHash}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)

export function pageStatus(outcome: FlowOutcome | 'unknown'): number {
  return texts[outcome].status
}

/** The page for an outcome; `providerName` is the provider's display name when it has one. */
export function flowPage(outcome: FlowOutcome | 'unknown', providerName?: string | null): string {
  const text = texts[outcome]
  const provider = escapeHtml(providerName?.trim() || 'the provider')
  const heading = cap(text.title(provider))
  const code = outcome === 'connected' || outcome === 'unknown' ? '' : `<code>${outcome}</code>`
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="robots" content="noindex"><title>${heading}</title><style>${STYLE}</style></head>`,
    `<body><main class="${text.tone}">`,
    `<svg viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="10.5"/>${icons[text.tone]}</svg>`,
    `<h1>${heading}</h1><p>${text.happened(provider)}</p><p class="next">${text.next}</p>${code}`,
    '</main></body></html>',
  ].join('')
}
