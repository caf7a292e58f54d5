import fp from 'fastify-plugin'

/**
 * Once the app is closing, every answer ends its connection. Node's server.close() only closes the keep-alive
 * connections idle at that moment; one whose request was still running would otherwise stay open for the whole
 * keep-alive timeout after its answer, and close (and the process's exit) would wait for it.
 */
export default fp(
  async (app) => {
    let closing = false
    // registered before the other plugins' preClose hooks, which wait for the refreshes and deliveries in flight
    app.addHook('preClose', async () => {
      closing = true
    })
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (closing) reply.header('connection', 'close')
      done(null, payload)
    })
  },
  { name: 'graceful-close' },
)
