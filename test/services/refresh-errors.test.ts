// One mapping of refresh outcomes to what a caller is told, for GET /tokens and the admin's refresh alike.
import t from 'tap'
import type { Connection } from '../../src/db/generated/client.js'
import { BrokerError } from '../../src/errors.js'
import { refreshError, type RefreshResult } from '../../src/services/refresh.js'

const now = new Date('2026-01-01T10:00:00Z')
const connection = { id: 'c1' } as Connection

t.test('a usable token is no error', async (t) => {
  t.equal(refreshError({ kind: 'refreshed', connection }, now), undefined)
  t.equal(refreshError({ kind: 'fresh', connection }, now), undefined)
})

t.test('every other outcome has one code, status, message and Retry-After', async (t) => {
  const cases: Array<[RefreshResult, string, number, RegExp, number | undefined]> = [
    [{ kind: 'reauthorization_required', connection }, 'reauthorization_required', 409, /authorize/, undefined],
    [{ kind: 'no_refresh_token', connection }, 'reauthorization_required', 409, /no refresh token/, undefined],
    [
      { kind: 'failed', message: 'provider answered HTTP 503', retryAt: new Date(now.getTime() + 90_500), connection },
      'provider_unavailable',
      503,
      /^refresh failed: provider answered HTTP 503$/,
      91,
    ],
    [{ kind: 'failed', message: 'x', retryAt: null, connection }, 'provider_unavailable', 503, /x/, undefined],
    [{ kind: 'busy' }, 'provider_unavailable', 503, /another instance is refreshing/, 1],
    [{ kind: 'lease_lost' }, 'provider_unavailable', 503, /could not be stored/, 1],
    [{ kind: 'not_found' }, 'not_found', 404, /connection not found/, undefined],
  ]
  for (const [result, code, status, message, retryAfter] of cases) {
    const err = refreshError(result, now)
    t.ok(err instanceof BrokerError, result.kind)
    t.match(err, { code, statusCode: status, message, retryAfterSeconds: retryAfter }, result.kind)
  }
})
