import { providerRefused, providerUnavailable, reauthorizationRequired, type BrokerError } from '../errors.js'
import type { ProviderFailure } from '../providers/failures.js'

/**
 * What an admin is told when a grant asked for on its request (a machine connection's client credentials, an imported
 * refresh token) did not give a token: the grant is dead (409), the provider refused us (502), or it failed (503).
 */
export function grantFailureError(failure: ProviderFailure): BrokerError {
  switch (failure.kind) {
    case 'invalid_grant':
      return reauthorizationRequired(`the provider refused the grant: ${failure.message}`)
    case 'transient':
      return providerUnavailable(failure.message, failure.retryAfterSeconds)
    case 'invalid_client':
    case 'rejected':
      return providerRefused(failure.message)
  }
}
