/**
 * Real mode: the server is its own process on 127.0.0.1, devices talk HTTP over loopback, and the
 * workload is open: each passenger starts at its intended time whatever the server is doing, up to
 * `maxPassengersInFlight` (beyond that an arrival is dropped and counted, as k6's dropped_iterations).
 * The scenario's timeline runs `timeScale` times faster than the wall clock, on the server too.
 * With a `load` executor (Executors.ts) iterations start as it says instead (Load.ts), dropped beyond `maxVus`.
 * Latencies are measured from each call's intended send time (RealTimeline.sleep marks it), so a driver that
 * fell behind shows it in the percentiles (coordinated omission corrected, as wrk2).
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { Cause, Data, Effect, Exit, Fiber, Random } from "effect"
import type { Layer } from "effect"
import { sqliteStore } from "../reference/Store/Sqlite.js"
import { generateServeSecrets, serveSecretsEnv } from "../reference/ServeSecrets.js"
import type { ServeSecrets } from "../reference/ServeSecrets.js"
import { readOnlySnapshot } from "../reference/Store/Dialect.js"
import { postgresStore } from "../reference/Store/Postgres.js"
import type { Scenario } from "../scenarios/Scenario.js"
import { audit, auditHistory } from "./Auditor.js"
import { History } from "./History.js"
import type { HistoryListener } from "./History.js"
import type { HistoryEvent } from "../devices/HistoryEvents.js"
import { driveLoad, passengersInOrder } from "./Load.js"
import { arrivalsBeforeEnd, arrivalsEndMs, population, scenarioEndMs } from "./Population.js"
import { RealTimeline } from "./RealTimeline.js"
import { startDriverProcesses } from "./Drivers.js"
import { prepareRun } from "./Journeys.js"
import type { DriverShare } from "./Journeys.js"
import type { SetupRecord } from "./Setup.js"
import { PassengerProgress, whileShowingProgress } from "./Progress.js"
import type { RunProgress } from "./Progress.js"
import type { RunOptions, RunOutcome } from "./Virtual.js"
import { faultSchedule } from "./FaultSchedule.js"
import type { FaultActions } from "./FaultSchedule.js"
import { directNetwork, instrumentsOf } from "./Instruments.js"

/**
 * how long a started server has to print its "listening" line. It only catches a server that never starts: on a
 * loaded two-core machine a `--workers 2` start (a primary, two workers, each loading TypeScript) took over 30 s.
 */
export const serverStartTimeoutMs = 120_000
/** how long a server has to shut down on SIGTERM before it is killed */
export const serverStopTimeoutMs = 10_000

export interface ServerProcess {
  readonly baseUrl: string
  /** the admin key the process was given */
  readonly adminKey: string
  readonly pid: number | undefined
  /** SIGTERM, then SIGKILL after `serverStopTimeoutMs`; resolves once the process has exited */
  readonly stop: () => Promise<void>
  /** SIGKILL now (a crash: nothing is flushed, no finalizer runs); resolves once the process has exited */
  readonly kill: () => Promise<void>
  /** move the server's scenario clock to `offsetMs` past its scaled time; resolves on the server's ack */
  readonly advanceClock: (offsetMs: number) => Promise<void>
}

/**
 * How node runs the program at `cliEntry`: TypeScript sources through tsx's loader, a bundled JavaScript build
 * (`.mjs`, which `npm test` builds: scripts/cliBundle.mjs) as it is.
 */
export const nodeArgsToRun = (cliEntry: string): ReadonlyArray<string> =>
  cliEntry.endsWith(".mjs") ? [cliEntry] : ["--import", "tsx", cliEntry]

/**
 * The environment of a process of the program at `cliEntry`: `environment` as it is, but a bundled build's with V8's
 * coverage off (NODE_V8_COVERAGE, which c8 sets under `npm test`, set empty: node gives a child its parent's value
 * whenever the child's environment lacks the variable). The bundle has no source map, so its coverage could never count
 * for the project's sources, and collecting it cost each process 15–20 % more CPU (a tiny scenario's run: 8.9 → 7.3 s).
 */
