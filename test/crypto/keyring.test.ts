import t from 'tap'
import { cipherContext, DecryptionError, Keyring } from '../../src/crypto/keyring.js'
import { testKeys } from '../helper.js'

const context = cipherContext('connections', 'row-1', 'refresh_token')

t.test('round trip', async (t) => {
  const ring = new Keyring([testKeys.primary])
  const secret = 'rt-üñî-' + 'x'.repeat(500)
  const sealed = ring.encrypt(secret, context)
  t.equal(ring.decrypt(sealed, context), secret)
  t.equal(ring.keyIdOf(sealed), 'k1')
  t.notOk(Buffer.from(sealed).includes(Buffer.from('rt-')), 'the plaintext does not appear in the ciphertext')
})

t.test('each encryption uses a fresh nonce', async (t) => {
  const ring = new Keyring([testKeys.primary])
  const a = Buffer.from(ring.encrypt('same', context))
  const b = Buffer.from(ring.encrypt('same', context))
  t.not(a.toString('hex'), b.toString('hex'))
  t.not(a.subarray(4, 16).toString('hex'), b.subarray(4, 16).toString('hex'), 'the IVs differ')
})

t.test('IVs stay distinct over many encryptions, across rings and past each block of random bytes', async (t) => {
  const rings = [new Keyring([testKeys.primary]), new Keyring([testKeys.primary])]
  const ivs = new Set<string>()
  for (let i = 0; i < 2_000; i++) {
    const sealed = Buffer.from((rings[i % 2] as Keyring).encrypt('same', context))
    ivs.add(sealed.subarray(4, 16).toString('hex'))
  }
  t.equal(ivs.size, 2_000, 'no IV used twice')
  t.notOk(ivs.has('00'.repeat(12)), 'no IV of zeros')
})

t.test('a flipped bit anywhere is rejected', async (t) => {
  const ring = new Keyring([testKeys.primary])
  const sealed = ring.encrypt('refresh-token-value', context)
  // every byte after the key id: IV, tag, and body
  for (let i = 4; i < sealed.length; i++) {
    const tampered = Uint8Array.from(sealed)
    tampered[i] = (tampered[i] as number) ^ 0x01
    t.throws(() => ring.decrypt(tampered, context), DecryptionError, `byte ${i}`)
  }
})

t.test('a truncated tag is rejected', async (t) => {
  const ring = new Keyring([testKeys.primary])
  const sealed = Buffer.from(ring.encrypt('refresh-token-value', context))
  const kidLength = sealed[1] as number
  const tagStart = 2 + kidLength + 12
  // keep a 4-byte tag and the body: Node accepts short tags unless authTagLength is pinned on the decipher
  const truncated = Buffer.concat([sealed.subarray(0, tagStart + 4), sealed.subarray(tagStart + 16)])
  t.throws(() => ring.decrypt(truncated, context), DecryptionError)
  t.throws(() => ring.decrypt(sealed.subarray(0, tagStart + 8), context), DecryptionError, 'cut short')
})

t.test('a wrong key is rejected', async (t) => {
  const sealed = new Keyring([testKeys.primary]).encrypt('value', context)
  const impostor = new Keyring([{ id: 'k1', key: Buffer.alloc(32, 9) }])
  t.throws(() => impostor.decrypt(sealed, context), DecryptionError)
  t.throws(() => new Keyring([testKeys.secondary]).decrypt(sealed, context), /unknown key id/)
})

t.test('a ciphertext moved to another row or column is rejected', async (t) => {
  const ring = new Keyring([testKeys.primary])
  const sealed = ring.encrypt('value', context)
  t.throws(() => ring.decrypt(sealed, cipherContext('connections', 'row-2', 'refresh_token')), DecryptionError)
  t.throws(() => ring.decrypt(sealed, cipherContext('connections', 'row-1', 'access_token')), DecryptionError)
})

t.test('rotation: encrypt with the first key, decrypt with any', async (t) => {
  const old = new Keyring([testKeys.primary])
  const sealedOld = old.encrypt('old value', context)
  const rotated = new Keyring([testKeys.secondary, testKeys.primary])
  t.equal(rotated.decrypt(sealedOld, context), 'old value')
  t.notOk(rotated.isPrimary(sealedOld))
  const sealedNew = rotated.encrypt('new value', context)
  t.equal(rotated.keyIdOf(sealedNew), 'k2')
  t.ok(rotated.isPrimary(sealedNew))
})

t.test('key checks', async (t) => {
  t.throws(() => new Keyring([]), /at least one key/)
  t.throws(() => new Keyring([{ id: 'short', key: Buffer.alloc(16) }]), /32 bytes/)
  t.throws(() => new Keyring([testKeys.primary, testKeys.primary]), /duplicate/)
})
