/**
 * Virtual mode: one process, the discrete-event clock, seeded randomness. Devices call the server through
 * the typed client routed in-process to the server's web handler (routing, schema decoding and error
 * mapping run as over a socket). The server's sweepers are actors on the same clock.
 */
import { FetchHttpClient } from "@effect/platform"
import * as SqlClient from "@effect/sql/SqlClient"
import { Cause, Clock, Context, Effect, Exit, Fiber, Layer, Random } from "effect"
import type { Runtime, Scope } from "effect"
import { serverBaseUrl } from "../devices/Client.js"
import { defaultSettings } from "../reference/Config.js"
import type { ServerSettings } from "../reference/Config.js"
import { backgroundJobs } from "../reference/operations/Background.js"
import type { BackgroundJob } from "../reference/operations/Background.js"
import { SimulatedBank } from "../reference/Simulated/Bank.js"
import { SimulatedGateway } from "../reference/Simulated/Gateway.js"
import { inProcessHandler, servicesLayer, settingsLayer } from "../reference/Server.js"
import { defaultSimulatedExternalsSettings, simulatedExternalsConfigLayer, simulatedExternalsSettingsOf } from "../reference/Simulated/Settings.js"
import { sqliteStore, temporaryDatabase } from "../reference/Store/Sqlite.js"
import type { SqliteDatabase } from "../reference/Store/Sqlite.js"
import type { StoreConnections } from "../reference/Store/Connections.js"
import type { SimulatedParties } from "../reference/Server.js"
import type { InvariantResult } from "../reports/Report.js"
import type { Scenario } from "../scenarios/Scenario.js"
import { audit, auditHistory } from "./Auditor.js"
import { History } from "./History.js"
import type { HistoryListener } from "./History.js"
import type { HistoryEvent } from "../devices/HistoryEvents.js"
import { driveLoad, passengersInOrder } from "./Load.js"
import { arrivalsBeforeEnd, arrivalsEndMs, population, scenarioEndMs } from "./Population.js"
import { prepareRun } from "./Journeys.js"
import { PassengerProgress, whileShowingProgress } from "./Progress.js"
import { serverLoggerLayer } from "./ServerLog.js"
import type { ServerLog } from "./ServerLog.js"
import type { RunProgress } from "./Progress.js"
import { faultSchedule } from "./FaultSchedule.js"
import { instrumentsOf, simulatedNetwork } from "./Instruments.js"
import { InProcessRequest, VirtualClock } from "./VirtualClock.js"

export interface RunOutcome {
  readonly history: History
  readonly invariants: ReadonlyArray<InvariantResult>
  readonly startMs: number
  readonly endMs: number
  /** passengers who did not come because they were due at or after the scenario's endAt (Population.ts) */
  readonly arrivalsCut: number
  /** whose journeys started and ended, as the progress display counted them */
  readonly passengers: PassengerProgress
  /** real mode driven from several processes: how many (simulator/Drivers.ts); absent: this one */
  readonly driverProcesses?: number
}

/** the longest an idle sweeper waits in virtual mode */
export const maxIdleSweepIntervalMs = 60_000

export interface RunOptions {
  /** let the scenario use the unsafe inventory (it double-books by design) */
  readonly allowUnsafeInventory?: boolean
  /**
   * Server settings over the scenario's, for tests only (a planted bug, a changed hold TTL); never from the
   * command line: a scenario file and its seed alone must say what a run did.
   */
  readonly testServerSettings?: Partial<ServerSettings>
  /** where the server's log lines go (a file beside the report) instead of the console */
  readonly serverLog?: ServerLog
  /** told of each history event as it is recorded (`run --out-json`: simulator/RequestPoints.ts); the trace is the same */
  readonly onHistoryEvent?: HistoryListener
  /** events the history keeps in memory before it moves them to a file (simulator/History.ts); the trace is the same */
  readonly maxHistoryEventsInMemory?: number
}

/**
 * A request whose `signal` (what the web handler listens on to interrupt its fiber) is `cutOff`. The request is
 * built without a signal: given one, undici's Request follows it through a signal of its own, a listener and a
 * finalizer, which cost as much again as building the request.
 */
