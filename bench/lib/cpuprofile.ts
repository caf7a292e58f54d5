// Reading V8 CPU profiles (node --cpu-prof, as `npm run bench -- --profile` writes them), for bench/profile-top.ts
// and bench/flamegraph.ts.
import { readFileSync } from 'node:fs'

export interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface LoadedProfile {
  root: ProfileNode
  byId: Map<number, ProfileNode>
  /** Child id → parent id. */
  parents: Map<number, number>
  /** Self time per node in microseconds, idle left out. */
  self: Map<number, number>
  /** Microseconds sampled, idle included, and busy (idle left out). */
  sampled: number
  busy: number
}

export const isIdle = (node: ProfileNode) => node.callFrame.functionName === '(idle)'

/** Loads a profile, counting only the samples taken after the first `fromSeconds` (the start: modules, migrations). */
export function readProfile(file: string, fromSeconds = 0): LoadedProfile {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parents = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
  const self = new Map<number, number>()
  let elapsed = 0
  let sampled = 0
  let busy = 0
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    elapsed += delta
    if (elapsed < fromSeconds * 1e6) return
    sampled += delta
    if (isIdle(byId.get(id) as ProfileNode)) return
    busy += delta
    self.set(id, (self.get(id) ?? 0) + delta)
  })
  return { root: profile.nodes[0] as ProfileNode, byId, parents, self, sampled, busy }
}

/** The package a frame's file belongs to, Node's module name, or the path under dist/, src/, bench/ or test/. */
export function area(url: string): string {
  if (!url) return '(native)'
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (modules) return modules[1] as string
  if (url.startsWith('node:')) return url
  const local = /\/(dist|src|bench|test)\/(.*)$/.exec(url)
  return local ? `${local[1]}/${local[2]}` : url
}

export function frameLabel(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  return `${functionName || '(anonymous)'} ${area(url)}${url ? `:${lineNumber + 1}` : ''}`
}

/** The value of `--name=value` among the arguments. */
export const optionOf = (args: readonly string[], name: string): string | undefined =>
  args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)
