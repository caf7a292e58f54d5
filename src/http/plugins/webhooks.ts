import fp from 'fastify-plugin'
import { createWebhookDeliveries, type WebhookDeliveries } from '../../webhooks/deliveries.js'
import { createWebhookEndpoints, type WebhookEndpoints } from '../../webhooks/endpoints.js'
import { createWebhookSender, type DeliveryPass, type WebhookSenderOptions } from '../../webhooks/sender.js'

declare module 'fastify' {
  interface FastifyInstance {
    webhooks: {
      endpoints: WebhookEndpoints
      deliveries: WebhookDeliveries
      /** Sends every delivery due now and waits for the outcomes (tests, or draining by hand). */
      deliverDue(): Promise<DeliveryPass>
    }
  }
}

export interface WebhooksPluginOptions {
  /** Run the sender loop on this instance. */
  background: boolean
  sender?: Partial<WebhookSenderOptions>
}

/** Webhook endpoints, the delivery log, and this instance's sender, started once the app is ready. */
export default fp<WebhooksPluginOptions>(
  async (app, { background, sender: senderOptions }) => {
    const { deps } = app
    const sender = createWebhookSender(deps, senderOptions)
    app.decorate('webhooks', {
      endpoints: createWebhookEndpoints(deps),
      deliveries: createWebhookDeliveries(deps),
      deliverDue: () => sender.deliverDue(),
    })
    if (!background) return
    app.addHook('onReady', async () => sender.start())
    // preClose, not onClose: the database is closed by an onClose hook, and settling in-flight deliveries needs it
    app.addHook('preClose', async () => sender.stop())
  },
  { name: 'webhooks' },
)
