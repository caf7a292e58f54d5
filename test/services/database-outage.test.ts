// The outage rules on their own clock: what is recalled, from when, for how long, and how many answers are kept.
import pino from 'pino'
import t from 'tap'
import { DatabaseOutage, LastKnown, type OutageRules } from '../../src/services/database-outage.js'

function setUp(rules: OutageRules, maxEntries?: number) {
  const clock = { ms: 1_000_000 }
  const now = () => clock.ms
  const outage = new DatabaseOutage(rules, now, pino({ level: 'silent' }))
  return { clock, outage, known: new LastKnown<string>(outage, now, maxEntries) }
}

t.test('recalls answers read within the window before the outage, for the grace into it', async (t) => {
  const { clock, outage, known } = setUp({ graceMs: 10_000, windowMs: 60_000 })
  known.confirm('old', 'a')
  clock.ms += 30_000
  known.confirm('recent', 'b')
  clock.ms += 40_000
  t.equal(known.recall('recent'), 'b', 'read 40 s before the outage')
  t.equal(known.recall('old'), undefined, 'read 70 s before the outage')
  t.equal(known.recall('unknown'), undefined)
  clock.ms += 10_000
  t.equal(known.recall('recent'), 'b', 'at the end of the grace')
  clock.ms += 1
  t.equal(known.recall('recent'), undefined, 'past the grace')
  outage.reached()
  known.confirm('recent', 'c')
  t.equal(known.recall('recent'), 'c', 'a new outage starts its own grace')
})

t.test('a grace of 0 keeps nothing', async (t) => {
  const { known } = setUp({ graceMs: 0, windowMs: 60_000 })
  known.confirm('key', 'a')
  t.equal(known.size, 0)
  t.equal(known.recall('key'), undefined)
})

t.test('bounded in count: the least recently read go first; forgotten ones are not recalled', async (t) => {
  const { known } = setUp({ graceMs: 10_000, windowMs: 60_000 }, 3)
  known.confirm('a', '1')
  known.confirm('b', '2')
  known.confirm('a', '3')
  known.confirm('c', '4')
  known.confirm('d', '5')
  t.equal(known.size, 3)
  t.equal(known.recall('b'), undefined, 'the least recently read went')
  t.equal(known.recall('a'), '3')
  known.forget('a')
  t.equal(known.recall('a'), undefined)
  t.equal(known.recall('d'), '5')
})

t.test('answers read longer ago than the window go as new ones are confirmed, the oldest first', async (t) => {
  const { clock, outage, known } = setUp({ graceMs: 10_000, windowMs: 60_000 })
  known.confirm('a', '1')
  clock.ms += 30_000
  known.confirm('b', '2')
  clock.ms += 30_000
  known.confirm('c', '3')
  t.equal(known.size, 3, 'a was read exactly a window ago: kept')
  clock.ms += 1
  known.confirm('d', '4')
  t.equal(known.size, 3)
  t.notOk(known.has('a'), 'read more than a window ago: gone')
  t.ok(known.has('b') && known.has('c') && known.has('d'))
  clock.ms += 5_000
  t.equal(known.recall('b'), '2', 'what stays is recalled as before')
  outage.reached()
})