class CuttableRequest extends Request {
  readonly #cutOff: AbortSignal
  constructor(input: string | URL | Request, init: RequestInit | undefined, cutOff: AbortSignal) {
    super(input, { ...init, signal: null })
    this.#cutOff = cutOff
  }
  override get signal(): AbortSignal { return this.#cutOff }
}

/**
 * The server of a virtual run, which a `server-crash` fault can kill: every request in flight is cut off
 * (its fiber interrupted, so an open transaction rolls back, as the store would after a SIGKILL) and answered
 * with a transport error; the services and everything they kept in memory are dropped; until the restart every
 * request fails to connect. The store survives, as a database file survives its server.
 */
export class VirtualServer {
  down = false
  crashes = 0
  /** requests in flight when the server was killed, over all crashes */
  cutOff = 0
  private web: ReturnType<typeof inProcessHandler>
  private readonly inFlight = new Set<{ readonly abort: AbortController; readonly reject: (error: Error) => void }>()
  private readonly dead: Array<ReturnType<typeof inProcessHandler>> = []

  constructor(private readonly make: () => ReturnType<typeof inProcessHandler>) {
    this.web = make()
  }

  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    if (this.down) return Promise.reject(new TypeError("fetch failed: connection refused (the server is down)"))
    const abort = new AbortController()
    return new Promise<Response>((resolve, reject) => {
      const entry = { abort, reject }
      this.inFlight.add(entry)
      this.web.handler(new CuttableRequest(input, init, abort.signal), Context.make(InProcessRequest, true)).then(
        (response) => { if (this.inFlight.delete(entry)) resolve(response) },
        (error) => { if (this.inFlight.delete(entry)) reject(error) }
      )
    })
  }

  readonly crashAction = {
    start: () => Effect.sync(() => {
      this.down = true
      this.crashes++
      for (const entry of [...this.inFlight]) {
        this.inFlight.delete(entry)
        this.cutOff++
        entry.abort.abort()
        entry.reject(new TypeError("fetch failed: connection reset (the server was killed)"))
      }
      this.dead.push(this.web)
      this.web = this.make()
    }),
    end: () => Effect.sync(() => { this.down = false })
  }

  async dispose() {
    for (const web of [...this.dead, this.web]) await web.dispose()
  }
}

/**
 * Builds `layer` into a runtime that lives until the enclosing scope closes, whose finalizers release it. It is
 * built in a fiber of its own: what a layer sets on the building fiber (Layer.setClock, setRandom, setScheduler, a
 * logger) goes into the runtime and not into the fiber that asked, so each part of a run keeps its own clock and
 * randomness and the next part is built from Effect's defaults again.
 */
export const runtimeInScope = <A, E>(layer: Layer.Layer<A, E>): Effect.Effect<Runtime.Runtime<A>, E, Scope.Scope> =>
  Effect.fork(Layer.toRuntime(layer)).pipe(Effect.flatMap(Fiber.await), Effect.flatten)

/**
 * The server of a virtual run over `store` (a store already built, shared with the caller), in the caller's scope:
 * its web handler (which a crash replaces with a new one) and the runtime its sweepers run in, both on the run's
 * clock and server randomness. The simulated gateway and bank keep what they know in memory (charges; cards,
 * authorisations, the operator's conditions) and stand for parties outside the server, so each is built once here
 * and that instance serves the first handler, every handler after a crash, and the sweepers: a card payment a
 * crash cut off is given back by the sweeper at the bank that authorised it. The scope releases them in reverse:
 * the handlers, the sweepers' runtime, the simulated parties.
 */
