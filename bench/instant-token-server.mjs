// A token endpoint that answers every request with the same refresh answer, at once unless told to pace itself, in a
// process of its own, so that bench/refresh-cost.ts measures the broker's side of a refresh alone. The answer carries
// an ID token shaped like oidc-provider's (the bench's refresh grants ask for `openid`), whose claims the broker's
// client checks; its signature is not verified on a token endpoint's answer. Listens on 127.0.0.1 at argv[2] (0: any
// port) and prints the port; argv[3] is the client id the ID token is issued to. With argv[4] (microseconds, default
// 0) it answers like a provider that is busy: one answer per interval at most, in the order asked, each held until
// its turn.
import { createServer } from 'node:http'
import { performance } from 'node:perf_hooks'
import { setTimeout } from 'node:timers'

const clientId = process.argv[3] ?? 'instant-client'
const intervalMs = Number(process.argv[4] ?? 0) / 1000
const segment = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** The answer, its ID token issued by `issuer` (the server's origin, as the broker reads it for a plain provider). */
function answer(issuer) {
  const now = Math.floor(Date.now() / 1000)
  const claims = {
    iss: issuer,
    sub: 'user',
    aud: clientId,
    iat: now,
    exp: now + 86400,
    auth_time: now,
    sid: 's'.repeat(36),
  }
  return JSON.stringify({
    access_token: 'a'.repeat(43),
    token_type: 'Bearer',
    expires_in: 3600,
    refresh_token: 'r'.repeat(43),
    scope: 'openid offline_access',
    id_token: `${segment({ alg: 'RS256', kid: 'bench' })}.${segment(claims)}.${'s'.repeat(342)}`,
  })
}

let body
let nextTurn = 0
const server = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    const send = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(body)
    }
    if (intervalMs === 0) return send()
    const now = performance.now()
    nextTurn = Math.max(now, nextTurn) + intervalMs
    setTimeout(send, nextTurn - now)
  })
})
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  body = answer(`http://127.0.0.1:${server.address().port}`)
  console.log(server.address().port)
})
