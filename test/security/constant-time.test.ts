// API keys and the admin token are compared in time that does not depend on where they differ: secretsEqual hashes
// both sides to fixed-length digests and compares those with timingSafeEqual. Checked by behaviour and in the code,
// not by timing (a timing measurement on a shared machine proves nothing either way).
import { readFileSync } from 'node:fs'
import t from 'tap'
import { hashApiKey, secretsEqual } from '../../src/services/api-keys.js'

const source = (path: string) => readFileSync(new URL(`../../src/${path}`, import.meta.url), 'utf8')

t.test('secretsEqual: equal only when identical, whatever the lengths', async (t) => {
  const admin = 'test-admin-token-0123456789abcdef'
  t.ok(secretsEqual(admin, admin))
  t.ok(secretsEqual('', ''))
  t.ok(secretsEqual('ключ-🔑', 'ключ-🔑'))
  for (const other of [
    '',
    'x',
    admin.slice(0, -1),
    `${admin}x`,
    admin.toUpperCase(),
    `x${admin.slice(1)}`,
    'a'.repeat(10_000),
  ]) {
    t.notOk(secretsEqual(other, admin), JSON.stringify(other.slice(0, 40)))
    t.notOk(secretsEqual(admin, other))
  }
  // different lengths never throw (timingSafeEqual alone throws on them, which would leak the length)
  t.doesNotThrow(() => secretsEqual('short', 'a much longer secret than that'))
})

t.test('the comparison is timingSafeEqual over fixed-length SHA-256 digests', async (t) => {
  const code = source('services/api-keys.ts')
  const body = /export function secretsEqual[\s\S]*?\n}/.exec(code)?.[0] ?? ''
  t.match(body, /createHash\('sha256'\)[\s\S]*createHash\('sha256'\)/, 'both sides hashed')
  t.match(body, /return timingSafeEqual\(/, 'compared with timingSafeEqual')
  t.notMatch(body, /===|!==|\.equals\(/, 'no early-exit comparison')
  t.equal(hashApiKey('tbk_x').length, 32, 'API keys are looked up by a 32-byte hash, never compared as text')
})

t.test('the admin token and API keys go through it; no secret is compared with ===', async (t) => {
  const auth = source('http/plugins/auth.ts')
  const callers = source('services/callers.ts')
  t.match(auth, /secretsEqual\(token, adminToken\)/, 'admin token')
  t.match(callers, /hashApiKey\(apiKey\)/, 'API key: hashed, then found by its hash')
  for (const code of [auth, callers]) {
    t.notMatch(code, /(token|apiKey|adminToken)\s*[!=]==|[!=]==\s*(token|apiKey|adminToken)\b/, 'no direct comparison')
  }
  const callback = source('services/callback.ts')
  t.match(callback, /timingSafeEqual\(digest\(given\), storedHash\)/, 'the flow cookie binding too')
})
