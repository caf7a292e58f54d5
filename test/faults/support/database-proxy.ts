// A TCP proxy in front of the shared Postgres that a test can cut and restore: a database outage in a second,
// without stopping the server other suites use. Cut: every open connection is reset and new ones are refused.
import { createServer, connect, type Server, type Socket } from 'node:net'

export interface DatabaseProxy {
  /** The database URL through the proxy. */
  readonly url: string
  cut(): Promise<void>
  restore(): Promise<void>
  close(): Promise<void>
}

export async function startDatabaseProxy(databaseUrl: string): Promise<DatabaseProxy> {
  const target = new URL(databaseUrl)
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const created = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname)
        for (const socket of [client, upstream]) {
          sockets.add(socket)
          socket.on('close', () => sockets.delete(socket))
          socket.on('error', () => {})
        }
        client.pipe(upstream).pipe(client)
        client.on('close', () => upstream.destroy())
        upstream.on('close', () => client.destroy())
      })
      created.once('error', reject)
      created.listen(port, '127.0.0.1', () => {
        port = (created.address() as { port: number }).port
        server = created
        resolve()
      })
    })

  await listen()
  const url = new URL(databaseUrl)
  url.hostname = '127.0.0.1'
  url.port = String(port)

  const stop = async () => {
    const closing = server
    server = undefined
    for (const socket of sockets) socket.destroy()
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()))
  }

  return {
    url: url.href,
    cut: stop,
    async restore() {
      if (!server) await listen()
    },
    close: stop,
  }
}
