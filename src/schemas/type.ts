// The schema builders the resource schemas use, made as TypeBox makes them: the same JSON Schema, key for key, with
// the same hidden markers (`~kind`, `~optional`, `~unsafe`), and TypeBox's own signatures, so that `Static` derives the
// same types. TypeBox itself is only the type engine here: its runtime is about 370 modules, a fifth of what a start
// loaded, for the few builders below (test/schemas/type.test.ts holds each to TypeBox's output).
import type TypeBox from 'typebox'

export type Builders = Pick<
  typeof TypeBox,
  'Array' | 'Boolean' | 'Integer' | 'Null' | 'Number' | 'Object' | 'Optional' | 'String' | 'Union' | 'Unsafe'
>

type Schema = Record<string, unknown>

// names an object may not take as its own (TypeBox skips them too)
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

function hide<T extends object>(target: T, key: string, value: unknown): T {
  return Object.defineProperty(target, key, { configurable: true, writable: true, enumerable: false, value })
}

/** A new schema of `kind`: its own keywords, then the caller's options. */
function create(kind: string, keywords: Schema, options: Schema = {}): Schema {
  return hide({ ...keywords, ...options }, '~kind', kind)
}

/** A copy of `current`, every property as it was (hidden ones hidden), with one hidden marker added. */
function mark(current: Schema, key: string, value: unknown): Schema {
  const result: Schema = {}
  for (const name of Object.getOwnPropertyNames(current)) {
    if (name === key || UNSAFE_KEYS.has(name)) continue
    Object.defineProperty(result, name, Object.getOwnPropertyDescriptor(current, name) as PropertyDescriptor)
  }
  return hide(result, key, value)
}

const builders = {
  Array: (items: Schema, options?: Schema) => create('Array', { type: 'array', items }, options),
  Boolean: (options?: Schema) => create('Boolean', { type: 'boolean' }, options),
  Integer: (options?: Schema) => create('Integer', { type: 'integer' }, options),
  Null: (options?: Schema) => create('Null', { type: 'null' }, options),
  Number: (options?: Schema) => create('Number', { type: 'number' }, options),
  Object: (properties: Record<string, Schema>, options?: Schema) => {
    const required = Object.getOwnPropertyNames(properties).filter(
      (name) => !Object.hasOwn(properties[name] as Schema, '~optional'),
    )
    return create('Object', { type: 'object', ...(required.length > 0 ? { required } : {}), properties }, options)
  },
  Optional: (schema: Schema) => mark(schema, '~optional', true),
  String: (options?: Schema) => create('String', { type: 'string' }, options),
  Union: (anyOf: Schema[], options?: Schema) => create('Union', { anyOf }, options),
  Unsafe: (schema: Schema) => mark(schema, '~unsafe', null),
}

export const Type = builders as unknown as Builders
