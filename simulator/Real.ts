/**
 * Real mode: the server is its own process on 127.0.0.1, devices talk HTTP over loopback, and the
 * workload is open: each passenger starts at its intended time whatever the server is doing, up to
 * `maxPassengersInFlight` (beyond that an arrival is dropped and counted, as k6's dropped_iterations).
 * The scenario's timeline runs `timeScale` times faster than the wall clock, on the server too.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Fiber, ManagedRuntime, Random } from "effect"
import { phoneJourney } from "../devices/Phone.js"
import { defaultSettings } from "../reference/Config.js"
import { sqliteStore } from "../reference/Server.js"
import type { Scenario } from "../scenarios/Scenario.js"
import { audit } from "./Auditor.js"
import { History } from "./History.js"
import { population, scenarioEndMs } from "./Population.js"
import { RealTimeline } from "./RealTimeline.js"
import { departureOf, phoneEnvironment, setUp } from "./Setup.js"
import type { RunOptions, RunOutcome } from "./Virtual.js"

export const serverStartTimeoutMs = 30_000
/** how long a server has to shut down on SIGTERM before it is killed */
export const serverStopTimeoutMs = 10_000

export interface ServerProcess {
  readonly baseUrl: string
  readonly pid: number | undefined
  /** SIGTERM, then SIGKILL after `serverStopTimeoutMs`; resolves once the process has exited */
  readonly stop: () => Promise<void>
  /** move the server's scenario clock to `offsetMs` past its scaled time; resolves on the server's ack */
  readonly advanceClock: (offsetMs: number) => Promise<void>
}

/** Start `chunyun serve` as a child process and wait for its "listening" line. */
export const startServerProcess = (cliEntry: string, args: ReadonlyArray<string>): Promise<ServerProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", cliEntry, "serve", ...args], { stdio: ["ignore", "pipe", "inherit", "ipc"] })
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`server did not start within ${serverStartTimeoutMs} ms`)) }, serverStartTimeoutMs)
    const stdout = child.stdout
    if (!stdout) return reject(new Error("server process has no stdout"))
    let buffered = ""
    stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString()
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/i.exec(buffered)
      if (!match) return
      clearTimeout(timer)
      stdout.removeAllListeners("data")
      stdout.resume()
      resolve({
        baseUrl: match[1]!,
        pid: child.pid,
        advanceClock: (offsetMs) => new Promise<void>((done, fail) => {
          const onMessage = (message: { type?: string; offsetMs?: number }) => {
            if (message?.type !== "clock-offset-ack" || (message.offsetMs ?? -1) < offsetMs) return
            child.off("message", onMessage)
            done()
          }
          child.on("message", onMessage)
          if (!child.send({ type: "clock-offset", offsetMs })) fail(new Error("server IPC channel closed"))
        }),
        stop: () => new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done()
          const killer = setTimeout(() => child.kill("SIGKILL"), serverStopTimeoutMs)
          child.once("exit", () => { clearTimeout(killer); done() })
          child.kill("SIGTERM")
        })
      })
    })
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited with code ${code} before listening`)) })
  })

/** The scenario's server design (issue 7's knobs) as `chunyun serve` flags. */
export const serverDesignArgs = (scenario: Scenario, options: RunOptions = {}): ReadonlyArray<string> => [
  "--inventory", scenario.server.inventory, ...(options.allowUnsafeInventory ? ["--unsafe"] : []),
  "--max-queued-holds", String(scenario.server.maxQueuedHoldsPerRun),
  "--batching", scenario.server.batching,
  "--group-commit-window-ms", String(scenario.server.groupCommitWindowMs),
  "--max-holds-per-group-commit", String(scenario.server.maxHoldsPerGroupCommit),
  "--issuance", scenario.server.issuance,
  "--outbox-poll-ms", String(scenario.server.outboxPollIntervalMs),
  "--outbox-batch-size", String(scenario.server.outboxBatchSize)
]

export const progressIntervalMs = 1_000

export const runReal = async (
  scenario: Scenario, seed: number, cliEntry: string, timeScale: number,
  onProgress?: (snapshot: { nowMs: number; history: History }) => void,
  options: RunOptions = {}
): Promise<RunOutcome & { dropped: number }> => {
  const workDir = mkdtempSync(join(tmpdir(), "chunyun-real-"))
  const dbPath = join(workDir, "chunyun.db")
  const startMs = Date.parse(scenario.startAt)
  const server = await startServerProcess(cliEntry, [
    "--port", "0", "--host", "127.0.0.1", "--db", dbPath,
    "--password-cost", String(scenario.server.passwordHashCostN), "--hold-ttl-ms", String(scenario.server.holdTtlMs),
    "--clock-start-ms", String(startMs), "--clock-scale", String(timeScale), ...serverDesignArgs(scenario, options)
  ])
  const timeline = new RealTimeline(startMs, timeScale, server.advanceClock)
  const scenarioNow = Effect.sync(() => timeline.nowMs())
  const sleepScenario = (ms: number) => timeline.sleep(ms)
  const history = new History(scenarioNow)
  let dropped = 0
  const progress = onProgress && setInterval(() => onProgress({ nowMs: timeline.nowMs(), history }), progressIntervalMs)
  const devices = ManagedRuntime.make(NodeHttpClient.layerUndici)
  try {
    const departureEpochMs = departureOf(scenario)
    const program = Effect.gen(function* () {
      const prepared = yield* setUp(scenario, server.baseUrl, defaultSettings.adminKey)
      const environment = yield* phoneEnvironment(scenario, prepared, history, server.baseUrl, {
        sleepScenario, scenarioNowMs: scenarioNow, networkDelay: Effect.void
      })
      const fibers: Array<Fiber.RuntimeFiber<void>> = []
      let inFlight = 0
      for (const arrival of yield* population(scenario)) {
        yield* sleepScenario(arrival.arrivalAtMs - (yield* scenarioNow))
        if (inFlight >= scenario.real.maxPassengersInFlight) { dropped++; continue }
        inFlight++
        const journey = phoneJourney(environment, arrival.passenger, Effect.sync(() => { inFlight-- }))
        fibers.push(yield* Effect.forkDaemon(timeline.actor(journey)))
      }
      return fibers
    })
    const fibers = await devices.runPromise(timeline.actor(program).pipe(Effect.withRandom(Random.make(`devices:${seed}`))))
    await devices.runPromise(Fiber.joinAll(fibers))
    const endMs = Math.min(timeline.nowMs(), scenarioEndMs(scenario, departureEpochMs))
    await server.stop()
    const store = ManagedRuntime.make(sqliteStore({ filename: dbPath }))
    const invariants = await store.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => audit(history).pipe(Effect.provideService(SqlClient.SqlClient, sql))))
    await store.dispose()
    return { history, invariants, startMs, endMs, dropped }
  } finally {
    clearInterval(progress)
    await server.stop().catch(() => undefined)
    await devices.dispose()
    rmSync(workDir, { recursive: true, force: true })
  }
}
