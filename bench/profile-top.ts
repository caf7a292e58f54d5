// Summarises a V8 CPU profile (node --cpu-prof, as `npm run bench -- --profile` writes them): the top frames by self
// time, and self time by package or source file, with idle time left out of the percentages.
//   node --import tsx bench/profile-top.ts bench/.work/profiles/CPU.….cpuprofile [--top=30] [--callers=writev]
// --callers=<function> lists the call paths that lead to that function instead, by the self time spent in it;
// --from=<seconds> leaves out the first seconds of the profile (the start: loading modules, migrations);
// --inclusive=<text> lists total time (self and callees) of the frames whose file contains <text>, e.g. dist/.
import { area, frameLabel, optionOf, readProfile, type ProfileNode } from './lib/cpuprofile.js'

process.stdout.on('error', () => process.exit(0)) // piped into head
const [file, ...options] = process.argv.slice(2)
if (!file) {
  console.error('usage: bench/profile-top.ts <file.cpuprofile> [--top=30]')
  process.exit(2)
}
const top = Number(optionOf(options, 'top') ?? 30)
const callersOf = optionOf(options, 'callers')
const inclusiveOf = optionOf(options, 'inclusive')
const { byId, parents, self: selfTime, sampled, busy } = readProfile(file, Number(optionOf(options, 'from') ?? 0))

const frames = new Map<string, number>()
const areas = new Map<string, number>()
for (const [id, micros] of selfTime) {
  const node = byId.get(id) as ProfileNode
  frames.set(frameLabel(node), (frames.get(frameLabel(node)) ?? 0) + micros)
  const where = area(node.callFrame.url)
  areas.set(where, (areas.get(where) ?? 0) + micros)
}

if (inclusiveOf) {
  const totals = new Map<string, number>()
  for (const [id, micros] of selfTime) {
    const counted = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const node = byId.get(at) as ProfileNode
      if (!node.callFrame.url.includes(inclusiveOf)) continue
      const key = frameLabel(node)
      if (counted.has(key)) continue
      counted.add(key)
      totals.set(key, (totals.get(key) ?? 0) + micros)
    }
  }
  for (const [key, micros] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${((micros / busy) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${key}`,
    )
  }
  process.exit(0)
}
if (callersOf) {
  const paths = new Map<string, number>()
  for (const [id, micros] of selfTime) {
    if ((byId.get(id) as ProfileNode).callFrame.functionName !== callersOf) continue
    const chain: string[] = []
    for (let at = parents.get(id); at !== undefined && chain.length < 8; at = parents.get(at)) {
      chain.push(frameLabel(byId.get(at) as ProfileNode))
    }
    const key = chain.join('\n           ← ')
    paths.set(key, (paths.get(key) ?? 0) + micros)
  }
  for (const [key, micros] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(micros / 1000).toFixed(0).padStart(7)} ms  ${key}\n`)
  }
  process.exit(0)
}
const print = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title}`)
  for (const [key, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${((micros / busy) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${key}`,
    )
  }
}
console.log(`${file}: ${(sampled / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy`)
print('self time by frame (% of busy)', frames)
print('self time by package or file (% of busy)', areas)
