import { inspect } from 'node:util'

/**
 * A decrypted secret (token, client secret, verifier). It prints as [secret] in logs, JSON and inspection,
 * so a secret can only leave through an explicit reveal().
 */
export class Secret {
  readonly #value: string

  constructor(value: string) {
    this.#value = value
  }

  reveal(): string {
    return this.#value
  }

  toString(): string {
    return '[secret]'
  }

  toJSON(): string {
    return '[secret]'
  }

  [inspect.custom](): string {
    return '[secret]'
  }
}
