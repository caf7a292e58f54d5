import t from 'tap'
import { ClaimedInTick } from '../../src/scheduler/claimed-in-tick.js'

t.test('what a claim leaves out: in flight, nothing stored, and the finished once they are due again', async (t) => {
  const seen = new ClaimedInTick()
  seen.claimed('a')
  seen.claimed('b')
  seen.claimed('c')
  t.same(seen.exclude(0).sort(), ['a', 'b', 'c'], 'in flight')
  seen.finished('a', Infinity)
  seen.finished('b', -Infinity)
  seen.finished('c', 5_000)
  t.same(seen.exclude(1_000), ['b'], 'nothing stored: left out; no next refresh: never; due later: not yet')
  t.same(seen.exclude(5_000).sort(), ['b', 'c'], 'due again: left out from then on')
  t.same(seen.exclude(9_000).sort(), ['b', 'c'])
})

t.test('finished connections come due in the order of their times, however they finished', async (t) => {
  const seen = new ClaimedInTick()
  const times = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 500) * 10)
  times.forEach((at, i) => {
    seen.claimed(`c${i}`)
    seen.finished(`c${i}`, at)
  })
  for (const now of [0, 990, 2_500, 4_990]) {
    const expected = times.flatMap((at, i) => (at <= now ? [`c${i}`] : [])).sort()
    t.same(seen.exclude(now).sort(), expected, `at ${now}: the ${expected.length} due by then`)
  }
})
