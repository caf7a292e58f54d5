import t from 'tap'
import {
  backoffSeconds,
  DEFAULT_BACKOFF,
  effectiveMinTtl,
  shouldRefresh,
  type RefreshState,
} from '../../src/services/refresh-rules.js'

const now = new Date('2026-01-01T10:00:00Z')
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000)
const connection = (fields: Partial<RefreshState> = {}): RefreshState => ({
  status: 'active',
  expiresAt: at(600),
  nextRefreshAt: at(300),
  lastRefreshedAt: at(-3000),
  refreshTokenEnc: new Uint8Array([1]),
  failureCount: 0,
  ...fields,
})

t.test('backoff grows exponentially from the base and never passes the cap', async (t) => {
  const ceiling = (n: number) => backoffSeconds(n, { random: () => 1 })
  t.same([1, 2, 3, 4, 5, 6, 7].map(ceiling), [30, 60, 120, 240, 480, 960, 1800])
  t.equal(ceiling(50), DEFAULT_BACKOFF.capSeconds)
  t.equal(ceiling(10_000), DEFAULT_BACKOFF.capSeconds, 'no overflow for a connection failing for years')
  t.equal(backoffSeconds(1, { random: () => 0 }), DEFAULT_BACKOFF.minSeconds, 'full jitter, with a floor')
  for (let n = 1; n < 40; n++) {
    const delay = backoffSeconds(n)
    t.ok(delay >= DEFAULT_BACKOFF.minSeconds && delay <= DEFAULT_BACKOFF.capSeconds, `failure ${n}: ${delay}s`)
  }
})

t.test('a connection broken for good costs on the order of a hundred attempts a day, not thousands', async (t) => {
  let seed = 42
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  let elapsed = 0
  let attempts = 0
  while (elapsed < 86_400) {
    attempts += 1
    elapsed += backoffSeconds(attempts, { random })
  }
  t.ok(attempts < 200, `${attempts} attempts in a day`)
})

t.test('Retry-After is honoured, up to its own cap', async (t) => {
  t.equal(backoffSeconds(1, { random: () => 0, retryAfterSeconds: 120 }), 120)
  t.equal(backoffSeconds(7, { random: () => 1, retryAfterSeconds: 10 }), 1800, 'never shorter than the backoff')
  t.equal(backoffSeconds(1, { random: () => 0, retryAfterSeconds: 10 * 86_400 }), DEFAULT_BACKOFF.maxRetryAfterSeconds)
})

t.test('shouldRefresh says why', async (t) => {
  t.same(shouldRefresh(connection(), now, { kind: 'due' }), { should: false, reason: 'not_due' })
  t.same(shouldRefresh(connection({ nextRefreshAt: at(-1) }), now, { kind: 'due' }), { should: true, reason: 'due' })
  t.same(shouldRefresh(connection(), now, { kind: 'minTtl', seconds: 60 }), {
    should: false,
    reason: 'valid_for_min_ttl',
  })
  t.same(shouldRefresh(connection({ expiresAt: at(30) }), now, { kind: 'minTtl', seconds: 60 }), {
    should: true,
    reason: 'expires_within_min_ttl',
  })
  t.same(shouldRefresh(connection({ expiresAt: null }), now, { kind: 'minTtl', seconds: 0 }), {
    should: true,
    reason: 'expires_within_min_ttl',
  })
  t.same(shouldRefresh(connection(), now, { kind: 'force', since: now }), { should: true, reason: 'forced' })
  t.same(shouldRefresh(connection({ lastRefreshedAt: at(1) }), now, { kind: 'force', since: now }), {
    should: false,
    reason: 'refreshed_since_asked',
  })
  t.same(shouldRefresh(connection({ status: 'reauthorization_required' }), now, { kind: 'force', since: now }), {
    should: false,
    reason: 'not_active',
  })
  t.same(
    shouldRefresh(connection({ refreshTokenEnc: null, expiresAt: at(10) }), now, { kind: 'minTtl', seconds: 60 }),
    { should: false, reason: 'no_refresh_token' },
  )
})

t.test('a failing connection waits out its backoff for a caller, not for the scheduler or an admin', async (t) => {
  const failing = connection({ expiresAt: at(30), failureCount: 2, nextRefreshAt: at(120) })
  const minTtl = { kind: 'minTtl', seconds: 60 } as const
  t.same(shouldRefresh(failing, now, minTtl), { should: false, reason: 'in_backoff' })
  t.same(
    shouldRefresh({ ...failing, nextRefreshAt: at(-1) }, now, minTtl),
    {
      should: true,
      reason: 'expires_within_min_ttl',
    },
    'its next attempt is due',
  )
  t.same(
    shouldRefresh({ ...failing, failureCount: 0 }, now, minTtl),
    {
      should: true,
      reason: 'expires_within_min_ttl',
    },
    'not failing: nextRefreshAt is only the schedule',
  )
  t.same(
    shouldRefresh(connection({ failureCount: 2, nextRefreshAt: at(120) }), now, minTtl),
    {
      should: false,
      reason: 'valid_for_min_ttl',
    },
    'a token still valid is served whatever the backoff',
  )
  t.same(shouldRefresh(failing, now, { kind: 'force', since: now }), { should: true, reason: 'forced' })
  t.same(shouldRefresh(failing, now, { kind: 'due' }), { should: false, reason: 'not_due' })
})

t.test('minTtl is capped at half the lifetime and at the provider margin', async (t) => {
  t.equal(effectiveMinTtl(60, 3600), 60)
  t.equal(effectiveMinTtl(3600, 3600), 1800)
  t.equal(effectiveMinTtl(60, 2), 1)
  t.equal(effectiveMinTtl(60, null), 60)
  t.equal(effectiveMinTtl(600, 3600, 120), 120)
  t.equal(effectiveMinTtl(600, 3600, 0), 0)
})
