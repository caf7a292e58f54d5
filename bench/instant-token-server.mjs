// A token endpoint that answers every request at once with the same refresh answer, in a process of its own, so that
// bench/refresh-cost.ts measures the broker's side of a refresh alone. Listens on 127.0.0.1 at argv[2] (0: any port)
// and prints the port.
import { createServer } from 'node:http'

const body = JSON.stringify({
  access_token: 'a'.repeat(43),
  token_type: 'Bearer',
  expires_in: 3600,
  refresh_token: 'r'.repeat(43),
  scope: 'openid offline_access',
})
const server = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(body)
  })
})
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(server.address().port))
