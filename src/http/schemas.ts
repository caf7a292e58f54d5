// The HTTP side of the schemas: error answers by status, and who may call what. Resource shapes are in src/schemas/.
import { ErrorBody, Type } from '../schemas/common.js'

/** An error answer: `{ error, message }`, with what it means and an example. */
export function errorResponse(description: string, example: ErrorBody) {
  return Type.Object(ErrorBody.properties, { description, example })
}

export const invalidRequestResponse = (message: string) =>
  errorResponse('Invalid parameters', { error: 'invalid_request', message })

export const notFoundResponse = (what: string) =>
  errorResponse(`No such ${what}`, { error: 'not_found', message: `${what} not found` })

const rateLimited = errorResponse('Too many failed authentications from this address', {
  error: 'rate_limited',
  message: 'too many failed authentications, retry in 1 minute',
})

export const adminSecurity = [{ admin: [] }]
export const callerSecurity = [{ caller: [] }]

/** The answers every admin route can give besides its own. */
export const adminErrors = {
  401: errorResponse('Missing or wrong admin token', { error: 'unauthorized', message: 'admin token required' }),
  429: rateLimited,
}

/** The answers every caller route can give besides its own. */
export const callerErrors = {
  401: errorResponse('Missing or unknown API key', { error: 'unauthorized', message: 'a valid API key is required' }),
  429: rateLimited,
}

/** A caller naming a provider outside its allowedProviders. */
export const providerForbidden = errorResponse('The provider is not among this caller’s allowedProviders', {
  error: 'forbidden',
  message: 'provider "google" is not allowed for this caller',
})

/** An answer without a body (204). */
export const noContent = (description: string) => Type.Null({ description })
