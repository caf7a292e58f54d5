// Summarises a V8 CPU profile (node --cpu-prof, as `npm run bench -- --profile` writes them): the top frames by self
// time, and self time by package or source file, with idle time left out of the percentages.
//   node --import tsx bench/profile-top.ts bench/.work/profiles/CPU.….cpuprofile [--top=30] [--callers=writev]
// --callers=<function> lists the call paths that lead to that function instead, by the self time spent in it;
// --from=<seconds> leaves out the first seconds of the profile (the start: loading modules, migrations);
// --inclusive=<text> lists total time (self and callees) of the frames whose file contains <text>, e.g. dist/.
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

process.stdout.on('error', () => process.exit(0)) // piped into head
const [file, ...options] = process.argv.slice(2)
if (!file) {
  console.error('usage: bench/profile-top.ts <file.cpuprofile> [--top=30]')
  process.exit(2)
}
const top = Number(options.find((o) => o.startsWith('--top='))?.slice(6) ?? 30)
const callersOf = options.find((o) => o.startsWith('--callers='))?.slice(10)
const fromMicros = Number(options.find((o) => o.startsWith('--from='))?.slice(7) ?? 0) * 1e6
const inclusiveOf = options.find((o) => o.startsWith('--inclusive='))?.slice(12)
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))

const selfTime = new Map<number, number>()
let elapsed = 0
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0
  elapsed += delta
  if (elapsed >= fromMicros) selfTime.set(id, (selfTime.get(id) ?? 0) + delta)
})

function area(url: string): string {
  if (!url) return '(native)'
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (modules) return modules[1] as string
  if (url.startsWith('node:')) return url
  const local = /\/(dist|src|bench)\/(.*)$/.exec(url)
  return local ? `${local[1]}/${local[2]}` : url
}

const frames = new Map<string, number>()
const areas = new Map<string, number>()
let total = 0
let idle = 0
for (const [id, micros] of selfTime) {
  const node = byId.get(id) as ProfileNode
  const { functionName, url, lineNumber } = node.callFrame
  total += micros
  if (functionName === '(idle)') {
    idle += micros
    continue
  }
  const key = `${functionName || '(anonymous)'}  ${area(url)}${url ? `:${lineNumber + 1}` : ''}`
  frames.set(key, (frames.get(key) ?? 0) + micros)
  areas.set(area(url), (areas.get(area(url)) ?? 0) + micros)
}

const busy = total - idle
const parents = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
const label = (node: ProfileNode) =>
  `${node.callFrame.functionName || '(anonymous)'} ${area(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`
if (inclusiveOf) {
  const totals = new Map<string, number>()
  for (const [id, micros] of selfTime) {
    if ((byId.get(id) as ProfileNode).callFrame.functionName === '(idle)') continue
    const counted = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const node = byId.get(at) as ProfileNode
      if (!node.callFrame.url.includes(inclusiveOf)) continue
      const key = label(node)
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
      chain.push(label(byId.get(at) as ProfileNode))
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
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy`)
print('self time by frame (% of busy)', frames)
print('self time by package or file (% of busy)', areas)