export const environmentToRun = (cliEntry: string, environment: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv =>
  cliEntry.endsWith(".mjs") && environment["NODE_V8_COVERAGE"] !== undefined ? { ...environment, NODE_V8_COVERAGE: "" } : environment

/**
 * The young generation of a server the harness starts, in MB per semi-space (node's default is 16 on 64-bit). A
 * request allocates many short-lived objects (Effect's fibers and contexts, decoded bodies); a larger young
 * generation is scavenged less often and its survivors are copied fewer times: on the bench's order loop the
 * server's CPU per order fell 13 % (3.79 → 3.28 ms, four alternated pairs of 8 s runs), orders/s rose 362 → 414.
 */
export const serverSemiSpaceMb = 64

/**
 * node's arguments for a `chunyun serve` the harness starts: always `--quiet`, since a run's requests are its
 * load, and a line for each would cost the server what it measures and fill the harness's pipe; a young generation
 * of `serverSemiSpaceMb` (cluster workers inherit it from their primary).
 */
export const serveCommandLine = (cliEntry: string, args: ReadonlyArray<string>, nodeArgs: ReadonlyArray<string> = []): ReadonlyArray<string> =>
  [`--max-semi-space-size=${serverSemiSpaceMb}`, ...nodeArgs, ...nodeArgsToRun(cliEntry), "serve", "--quiet", ...args]

/**
 * Start `chunyun serve` as a child process and wait for its "listening" line. The server is given `secrets` in its
 * environment (never on its command line, which other users can read): fresh ones unless the caller restarts a
 * server that must keep its key. `onOutput` is given all the process prints on stdout (its log lines), from its first line.
 */
export const startServerProcess = (
  cliEntry: string, args: ReadonlyArray<string>, nodeArgs: ReadonlyArray<string> = [], secrets: ServeSecrets = generateServeSecrets(),
  onOutput?: (text: string) => void
): Promise<ServerProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, serveCommandLine(cliEntry, args, nodeArgs), {
      stdio: ["ignore", "pipe", "inherit", "ipc"], env: { ...environmentToRun(cliEntry), ...serveSecretsEnv(secrets) }
    })
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
      // the server's log lines (Effect's default logger prints to stdout) go to the caller, or nowhere
      if (onOutput !== undefined) {
        onOutput(buffered)
        stdout.on("data", (more: Buffer) => onOutput(more.toString()))
      }
      stdout.resume()
      resolve({
        baseUrl: match[1]!,
        adminKey: secrets.adminKey,
        pid: child.pid,
        advanceClock: (offsetMs) => new Promise<void>((done, fail) => {
          const onMessage = (message: { type?: string; offsetMs?: number }) => {
            if (message?.type !== "clock-offset-ack" || (message.offsetMs ?? -1) < offsetMs) return
            child.off("message", onMessage)
            child.off("exit", onExit)
            done()
          }
          // killed before it answered: the jump is refused rather than awaited for ever
          const onExit = () => {
            child.off("message", onMessage)
            fail(new Error(`server ${child.pid} exited before it moved its clock`))
          }
          child.once("exit", onExit)
          // a server killed (or exiting) has closed its channel: the send fails here, through its callback, instead
          // of as an 'error' event on the child that nobody handles and that would end the harness
          if (!child.connected) {
            child.off("exit", onExit)
            return fail(new Error(`server ${child.pid} is gone (IPC channel closed): cannot move its clock`))
          }
          child.on("message", onMessage)
          child.send({ type: "clock-offset", offsetMs }, (error) => {
            if (error === null) return
            child.off("message", onMessage)
            child.off("exit", onExit)
            fail(new Error(`server ${child.pid}: cannot move its clock: ${error.message}`))
          })
        }),
        kill: () => new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done()
          child.once("exit", () => done())
          child.kill("SIGKILL")
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
    // a spawn that failed, or a send to a channel already closed: answered where it happened, never left unhandled
    child.on("error", (error) => { clearTimeout(timer); reject(error) })
  })

