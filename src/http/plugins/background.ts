import fp from 'fastify-plugin'
import type { RefreshScheduler } from '../../scheduler/refresh-scheduler.js'
import type { RefreshService } from '../../services/refresh.js'
import type { WebhookSender } from '../../webhooks/sender.js'

export interface BackgroundOptions {
  scheduler: RefreshScheduler
  webhookSender: WebhookSender
  refresher: Pick<RefreshService, 'drain'>
  /** Run the daemons on this instance (tests that drive them by hand turn them off). */
  run: boolean
}

/**
 * The instance's daemons, started once the app is ready. On close, before the database closes (an onClose hook):
 * stop claiming refreshes and deliveries, let those in flight store their outcome, then wait for every refresh a
 * request started.
 */
export default fp<BackgroundOptions>(
  async (app, { scheduler, webhookSender, refresher, run }) => {
    if (run) {
      app.addHook('onReady', async () => {
        scheduler.start()
        webhookSender.start()
      })
    }
    app.addHook('preClose', async () => {
      await Promise.all([scheduler.stop(), webhookSender.stop()])
      await refresher.drain()
    })
  },
  { name: 'background' },
)
