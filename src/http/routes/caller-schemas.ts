// Schema pieces of the routes internal callers use (API key in a bearer header).
import { errorResponse } from '../schemas.js'

export const callerSecurity = [{ caller: [] }]

export const providerId = { type: 'string', minLength: 1, maxLength: 64, example: 'google' } as const
export const userId = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  description: 'Your identifier of the user, as given to POST /authorizations',
  example: 'user-42',
} as const

/** The answers every caller route can give besides its own. */
export const callerErrors = {
  401: errorResponse('Missing or unknown API key', { error: 'unauthorized', message: 'a valid API key is required' }),
  403: errorResponse('The provider is not among this caller’s allowedProviders', {
    error: 'forbidden',
    message: 'provider "google" is not allowed for this caller',
  }),
  429: errorResponse('Too many failed authentications from this address', {
    error: 'rate_limited',
    message: 'too many failed authentications, retry in 1 minute',
  }),
} as const
