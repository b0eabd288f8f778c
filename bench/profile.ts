/**
 * Where the server's time goes: a V8 CPU profile (`node --cpu-prof`) summarised over the load window only
 * (start-up compiles modules for seconds): self time per function and per package (node_modules/<package>,
 * node: internals, the project's folders), and inclusive time of the project's own functions (which
 * feature's code, with everything it calls, holds the CPU).
 */
import { readFileSync } from "node:fs"

interface CallFrame { readonly functionName: string; readonly url: string; readonly lineNumber: number }
interface ProfileNode { readonly id: number; readonly callFrame: CallFrame; readonly children?: ReadonlyArray<number> }
interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const projectFolders = /\/(reference|devices|simulator|cli|reports|scenarios|bench)\//

const packageOf = (url: string) => {
  if (url === "") return "(native / V8 / idle)"
  if (url.startsWith("node:")) return "node: internals"
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (inModules) return inModules[1]!
  const own = projectFolders.exec(url)
  return own ? `project ${own[1]}/` : url
}

const labelOf = (frame: CallFrame) =>
  `${frame.functionName || "(anonymous)"} ${frame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(reference|devices|simulator|cli|reports|bench)\//, "$1/")}:${frame.lineNumber + 1}`

const top = (entries: Map<string, number>, total: number, count: number) => [...entries].sort((a, b) => b[1] - a[1]).slice(0, count)
  .map(([name, hits]) => ({ name, percent: Math.round((hits / total) * 1_000) / 10 }))

/** The profile's samples of the last `windowMs` before its end, summarised. */
export const summariseProfile = (file: string, windowMs: number, count = 15) => {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parentOf = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)
  const fromMicros = profile.endTime - windowMs * 1_000
  const selfByFunction = new Map<string, number>()
  const selfByPackage = new Map<string, number>()
  const inclusiveProject = new Map<string, number>()
  let atMicros = profile.startTime
  let counted = 0
  profile.samples.forEach((nodeId, index) => {
    atMicros += profile.timeDeltas[index] ?? 0
    if (atMicros < fromMicros) return
    const node = byId.get(nodeId)
    if (!node) return
    counted++
    const label = labelOf(node.callFrame)
    selfByFunction.set(label, (selfByFunction.get(label) ?? 0) + 1)
    const pkg = packageOf(node.callFrame.url)
    selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + 1)
    const seen = new Set<string>()
    for (let current: number | undefined = nodeId; current !== undefined; current = parentOf.get(current)) {
      const frame = byId.get(current)!.callFrame
      if (!projectFolders.test(frame.url)) continue
      const projectLabel = labelOf(frame)
      if (seen.has(projectLabel)) continue
      seen.add(projectLabel)
      inclusiveProject.set(projectLabel, (inclusiveProject.get(projectLabel) ?? 0) + 1)
    }
  })
  const total = Math.max(1, counted)
  return {
    windowMs, samples: counted,
    functions: top(selfByFunction, total, count), packages: top(selfByPackage, total, count), project: top(inclusiveProject, total, count)
  }
}
