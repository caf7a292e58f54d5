// The typed client (client/) against a running broker, as an internal caller uses it; and client/schema.ts is what
// openapi-typescript makes of the committed openapi.yaml.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { createBrokerClient } from '../../client/index.js'
import { clientSchema, clientSchemaFile } from '../../scripts/client-schema.js'
import { connectUser, startFlowEnv } from '../support/flow.js'

t.test('client/schema.ts is generated from the committed openapi.yaml (npm run openapi)', async (t) => {
  t.equal(readFileSync(clientSchemaFile, 'utf8'), await clientSchema(), 'run npm run openapi and commit the result')
})

t.test('an internal caller starts a flow, reads a token and disconnects through the typed client', async (t) => {
  const env = await startFlowEnv(t)
  const broker = createBrokerClient({ baseUrl: env.publicUrl.origin, apiKey: env.caller.apiKey })

  const started = await broker.POST('/authorizations', {
    body: { provider: env.providerId, userId: 'client-user', returnTo: env.returnTo },
  })
  t.equal(started.response.status, 201)
  t.match(started.data?.url, /\/oauth\/start\//)

  await connectUser(env, { userId: 'client-user' })
  const token = await broker.GET('/tokens/{userId}', {
    params: { path: { userId: 'client-user' }, query: { provider: env.providerId, minTtl: 30 } },
  })
  t.equal(token.response.status, 200)
  t.equal(token.data?.userId, 'client-user')
  t.equal(token.data?.tokenType.toLowerCase(), 'bearer')
  t.ok(token.data && token.data.accessToken.length > 10, 'an access token')

  const missing = await broker.GET('/tokens/{userId}', {
    params: { path: { userId: 'nobody' }, query: { provider: env.providerId } },
  })
  t.equal(missing.response.status, 404)
  t.equal(missing.error?.error, 'not_found', 'errors are typed { error, message }')

  const gone = await broker.DELETE('/connections/{provider}/{userId}', {
    params: { path: { provider: env.providerId, userId: 'client-user' } },
  })
  t.equal(gone.response.status, 204)
  const after = await broker.GET('/tokens/{userId}', {
    params: { path: { userId: 'client-user' }, query: { provider: env.providerId } },
  })
  t.equal(after.response.status, 404)

  const stranger = createBrokerClient({ baseUrl: env.publicUrl.origin, apiKey: 'tbk_not-a-key' })
  const refused = await stranger.GET('/tokens/{userId}', {
    params: { path: { userId: 'client-user' }, query: { provider: env.providerId } },
  })
  t.equal(refused.error?.error, 'unauthorized')
})
