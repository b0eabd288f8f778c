/**
 * Where the server's time goes: a V8 CPU profile (`node --cpu-prof`) summarised by self time, per function
 * and per package (node_modules/<package>, node: internals, the project's own folders).
 */
import { readFileSync } from "node:fs"

interface ProfileNode { readonly id: number; readonly hitCount?: number; readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number } }
interface CpuProfile { readonly nodes: ReadonlyArray<ProfileNode>; readonly startTime: number; readonly endTime: number; readonly samples: ReadonlyArray<number> }

const packageOf = (url: string) => {
  if (url === "") return "(native / V8)"
  if (url.startsWith("node:")) return "node: internals"
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (inModules) return inModules[1]!
  const own = /\/(reference|devices|simulator|cli|reports|scenarios|bench)\//.exec(url)
  return own ? `project ${own[1]}/` : url
}

export const summariseProfile = (file: string, top = 15) => {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile
  const totalSamples = profile.samples.length || 1
  const byFunction = new Map<string, number>()
  const byPackage = new Map<string, number>()
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0
    if (hits === 0) continue
    const frame = node.callFrame
    const name = `${frame.functionName || "(anonymous)"} ${frame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/(reference|devices|simulator|cli|reports|bench)\//, "$1/")}:${frame.lineNumber + 1}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits)
    const pkg = packageOf(frame.url)
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits)
  }
  const share = (entries: Map<string, number>) => [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, hits]) => ({ name, percent: Math.round((hits / totalSamples) * 1_000) / 10 }))
  return { durationMs: (profile.endTime - profile.startTime) / 1_000, functions: share(byFunction), packages: share(byPackage) }
}