/** The scenario's server design (its variant knobs) as `chunyun serve` flags. */
export const serverDesignArgs = (scenario: Scenario, options: RunOptions = {}): ReadonlyArray<string> => [
  "--inventory", scenario.server.inventory, ...(options.allowUnsafeInventory ? ["--unsafe"] : []),
  "--max-queued-holds", String(scenario.server.maxQueuedHoldsPerRun),
  "--batching", scenario.server.batching,
  "--group-commit-window-ms", String(scenario.server.groupCommitWindowMs),
  "--max-holds-per-group-commit", String(scenario.server.maxHoldsPerGroupCommit),
  "--seat-claim-tie-window-ms", String(scenario.server.seatClaimTieWindowMs),
  "--issuance", scenario.server.issuance,
  "--outbox-poll-ms", String(scenario.server.outboxPollIntervalMs),
  "--outbox-batch-size", String(scenario.server.outboxBatchSize),
  "--store-max-connections", String(scenario.server.storeMaxConnections)
]


export interface RealRunOptions extends RunOptions {
  /** a PostgreSQL URL to serve from (an empty database or schema); default a fresh SQLite file */
  readonly postgresUrl?: string
  /** server processes on one port (`serve --workers`); above 1 needs `postgresUrl` */
  readonly serverWorkers?: number
  /** driver processes, each with its share of the passengers (simulator/Drivers.ts); default 1, this process */
  readonly driverProcesses?: number
}

/** The store the run's server uses, as `serve` arguments, and the same store for the audit after it. */
const runStore = (options: RealRunOptions, workDir: string): { readonly args: ReadonlyArray<string>; readonly layer: Layer.Layer<SqlClient.SqlClient> } => {
  if (options.postgresUrl !== undefined) {
    return { args: ["--store", options.postgresUrl], layer: postgresStore({ url: options.postgresUrl, maxConnections: 2 }) }
  }
  const dbPath = join(workDir, "chunyun.db")
  return { args: ["--db", dbPath], layer: sqliteStore({ filename: dbPath }) }
}

/**
 * The setup before the rush (the catalog through the admin API, the journeys' devices) failed: the server refused
 * it or could not be reached. `reason` is what failed: the API's tagged error, or a transport failure.
 */
export class RunSetupFailed extends Data.TaggedError("RunSetupFailed")<{ readonly message: string; readonly reason: unknown }> {
  constructor(reason: unknown) {
    super({ message: `the scenario could not be set up on the server: ${describeFailure(reason)}`, reason })
  }
}