export const virtualServer = (
  settings: Partial<ServerSettings>, store: Layer.Layer<SqlClient.SqlClient | SqliteDatabase>, clock: VirtualClock, random: Random.Random,
  logger: Layer.Layer<never> = Layer.empty
) => Effect.gen(function* () {
  // nobody reads spans in a virtual run; creating one per request and service call costs wall time
  const timeOverrides = Layer.mergeAll(
    Layer.setClock(clock.clock), Layer.setRandom(random), Layer.setScheduler(clock.scheduler), Layer.setTracerEnabled(false), logger
  )
  // the simulated externals share the server's webhook secret, if it has one of its own
  const simulated = simulatedExternalsSettingsOf(settings)
  const built = yield* Layer.build(Layer.merge(SimulatedGateway.Default, SimulatedBank.Default).pipe(Layer.provide(simulatedExternalsConfigLayer(simulated))))
  const parties: SimulatedParties = {
    gateway: Layer.succeed(SimulatedGateway, Context.get(built, SimulatedGateway)),
    bank: Layer.succeed(SimulatedBank, Context.get(built, SimulatedBank))
  }
  const services = yield* runtimeInScope(servicesLayer(parties).pipe(
    Layer.provide(store), Layer.provide(settingsLayer(settings, simulated)), Layer.provide(timeOverrides), Layer.merge(timeOverrides)
  ))
  const web = yield* Effect.acquireRelease(
    Effect.sync(() => new VirtualServer(() =>
      inProcessHandler({ settings, store, clock: clock.clock, random, scheduler: clock.scheduler, tracing: false, parties, simulated, logger }))),
    (web) => Effect.promise(() => web.dispose()))
  return { web, services }
})

export const settingsOf = (scenario: Scenario, options: RunOptions = {}): Partial<ServerSettings> => ({
  passwordHashCostN: scenario.server.passwordHashCostN,
  // the simulation runs on one thread and waits for every request: a hash or signature on the thread pool is idle time
  cryptoWork: "inline",
  holdTtlMs: scenario.server.holdTtlMs,
  inventory: scenario.server.inventory,
  allowUnsafeInventory: options.allowUnsafeInventory ?? false,
  maxQueuedHoldsPerRun: scenario.server.maxQueuedHoldsPerRun,
  holdBatching: scenario.server.batching,
  holdGroupCommitWindowMs: scenario.server.groupCommitWindowMs,
  maxHoldsPerGroupCommit: scenario.server.maxHoldsPerGroupCommit,
  seatClaimTieWindowMs: scenario.server.seatClaimTieWindowMs,
  issuance: scenario.server.issuance,
  outboxSweepIntervalMs: scenario.server.outboxPollIntervalMs,
  outboxBatchSize: scenario.server.outboxBatchSize,
  ...options.testServerSettings
})

/** how often gateway work runs in virtual mode while the gateway has nothing due and nothing pending */
export const idleGatewaySweepIntervalMs = 10_000

/**
 * Gateway work (notifications, the reconciler's poll, voiding timed-out reservations) runs every `intervalMs`
 * while the simulated gateway has a notification due or a charge pending, as on a real server: an idle-doubled
 * wait would stretch the very delays a gateway scenario measures. Otherwise every `idleGatewaySweepIntervalMs`,
 * and before the first charge every `maxIdleSweepIntervalMs`, so a run without gateway payments spends
 * almost nothing on it.
 */
const gatewaySweep = <R>(intervalMs: number, endMs: number, work: Effect.Effect<unknown, unknown, R>) =>
  Effect.gen(function* () {
    const gateway = yield* SimulatedGateway
    for (;;) {
      const activity = yield* gateway.activity
      const waitMs = activity === "busy" ? intervalMs : activity === "idle" ? Math.max(intervalMs, idleGatewaySweepIntervalMs) : maxIdleSweepIntervalMs
      if ((yield* Clock.currentTimeMillis) + waitMs > endMs) return
      // an idle sweeper wakes at the next charge, then keeps the busy pace: its notification is not held back
      if (activity === "busy") yield* Effect.sleep(waitMs)
      else yield* Effect.raceFirst(Effect.sleep(waitMs), Effect.zipRight(gateway.nextCharge, Effect.sleep(intervalMs)))
      yield* work
    }
  })

/**
 * Why a scenario's server design cannot run in virtual mode, or undefined. Virtual mode runs one request
 * at a time and charges no virtual time for server work: a group commit's window would park its leader
 * while the next hold waits on it, and the turn could never end.
 */
