import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

// Ciphertext layout: version (1) | key id length (1) | key id | IV (12) | tag (16) | ciphertext.
// The key id travels with the value so that any key of the ring can decrypt and rotation needs no lookup.
const VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16
const KEY_BYTES = 32
// IVs are taken from a block of random bytes drawn at once: a draw from the system's generator per encryption was
// 5% of a scheduled refresh's CPU. The bytes are the same CSPRNG output, each used once; an IV is not secret.
const IV_POOL_BYTES = IV_BYTES * 256
let ivPool = Buffer.alloc(0)
let ivOffset = 0

function nextIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_BYTES)
    ivOffset = 0
  }
  ivOffset += IV_BYTES
  return ivPool.subarray(ivOffset - IV_BYTES, ivOffset)
}

export interface KeyringKey {
  id: string
  key: Buffer
}

/** Names the row and column a ciphertext belongs to; bound as associated data so values cannot be moved. */
export type CipherContext = `${string}|${string}|${string}`

export const cipherContext = (table: string, rowId: string, column: string): CipherContext =>
  `${table}|${rowId}|${column}`

export class DecryptionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DecryptionError'
  }
}

export class Keyring {
  readonly #keys: Map<string, Buffer>
  readonly primaryKeyId: string

  constructor(keys: readonly KeyringKey[]) {
    const [primary] = keys
    if (!primary) throw new TypeError('a keyring needs at least one key')
    this.#keys = new Map()
    for (const { id, key } of keys) {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw new TypeError(`invalid key id "${id}"`)
      if (key.length !== KEY_BYTES) throw new TypeError(`key "${id}" must be ${KEY_BYTES} bytes`)
      if (this.#keys.has(id)) throw new TypeError(`duplicate key id "${id}"`)
      this.#keys.set(id, Buffer.from(key))
    }
    this.primaryKeyId = primary.id
  }

  /** Encrypts under the primary key. */
  encrypt(plaintext: string, context: CipherContext): Uint8Array<ArrayBuffer> {
    return this.encryptUnder(this.primaryKeyId, plaintext, context)
  }

  /** Encrypts under the key `keyId` of the ring (the key checks need one value under each key). */
  encryptUnder(keyId: string, plaintext: string, context: CipherContext): Uint8Array<ArrayBuffer> {
    const key = this.#keys.get(keyId)
    if (!key) throw new TypeError(`no key "${keyId}" in the ring`)
    const kid = Buffer.from(keyId, 'utf8')
    const iv = nextIv()
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
    cipher.setAAD(associatedData(context))
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    const out = new Uint8Array(2 + kid.length + IV_BYTES + TAG_BYTES + body.length)
    out[0] = VERSION
    out[1] = kid.length
    out.set(kid, 2)
    out.set(iv, 2 + kid.length)
    out.set(cipher.getAuthTag(), 2 + kid.length + IV_BYTES)
    out.set(body, 2 + kid.length + IV_BYTES + TAG_BYTES)
    return out
  }

  decrypt(ciphertext: Uint8Array, context: CipherContext): string {
    const { kid, iv, tag, body } = parse(ciphertext)
    const key = this.#keys.get(kid)
    if (!key) throw new DecryptionError(`unknown key id "${kid}"`)
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
    decipher.setAAD(associatedData(context))
    decipher.setAuthTag(tag)
    try {
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
    } catch (cause) {
      throw new DecryptionError('ciphertext failed authentication', { cause })
    }
  }

  /** The ids of the ring's keys, the primary first. */
  get keyIds(): string[] {
    return [...this.#keys.keys()]
  }

  /** The id of the key a value was encrypted with. */
  keyIdOf(ciphertext: Uint8Array): string {
    return parse(ciphertext).kid
  }

  isPrimary(ciphertext: Uint8Array): boolean {
    return this.keyIdOf(ciphertext) === this.primaryKeyId
  }
}

function associatedData(context: CipherContext): Buffer {
  return Buffer.from(`v${VERSION}|${context}`, 'utf8')
}

function parse(ciphertext: Uint8Array) {
  const buf = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength)
  if (buf.length < 2 || buf[0] !== VERSION) throw new DecryptionError('unsupported ciphertext version')
  const kidLength = buf[1] as number
  const headerLength = 2 + kidLength + IV_BYTES + TAG_BYTES
  if (buf.length < headerLength) throw new DecryptionError('ciphertext too short')
  return {
    kid: buf.subarray(2, 2 + kidLength).toString('utf8'),
    iv: buf.subarray(2 + kidLength, 2 + kidLength + IV_BYTES),
    tag: buf.subarray(2 + kidLength + IV_BYTES, headerLength),
    body: buf.subarray(headerLength),
  }
}

/** Parses `kid:base64key,...`; the first key is the primary. */
export function parseKeyList(value: string): KeyringKey[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':')
      if (colon <= 0) throw new TypeError('each key must be written kid:base64key')
      const id = entry.slice(0, colon)
      const key = Buffer.from(entry.slice(colon + 1), 'base64')
      if (key.length !== KEY_BYTES)
        throw new TypeError(`key "${id}" must decode to ${KEY_BYTES} bytes, not ${key.length}`)
      return { id, key }
    })
}

export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES)
}
