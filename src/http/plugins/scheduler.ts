import fp from 'fastify-plugin'
import { createRefreshScheduler, type RefreshScheduler } from '../../scheduler/refresh-scheduler.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The refresh daemon; `scheduler.tick()` refreshes everything due now and resolves with a report. */
    scheduler: RefreshScheduler
  }
}

export interface SchedulerPluginOptions {
  /** Run the daemon on this instance (every REFRESH_INTERVAL_SECONDS, from one interval after ready). */
  background: boolean
  leaseSeconds: number
}

export default fp<SchedulerPluginOptions>(
  async (app, { background, leaseSeconds }) => {
    const { deps } = app
    const scheduler = createRefreshScheduler(deps, {
      refresher: app.tokenServices.refresher,
      intervalSeconds: deps.config.REFRESH_INTERVAL_SECONDS,
      concurrency: deps.config.REFRESH_CONCURRENCY,
      leaseSeconds,
    })
    app.decorate('scheduler', scheduler)
    if (background) app.addHook('onReady', async () => scheduler.start())
    // before the token services drain and the database closes: stop claiming, finish what is in flight
    app.addHook('preClose', async () => scheduler.stop())
  },
  { name: 'scheduler', dependencies: ['token-services'] },
)
