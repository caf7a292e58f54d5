// The project's schema builders against TypeBox's: for each builder, with and without options, nested in the others,
// the same keys in the same order, the same values, the same hidden markers.
import t from 'tap'
import TypeBox from 'typebox'
import { Type, type Builders } from '../../src/schemas/type.js'

/** Every own property, hidden ones too, in order, as [path, enumerable, value] with objects walked. */
function layout(value: unknown, path = '$'): unknown[] {
  if (typeof value !== 'object' || value === null) return [[path, value]]
  const rows: unknown[] = [[path, Array.isArray(value) ? 'array' : 'object']]
  for (const key of Object.getOwnPropertyNames(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key) as PropertyDescriptor
    if (Array.isArray(value) && key === 'length') continue
    rows.push([`${path}.${key}`, descriptor.enumerable ? 'enumerable' : 'hidden'])
    rows.push(...layout(descriptor.value, `${path}.${key}`))
  }
  return rows
}

/** The same schemas built with either set of builders. */
function samples(T: Builders): Record<string, unknown> {
  const nullable = T.Unsafe<string | null>({ ...T.String({ maxLength: 4 }), nullable: true })
  return {
    string: T.String(),
    stringWithOptions: T.String({ minLength: 1, maxLength: 256, pattern: '^a', description: 'd', example: 'x' }),
    integer: T.Integer({ minimum: 1, maximum: 500, default: 50 }),
    number: T.Number(),
    boolean: T.Boolean({ description: 'b' }),
    null: T.Null({ description: 'No content' }),
    array: T.Array(T.String(), { minItems: 1, maxItems: 3 }),
    union: T.Union([T.String(), T.Array(T.String())], { description: 'one or many' }),
    unsafe: T.Unsafe<Date>({ type: 'string', format: 'date-time' }),
    nullable,
    optional: T.Optional(T.String({ format: 'uri' })),
    optionalUnsafe: T.Optional(nullable),
    object: T.Object(
      {
        id: T.String({ format: 'uuid' }),
        name: T.Optional(T.String()),
        tags: T.Optional(T.Array(T.Union([T.String(), T.Number(), T.Boolean()]))),
        nested: T.Object({ only: T.Optional(T.Integer()) }, { additionalProperties: false }),
      },
      { description: 'o', additionalProperties: false, example: { id: 'x' } },
    ),
    allOptional: T.Object({ a: T.Optional(T.String()) }),
    empty: T.Object({}),
  }
}

const ours = samples(Type)
const theirs = samples(TypeBox)

t.test('each builder makes what TypeBox makes', async (t) => {
  t.same(Object.keys(ours), Object.keys(theirs))
  for (const name of Object.keys(theirs)) {
    t.same(layout(ours[name]), layout(theirs[name]), name)
    t.equal(JSON.stringify(ours[name]), JSON.stringify(theirs[name]), `${name} as JSON`)
  }
})

t.test('TypeBox reads our schemas as its own kinds', async (t) => {
  t.ok(TypeBox.IsObject(ours.object))
  t.ok(TypeBox.IsOptional(ours.optional))
  t.ok(TypeBox.IsUnsafe(ours.unsafe))
  t.ok(TypeBox.IsUnion(ours.union))
  t.notOk(TypeBox.IsOptional(ours.string))
})

t.test('a builder leaves what it was given as it was', async (t) => {
  const inner = Type.String()
  const optional = Type.Optional(inner)
  t.notOk(Object.hasOwn(inner, '~optional'), 'the schema made optional is a copy')
  t.ok(Object.hasOwn(optional, '~optional'))
  const options = { description: 'd' }
  Type.Object({ a: inner }, options)
  t.same(options, { description: 'd' })
})
