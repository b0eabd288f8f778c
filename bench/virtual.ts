/**
 * Virtual mode's speed and memory: a scenario run in virtual mode at two passenger counts, each in a fresh process
 * (bench/virtualChild.ts), beside the baseline measured in the same bench run, the server's in-process handler on a
 * no-store endpoint. Prints, per run: wall and CPU time, simulated requests per wall-second (and its ratio to the
 * baseline), acceleration (virtual time ÷ wall time), peak RSS, and memory per passenger as the slope between the
 * two runs (what one more passenger costs, the process's fixed size left out).
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const childEntry = fileURLToPath(new URL("./virtualChild.ts", import.meta.url))
/** the longest one measurement may take before the bench gives up on it */
export const maxVirtualRunMs = 120 * 60_000

export interface VirtualRun {
  readonly passengers: number
  readonly wallMs: number
  readonly cpuMs: number
  readonly virtualMs: number
  readonly requests: number
  readonly violations: number
  readonly maxRssBytes: number
}

const measure = <A>(args: ReadonlyArray<string>) => new Promise<A>((resolve, reject) => {
  const child = spawn(process.execPath, ["--max-semi-space-size=64", "--import", "tsx", childEntry, ...args], { stdio: ["ignore", "pipe", "inherit"] })
  let output = ""
  const timer = setTimeout(() => child.kill("SIGKILL"), maxVirtualRunMs)
  child.stdout.on("data", (chunk: Buffer) => { output += chunk.toString() })
  child.once("exit", (code, signal) => {
    clearTimeout(timer)
    const line = output.trim().split("\n").at(-1) ?? ""
    if (code === 0 && line.startsWith("{")) resolve(JSON.parse(line) as A)
    else reject(new Error(`virtual bench child ${args.join(" ")} exited with ${signal ?? code}: ${output.slice(-500)}`))
  })
})

export const virtualBench = async (scenarioFile: string, passengerCounts: ReadonlyArray<number>, seed: number, say: (line: string) => void) => {
  const baseline = await measure<{ requestsPerSecond: number }>(["handler"])
  say(`   baseline: the server's in-process handler, GET /ticket-keys (no store), one request after another: ${Math.round(baseline.requestsPerSecond)} req/s`)
  const runs: Array<VirtualRun> = []
  for (const passengers of passengerCounts) {
    const run = await measure<VirtualRun>(["run", scenarioFile, String(passengers), String(seed)])
    runs.push(run)
    const perWallSecond = run.requests / (run.wallMs / 1_000)
    say(`   ${String(passengers).padStart(9)} passengers: ${run.requests} requests in ${(run.wallMs / 1_000).toFixed(1)} s wall (CPU ${Math.round((run.cpuMs / run.wallMs) * 100)} % of it);`
      + ` ${Math.round(perWallSecond)} simulated requests per wall-second (ratio to baseline ${(perWallSecond / baseline.requestsPerSecond).toFixed(3)});`
      + ` acceleration ${Math.round(run.virtualMs / run.wallMs)}×; peak RSS ${Math.round(run.maxRssBytes / 1_048_576)} MB; ${run.violations} invariant violations`)
  }
  const [small, large] = [runs[0], runs.at(-1)]
  if (small !== undefined && large !== undefined && large.passengers > small.passengers) {
    const bytesPerPassenger = (large.maxRssBytes - small.maxRssBytes) / (large.passengers - small.passengers)
    say(`   memory per passenger (peak RSS slope between ${small.passengers} and ${large.passengers}): ${(bytesPerPassenger / 1_024).toFixed(1)} KB`)
  }
  return { baseline, runs }
}
