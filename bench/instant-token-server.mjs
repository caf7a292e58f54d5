// A token endpoint that answers every request at once with the same refresh answer, in a process of its own, so that
// bench/refresh-cost.ts measures the broker's side of a refresh alone. The answer carries an ID token shaped like
// oidc-provider's (the bench's refresh grants ask for `openid`), whose claims the broker's client checks; its signature
// is not verified on a token endpoint's answer. Listens on 127.0.0.1 at argv[2] (0: any port) and prints the port;
// argv[3] is the client id the ID token is issued to.
import { createServer } from 'node:http'

const clientId = process.argv[3] ?? 'instant-client'
const segment = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** The answer, its ID token issued by `issuer` (the server's origin, as the broker reads it for a plain provider). */
function answer(issuer) {
  const now = Math.floor(Date.now() / 1000)
  const claims = { iss: issuer, sub: 'user', aud: clientId, iat: now, exp: now + 86400, auth_time: now, sid: 's'.repeat(36) }
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
const server = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(body)
  })
})
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  body = answer(`http://127.0.0.1:${server.address().port}`)
  console.log(server.address().port)
})
