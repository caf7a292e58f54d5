// Draws a V8 CPU profile (node --cpu-prof, as `npm run bench -- --profile` writes them) as a flame graph in SVG:
// one box per call path, as wide as the time spent in it and below it, callers under callees' feet. Idle time is
// left out; hovering a box shows its frame, time and share.
//   node --import tsx bench/flamegraph.ts <file.cpuprofile> [--from=<seconds>] [--title=<text>] > flame.svg
// Colours: the broker's own code (dist/) orange, packages green, Node's internals blue, native frames grey.
import { frameLabel, isIdle, optionOf, readProfile, type ProfileNode } from './lib/cpuprofile.js'

const WIDTH = 1200
const ROW = 17
const MIN_WIDTH = 0.3

const args = process.argv.slice(2)
const file = args.find((arg) => !arg.startsWith('--'))
if (!file) {
  console.error('usage: bench/flamegraph.ts <file.cpuprofile> [--from=<seconds>] [--title=<text>]')
  process.exit(2)
}
const fromSeconds = Number(optionOf(args, 'from') ?? 0)
const { root, byId, self, busy } = readProfile(file, fromSeconds)

const totals = new Map<number, number>()
function total(node: ProfileNode): number {
  const known = totals.get(node.id)
  if (known !== undefined) return known
  let sum = self.get(node.id) ?? 0
  for (const child of node.children ?? []) sum += total(byId.get(child) as ProfileNode)
  totals.set(node.id, sum)
  return sum
}

function colour(frame: ProfileNode['callFrame']): string {
  const jitter = (frame.functionName.length * 7) % 30
  if (!frame.url) return `hsl(0, 0%, ${70 + (jitter % 15)}%)`
  if (frame.url.includes('node_modules/')) return `hsl(${100 + jitter}, 55%, 60%)`
  if (frame.url.startsWith('node:')) return `hsl(${200 + jitter}, 60%, 70%)`
  return `hsl(${25 + jitter}, 90%, 60%)`
}

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

const boxes: string[] = []
let depthMax = 0
function draw(node: ProfileNode, x: number, depth: number): void {
  const width = (total(node) / busy) * WIDTH
  if (width < MIN_WIDTH) return
  depthMax = Math.max(depthMax, depth)
  if (node !== root) {
    const text = frameLabel(node)
    const ms = (total(node) / 1000).toFixed(0)
    const share = ((total(node) / busy) * 100).toFixed(1)
    const chars = Math.floor((width - 4) / 6.5)
    const shown = chars >= 3 ? (text.length > chars ? `${text.slice(0, chars - 1)}…` : text) : ''
    boxes.push(
      `<g><title>${escape(text)}: ${ms} ms, ${share}%</title>` +
        `<rect x="${x.toFixed(2)}" y="${depth}" width="${width.toFixed(2)}" height="${ROW - 1}" fill="${colour(node.callFrame)}" rx="1"/>` +
        (shown ? `<text x="${(x + 2).toFixed(2)}" y="${depth}" dy="12">${escape(shown)}</text>` : '') +
        '</g>',
    )
  }
  let offset = x
  const children = (node.children ?? []).map((id) => byId.get(id) as ProfileNode).filter((child) => !isIdle(child))
  for (const child of children.sort((a, b) => frameLabel(a).localeCompare(frameLabel(b)))) {
    draw(child, offset, depth + 1)
    offset += (total(child) / busy) * WIDTH
  }
}
draw(root, 0, 0)

// depth counts from the root upwards; SVG y grows downwards, so flip it: the root's children sit at the bottom
const height = (depthMax + 2) * ROW + 30
const flipped = boxes.map((box) =>
  box.replace(/ y="(\d+)"/g, (_, depth: string) => ` y="${height - 10 - (Number(depth) + 1) * ROW}"`),
)
const title = optionOf(args, 'title') ?? file.split('/').pop() ?? 'profile'
process.stdout.write(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace" font-size="11">\n` +
    `<rect width="100%" height="100%" fill="#fff"/>\n` +
    `<text x="4" y="16" font-size="13">${escape(title)}: ${(busy / 1000).toFixed(0)} ms busy` +
    `${fromSeconds ? ` after the first ${fromSeconds} s` : ''} (idle left out)</text>\n` +
    flipped.join('\n') +
    '\n</svg>\n',
)