/** A failure in a line: a tagged error's tag and fields, or an error's message. */
export const describeFailure = (failure: unknown): string => {
  if (typeof failure === "object" && failure !== null && "_tag" in failure) {
    const { _tag, ...fields } = failure as { readonly _tag: unknown }
    const shown = Object.entries(fields).filter(([name, value]) => name !== "message" && (typeof value !== "object" || value === null))
      .map(([name, value]) => `${name}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    // a tagged error's message is not always an own field (an HTTP client's error computes it); one that only
    // repeats the fields as JSON (a schema error without a message of its own) says nothing more
    const text = "message" in failure && typeof failure.message === "string" ? failure.message : ""
    const message = text === "" || text.startsWith("{") ? "" : `: ${text}`
    return `${String(_tag)}${shown.length === 0 ? "" : ` (${shown.join(", ")})`}${message}`
  }
  return failure instanceof Error ? failure.message : String(failure)
}

/** The server a real run's devices drive: its address, its admin key, and the faults only its mode can cause there. */
export interface DrivenServer {
  readonly baseUrl: string
  readonly adminKey: string
  readonly modeFaultActions: FaultActions
}

/** What driving a scenario against a server left: everything of the outcome but the audit. */
export type DrivenRun = Omit<RunOutcome, "invariants"> & { readonly dropped: number }

/** One driver process's part in a run driven from several (simulator/Drivers.ts). */
export interface DrivenShare extends DriverShare {
  /** told of the setup once this process has prepared its journeys, before its first passenger starts */
  readonly onPrepared: (setup: SetupRecord) => void
}

/**
 * Drive `scenario` against `server` on `timeline`: set it up through the admin API, start the passengers as the
 * arrival curve or the load executor says (an open workload, dropped beyond the in-flight limit), and wait for every
 * journey to end. The history stamps events on the timeline.
 */
export const driveServer = async (
  scenario: Scenario, seed: number, server: DrivenServer, timeline: RealTimeline, onProgress?: (progress: RunProgress) => void,
  onHistoryEvent?: HistoryListener, share?: DrivenShare
): Promise<DrivenRun> => {
  const startMs = Date.parse(scenario.startAt)
  const scenarioNow = Effect.sync(() => timeline.nowMs())
  const sleepScenario = (ms: number) => timeline.sleep(ms)
  const history = new History(scenarioNow, onHistoryEvent)
  let dropped = 0
  let arrivalsCut = 0
  const passengers = new PassengerProgress(scenario.passengers.count)
  /** a passenger's journey as an actor on the timeline, its start and end counted for the progress display */
  const passengerActor = (journey: Effect.Effect<void>) => Effect.map(Effect.forkDaemon(timeline.actor(journey)), (fiber) => {
    passengers.watch.started()
    fiber.addObserver(passengers.watch.ended)
    return fiber
  })
  const program = Effect.gen(function* () {
    // the devices' instruments: this run's history, the real network as it is, the scenario's faults on the timeline
    const instruments = instrumentsOf(history, directNetwork, faultSchedule(scenario, scenarioNow))
    const run = yield* prepareRun(scenario, server.baseUrl, server.adminKey, { sleepScenario, scenarioNowMs: scenarioNow },
      server.modeFaultActions, share).pipe(Effect.provide(instruments), Effect.catchAll((reason) => Effect.die(new RunSetupFailed(reason))))
    share?.onPrepared(run.setup)
    const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    for (const actor of run.background) fibers.push(yield* Effect.forkDaemon(timeline.actor(actor)))
    // every driver process draws the same population from the seed, then keeps its share of it by index
    const arrivals = share === undefined ? yield* population(scenario)
      : (yield* population(scenario).pipe(Effect.withRandom(Random.make(`devices:${seed}`))))
        .filter((arrival) => arrival.passenger.index % share.count === share.index)
    if (scenario.load) {
      const byIndex = new Map(arrivals.map((arrival) => [arrival.passenger.index, arrival]))
      const outcome = yield* driveLoad(scenario.load, Date.parse(scenario.onSaleAt), passengersInOrder(arrivals),
        (passenger, afterPurchase) => run.start(byIndex.get(passenger.index)!, afterPurchase),
        // the journey inherits the driver's mark of its intended start (RealTimeline.sleep)
        { history, sleepScenario, scenarioNowMs: scenarioNow, start: (journey) => Effect.map(passengerActor(journey), (fiber) => { fibers.push(fiber) }),
          endAtMs: arrivalsEndMs(scenario), onCut: () => { arrivalsCut++; passengers.notStarted++ } })
      dropped = outcome.dropped
      return fibers
    }
    const coming = arrivalsBeforeEnd(scenario, arrivals)
    arrivalsCut = coming.cut
    passengers.notStarted += coming.cut
    // several driver processes share the limit
    const maxInFlight = Math.ceil(scenario.real.maxPassengersInFlight / (share?.count ?? 1))
    let inFlight = 0
    for (const arrival of coming.arriving) {
      yield* sleepScenario(arrival.arrivalAtMs - (yield* scenarioNow))
      if (inFlight >= maxInFlight) { dropped++; passengers.notStarted++; continue }
      inFlight++
      const journey = run.start(arrival, Effect.sync(() => { inFlight-- }))
      fibers.push(yield* passengerActor(journey))
    }
    return fibers
  })
  const randomName = share === undefined ? `devices:${seed}` : `devices:${seed}:driver-${share.index}`
  // one scope for the drive: the progress display, then the devices' HTTP client, released in reverse when every
  // journey has ended or the drive failed
  const drive = timeline.actor(program).pipe(
    Effect.withRandom(Random.make(randomName)),
    Effect.flatMap(Fiber.joinAll),
    Effect.map((): DrivenRun => {
      const endMs = Math.min(timeline.nowMs(), scenarioEndMs(scenario))
      return { history, startMs, endMs, dropped, arrivalsCut, passengers }
    }),
    Effect.provide(NodeHttpClient.layerUndici))
  const exit = await Effect.runPromiseExit(whileShowingProgress(onProgress, () => ({ nowMs: timeline.nowMs(), history, passengers }), drive))
  if (Exit.isFailure(exit)) {
    const failure = Cause.squash(exit.cause)
    throw failure instanceof RunSetupFailed ? failure : new Error(Cause.pretty(exit.cause))
  }
  return exit.value
}

/**
 * The store audit over `layer` (the store the run's server wrote), then the history's. The store is read in one
 * read-only transaction, one snapshot (REPEATABLE READ on PostgreSQL; SQLite's WAL gives a reader its snapshot), so
 * a server still serving (a `--target` run's) cannot change rows between two of the audit's statements.
 */
export const auditWithStore = async (history: History, layer: Layer.Layer<SqlClient.SqlClient, unknown>) => {
  // the store is opened for the audit and closed after it, also when the audit fails
  const fromStore = await Effect.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(Effect.zipRight(
    readOnlySnapshot(sql),
    audit(history).pipe(Effect.provideService(SqlClient.SqlClient, sql))))).pipe(Effect.provide(layer)))
  return [...fromStore, ...auditHistory(history)]
}

export const runReal = async (
  scenario: Scenario, seed: number, cliEntry: string, timeScale: number,
  onProgress?: (progress: RunProgress) => void,
  options: RealRunOptions = {}
): Promise<RunOutcome & { dropped: number }> => {
  const workDir = mkdtempSync(join(tmpdir(), "chunyun-real-"))
  const store = runStore(options, workDir)
  const startMs = Date.parse(scenario.startAt)
  const serverArgs = (port: number, clockStartMs: number) => [
    "--port", String(port), "--host", "127.0.0.1", ...store.args, "--workers", String(options.serverWorkers ?? 1),
    "--password-cost", String(scenario.server.passwordHashCostN), "--hold-ttl-ms", String(scenario.server.holdTtlMs),
    "--clock-start-ms", String(clockStartMs), "--clock-scale", String(timeScale), ...serverDesignArgs(scenario, options)
  ]
  // one pair of secrets for the run: a server restarted after a crash keeps the key the journeys hold
  const secrets = generateServeSecrets()
  const serverOutput = options.serverLog === undefined ? undefined : (text: string) => options.serverLog!.writeOutput(text)
  // driver processes load before the server starts, whose clock reads the scenario's start from then on
  const driverProcesses = options.driverProcesses ?? 1
  const drivers = driverProcesses > 1 ? await startDriverProcesses(cliEntry, driverProcesses) : undefined
  let server: ServerProcess
  try {
    server = await startServerProcess(cliEntry, serverArgs(0, startMs), [], secrets, serverOutput)
  } catch (error) {
    drivers?.close()
    rmSync(workDir, { recursive: true, force: true })
    throw error
  }
  const port = Number(new URL(server.baseUrl).port)
  const wallStartMs = performance.timeOrigin + performance.now()
  const timeline = new RealTimeline(startMs, timeScale, (offsetMs) => server.advanceClock(offsetMs), wallStartMs)
  /**
   * The end of the server-crash fault: the same command on the same port and database, its clock started at the
   * timeline's scaled time without its jumps, then jumped as far as the timeline has.
   */
  const restart = async (at: { readonly scaledNowMs: number; readonly jumpedMs: number }) => {
    server = await startServerProcess(cliEntry, serverArgs(port, at.scaledNowMs), [], secrets, serverOutput)
    await server.advanceClock(at.jumpedMs)
  }
  /** the server-crash fault: SIGKILL at the window's start, the restart at its end */
  const crash = {
    start: () => Effect.promise(() => server.kill()),
    end: () => Effect.promise(() => restart({ scaledNowMs: timeline.nowMs() - timeline.jumpedMs, jumpedMs: timeline.jumpedMs }))
  }
  try {
    // a restarted server listens on the same port: the address the journeys hold stays good
    const driven = drivers !== undefined
      ? await drivers.drive(scenario, seed, {
        baseUrl: server.baseUrl, adminKey: secrets.adminKey, timeScale, wallStartMs,
        advanceServer: (offsetMs) => server.advanceClock(offsetMs),
        crash: { start: () => server.kill(), end: restart }
      }, onProgress, options.onHistoryEvent)
      : await driveServer(scenario, seed, { baseUrl: server.baseUrl, adminKey: secrets.adminKey, modeFaultActions: { "server-crash": crash } },
        timeline, onProgress, options.onHistoryEvent)
    await server.stop()
    return { ...driven, invariants: await auditWithStore(driven.history, store.layer) }
  } finally {
    drivers?.close()
    await server.stop().catch(() => undefined)
    rmSync(workDir, { recursive: true, force: true })
  }
}