export const virtualModeRefusal = (scenario: Scenario): string | undefined =>
  scenario.server.batching === "group-commit" ? "group commit of holds needs real mode (requests overlap only there)" : undefined

/**
 * The most passengers whose run keeps its store in memory (SQLite's `:memory:`, about 1.2 KB of rows a passenger);
 * a larger run keeps it in SQLite's private temporary database, whose pages past the connection's cache
 * (`sqliteCacheKib`, 64 MiB) go to a file instead of this process's memory. Below the cache's size the temporary
 * database only costs time: about 5 % more CPU on spring-festival at 2,000 passengers.
 */
export const maxInMemoryStorePassengers = 50_000

/** The store of a virtual run of `passengers`, unless a test gives another (`maxInMemoryStorePassengers`). */
export const virtualStoreOf = (passengers: number) =>
  sqliteStore({ filename: passengers > maxInMemoryStorePassengers ? temporaryDatabase : ":memory:" })

/**
 * A virtual run as one scoped Effect. In its scope, in this order: the store (`store`, `virtualStoreOf` the run's
 * passengers unless a test gives another), the server over it (`virtualServer`: the simulated parties, the sweepers'
 * runtime, the web handler), the devices' runtime; the scope releases them in reverse, when the run ends, fails or
 * is interrupted.
 * The run fails with what the clock's loop threw (an actor's failure: its `Cause`; `ClockStalled`). The loop itself
 * is a Promise: interrupting the run releases the resources at once and leaves the loop to fail on them.
 */
