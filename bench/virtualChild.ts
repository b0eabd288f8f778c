/**
 * One measurement of virtual mode, in a process of its own so its peak memory is its own (bench/virtual.ts starts it):
 * - `handler`: the baseline, the server's in-process web handler answering GET /ticket-keys (no store) one request
 *   after another on the ordinary clock and scheduler: what a request costs without the simulation around it;
 * - `run <scenario> <passengers> <seed>`: the scenario in virtual mode with that many passengers, audit included.
 * Prints one JSON line on stdout.
 */
import { Clock, Random } from "effect"
import { loadScenario } from "../cli/scenarioFile.js"
import { inProcessHandler } from "../reference/Server.js"
import { sqliteStore } from "../reference/Store/Sqlite.js"
import { isRequest } from "../reports/metrics.js"
import { runVirtual } from "../simulator/Virtual.js"

/** how many requests the baseline sends, after `handlerWarmupRequests` it does not time */
export const handlerRequests = 5_000
export const handlerWarmupRequests = 500

const cpuMsSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1_000
}

const measureHandler = async () => {
  const { handler, dispose } = inProcessHandler({
    settings: {}, store: sqliteStore({ filename: ":memory:" }), clock: Clock.make(), random: Random.make("bench"), tracing: false
  })
  try {
    const ask = async () => {
      const response = await handler(new Request("http://chunyun.invalid/ticket-keys"))
      if (response.status !== 200) throw new Error(`GET /ticket-keys answered ${response.status}`)
      await response.arrayBuffer()
    }
    for (let index = 0; index < handlerWarmupRequests; index++) await ask()
    const startMs = performance.now()
    for (let index = 0; index < handlerRequests; index++) await ask()
    return { requestsPerSecond: handlerRequests / ((performance.now() - startMs) / 1_000) }
  } finally {
    await dispose()
  }
}

const measureRun = async (file: string, passengers: number, seed: number) => {
  const loaded = await loadScenario(file)
  const scenario = { ...loaded, passengers: { ...loaded.passengers, count: passengers } }
  const cpuStart = process.cpuUsage()
  const wallStartMs = performance.now()
  const outcome = await runVirtual(scenario, seed)
  const wallMs = performance.now() - wallStartMs
  let requests = 0
  for (const event of outcome.history.read()) if (isRequest(event)) requests++
  return {
    passengers, wallMs, cpuMs: cpuMsSince(cpuStart), virtualMs: outcome.endMs - outcome.startMs,
    requests,
    violations: outcome.invariants.reduce((sum, invariant) => sum + invariant.violations, 0),
    maxRssBytes: process.resourceUsage().maxRSS * 1_024
  }
}

const [mode, file, passengers, seed] = process.argv.slice(2)
const result = mode === "handler" ? await measureHandler() : await measureRun(file!, Number(passengers), Number(seed ?? "42"))
console.log(JSON.stringify(result))
process.exit(0)
