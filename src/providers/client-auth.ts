import type * as client from 'openid-client'

/** How the broker authenticates at a provider's token endpoint. */
export const tokenEndpointAuthMethods = ['client_secret_basic', 'client_secret_post'] as const
export type TokenEndpointAuthMethod = (typeof tokenEndpointAuthMethods)[number]

/** HTTP Basic client authentication with the credentials as they are, not form-encoded (a template sets `basicCredentials: plain`). */
export function plainClientSecretBasic(clientSecret: string | undefined): client.ClientAuth {
  return (_as, metadata, _body, headers) => {
    const credentials = `${metadata.client_id}:${clientSecret ?? ''}`
    headers.set('authorization', `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`)
  }
}
