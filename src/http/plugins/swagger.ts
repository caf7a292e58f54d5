import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'

export interface SwaggerOptions {
  /** Keep the token pasted into Authorize in the browser's local storage (DOCS_PERSIST_AUTHORIZATION). */
  persistAuthorization: boolean
}

/** The OpenAPI document is built from the routes' own schemas; openapi.yaml is a copy of it (kept equal by a test). */
export default fp<SwaggerOptions>(
  async (app, { persistAuthorization }) => {
    await app.register(swagger, {
      // the UI's own routes (and anything else without a tag) stay out of the document
      hideUntagged: true,
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'token-broker',
          version: '1.0.0',
          description:
            'Runs the OAuth 2.0 authorization-code flow for internal backends, keeps refresh tokens encrypted, and serves fresh access tokens.',
        },
        components: {
          securitySchemes: {
            admin: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
            caller: { type: 'http', scheme: 'bearer', description: 'An API key issued by POST /admin/clients' },
          },
        },
        tags: [
          { name: 'tokens', description: 'For internal callers' },
          { name: 'browser', description: "The user's browser during a flow" },
          { name: 'admin', description: 'Operators' },
          { name: 'operations', description: 'Health, readiness, metrics' },
        ],
      },
    })
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      // The UI's pages get a policy of their own: the plugin's default blocks the UI's inline styles, and its
      // upgrade-insecure-requests would break "Try it out" on a broker served over plain HTTP inside a network.
      staticCSP: [
        "default-src 'self'",
        "base-uri 'self'",
        "connect-src 'self'",
        "font-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "img-src 'self' data:",
        "object-src 'none'",
        "script-src 'self'",
        "script-src-attr 'none'",
        "style-src 'self' 'unsafe-inline'",
      ].join('; '),
      uiConfig: {
        // an admin token left in local storage outlives the session and is readable by anything on the origin: kept
        // only when the operator asks for it
        persistAuthorization,
        displayRequestDuration: true,
        docExpansion: 'list',
        defaultModelRendering: 'example',
      },
    })
  },
  { name: 'swagger' },
)
