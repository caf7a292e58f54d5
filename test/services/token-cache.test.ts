// The token cache on its own clock: what it serves, for how long, and that decrypted tokens past their time do not
// stay in memory.
import t from 'tap'
import { Secret } from '../../src/crypto/secret.js'
import { TokenCache, type CachedToken } from '../../src/services/token-cache.js'

function token(userId: string): CachedToken {
  return {
    connectionId: `c-${userId}`,
    namespace: 'default',
    providerId: 'idp',
    userId,
    accessToken: new Secret(`token-of-${userId}`),
    tokenType: 'Bearer',
    scope: null,
    metadata: {},
    expiresAt: new Date(0),
    lifetimeSeconds: null,
    providerMarginSeconds: null,
  }
}

const key = (userId: string) => ({ namespace: 'default', providerId: 'idp', userId })

t.test('an entry is served for its time, then not; expired ones go as new ones come', async (t) => {
  const clock = { ms: 1_000_000 }
  const cache = new TokenCache({ ttlMs: 3_000, now: () => clock.ms })
  cache.set(token('a'))
  clock.ms += 1_000
  cache.set(token('b'))
  clock.ms += 1_999
  t.equal(cache.get(key('a'))?.userId, 'a', 'within its time')
  clock.ms += 1
  t.equal(cache.size, 2, 'an expired entry nobody asks for is still held...')
  cache.set(token('c'))
  t.equal(cache.size, 2, '...until the next entry is stored')
  t.equal(cache.get(key('a')), undefined)
  t.equal(cache.get(key('b'))?.userId, 'b', 'the younger one stays')
  clock.ms += 3_000
  cache.set(token('b'))
  t.equal(cache.size, 1, 'stored again: it is the youngest, and c, past its time, went')
})

t.test('a time of 0 keeps nothing', async (t) => {
  const cache = new TokenCache({ ttlMs: 0, now: () => 0 })
  cache.set(token('a'))
  t.equal(cache.size, 0)
})