export const virtualRun = (
  scenario: Scenario, seed: number, onProgress?: (progress: RunProgress) => void, options: RunOptions = {},
  store: Layer.Layer<SqlClient.SqlClient | SqliteDatabase | StoreConnections> = virtualStoreOf(scenario.passengers.count)
): Effect.Effect<RunOutcome, unknown, Scope.Scope> => Effect.gen(function* () {
  const refusal = virtualModeRefusal(scenario)
  if (refusal !== undefined) return yield* Effect.fail(new Error(refusal))
  const startMs = Date.parse(scenario.startAt)
  const clock = new VirtualClock(startMs)
  const serverRandom = Random.make(`server:${seed}`)
  const deviceRandom = Random.make(`devices:${seed}`)
  const settings = settingsOf(scenario, options)
  const effective = { ...defaultSettings, ...defaultSimulatedExternalsSettings, ...settings }
  const history = new History(undefined, options.onHistoryEvent, { maxEventsInMemory: options.maxHistoryEventsInMemory })
  const passengers = new PassengerProgress(scenario.passengers.count)

  // the whole store (the SqlClient and, on SQLite, the connection its prepared queries run on), built once for the
  // server's handlers, its sweepers and the audit
  const storeContext = yield* Layer.build(store)
  const { web: server_, services: serverRuntime } = yield* virtualServer(
    settings, Layer.succeedContext(storeContext), clock, serverRandom, serverLoggerLayer(options.serverLog))
  const fetchLayer = FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch,
    (input: string | URL | Request, init?: RequestInit) =>
      clock.trackExternal(server_.fetch(input, init)))))
  const deviceRuntime = yield* runtimeInScope(Layer.mergeAll(
    fetchLayer, Layer.setClock(clock.clock), Layer.setRandom(deviceRandom), Layer.setScheduler(clock.scheduler),
    Layer.setTracerEnabled(false)
  ))
  const endMs = scenarioEndMs(scenario)
  let arrivalsCut = 0

  // the server's background jobs (reference/operations/Background.ts) as actors on the run's clock, each paced as its
  // `idlePace` says; a crashed server sweeps nothing until it is back
  const sweep = (job: BackgroundJob) =>
    Effect.gen(function* () {
      const intervalMs = job.intervalMs(effective)
      const maxIdleMs = job.idlePace(effective) === "fixed" ? intervalMs : maxIdleSweepIntervalMs
      let waitMs = intervalMs
      while (clock.nowMs + waitMs <= endMs) {
        yield* Effect.sleep(waitMs)
        const done = server_.down ? 0 : yield* job.pass
        waitMs = done > 0 ? intervalMs : Math.min(waitMs * 2, maxIdleMs)
      }
    })
  for (const job of backgroundJobs) {
    if (!job.enabled(effective)) continue
    clock.spawn(startMs, serverRuntime, job.idlePace(effective) === "gateway" ? gatewaySweep(job.intervalMs(effective), endMs, job.pass) : sweep(job))
  }
  // the devices' instruments: this run's history, a network that delays each request both ways, the scenario's faults
  const scenarioNowMs = Effect.sync(() => clock.nowMs)
  // the scenario's time is the run's virtual clock
  const sleepScenario = (ms: number) => Effect.sleep(ms)
  const instruments = instrumentsOf(history, simulatedNetwork(scenario.passengers.networkDelayMs), faultSchedule(scenario, scenarioNowMs))
  clock.spawn(startMs, deviceRuntime, Effect.gen(function* () {
    const run = yield* prepareRun(scenario, serverBaseUrl, effective.adminKey, { sleepScenario, scenarioNowMs }, {
      "server-crash": {
        start: () => Effect.zipRight(server_.crashAction.start(), Effect.sync(() => history.add({
          atMs: clock.nowMs, actor: "server", kind: "killed", outcome: "ok", detail: { requestsCutOff: server_.cutOff }
        }))),
        end: server_.crashAction.end
      }
    }).pipe(Effect.provide(instruments))
    for (const actor of run.background) clock.spawn(clock.nowMs, deviceRuntime, actor)
    const arrivals = yield* population(scenario)
    if (scenario.load) {
      const byIndex = new Map(arrivals.map((arrival) => [arrival.passenger.index, arrival]))
      yield* driveLoad(scenario.load, Date.parse(scenario.onSaleAt), passengersInOrder(arrivals),
        (passenger, afterPurchase) => run.start(byIndex.get(passenger.index)!, afterPurchase),
        { history, sleepScenario, scenarioNowMs,
          start: (journey) => Effect.sync(() => clock.spawn(clock.nowMs, deviceRuntime, journey, passengers.watch)),
          endAtMs: arrivalsEndMs(scenario), onCut: () => { arrivalsCut++; passengers.notStarted++ } })
      return
    }
    const coming = arrivalsBeforeEnd(scenario, arrivals)
    arrivalsCut = coming.cut
    passengers.notStarted += coming.cut
    // each journey is built when its passenger arrives, and let go when it ends
    clock.spawnEach(coming.arriving, (arrival) => arrival.arrivalAtMs, deviceRuntime, (arrival) => run.start(arrival, Effect.void), passengers.watch)
  }))
  // the progress display reads the run while the clock runs, and stops with it
  yield* whileShowingProgress(onProgress, () => ({ nowMs: clock.nowMs, history, passengers }),
    Effect.tryPromise({ try: () => clock.run(), catch: (thrown) => thrown }))
  // the hold sweeper's last pass is at most its longest idle wait before the end: holds due before that are released
  const auditOptions = { endMs: Math.min(clock.nowMs, endMs), holdReleaseGraceMs: maxIdleSweepIntervalMs + effective.holdSweepIntervalMs }
  const invariants = [
    ...yield* audit(history, auditOptions).pipe(Effect.provide(storeContext)),
    ...auditHistory(history)
  ]
  return { history, invariants, startMs, endMs: clock.nowMs, arrivalsCut, passengers }
})

/**
 * `virtualRun` for callers of the async API: run in a scope of its own, it rejects with what the run failed with
 * (an actor's `Cause`, `ClockStalled`, the refusal of `virtualModeRefusal`), after the scope released everything.
 */
export const runVirtual = async (
  scenario: Scenario, seed: number, onProgress?: (progress: RunProgress) => void, options: RunOptions = {}
): Promise<RunOutcome> => {
  const exit = await Effect.runPromiseExit(Effect.scoped(virtualRun(scenario, seed, onProgress, options)))
  if (Exit.isFailure(exit)) throw Cause.squash(exit.cause)
  return exit.value
}
