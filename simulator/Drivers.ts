/**
 * A real-mode run driven from several processes (`chunyun run … --driver-processes N`): a driver that needs more
 * than one core gets them. The parent starts N driver processes (the CLI's internal `driver-process` command,
 * simulator/DriverProcess.ts) on one shared timeline. The first sets the scenario up on the server and drives the
 * background actors (faults, the journeys' background work) and the passengers whose index modulo N is 0; each
 * other process builds its devices on the first's setup (simulator/Setup.ts `SetupRecord`) and drives its own
 * share by index. All draw the same population from the seed.
 *
 * Each process streams its history events to the parent as they are recorded (the progress display and
 * `--out-json` read them as they come); at the end the parent merges them in time order (ties by process, then
 * by each process's own order) into the run's one history, which the auditor and the report read as any run's.
 *
 * The timeline jumps over idle stretches only when every process's actors sleep: each says when it goes idle
 * (and until when) and when it wakes, and the parent moves the server's clock and then every process's timeline
 * by the same offset (RealTimeline `SharedJumps`). Without a server clock to move (a `--target` server) it never
 * jumps, as in one process.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { Effect } from "effect"
import type { Scenario } from "../scenarios/Scenario.js"
import { History } from "./History.js"
import type { HistoryListener } from "./History.js"
import type { HistoryEvent } from "../devices/HistoryEvents.js"
import type { JourneyKind } from "../scenarios/Scenario.js"
import { scenarioEndMs } from "./Population.js"
import { PassengerProgress, pollProgress } from "./Progress.js"
import type { RunProgress } from "./Progress.js"
import { environmentToRun, nodeArgsToRun, RunSetupFailed } from "./Real.js"
import type { DrivenRun } from "./Real.js"
import { minJumpMs, RealTimeline } from "./RealTimeline.js"
import type { SetupRecord } from "./Setup.js"

/** the CLI's internal command a driver process runs */
export const driverProcessCommand = "driver-process"

/** how long a driver process has to load (TypeScript on a busy two-core machine included) */
export const driverLoadTimeoutMs = 120_000

/** What the parent tells a driver process (its channel uses the advanced serialization: structured clones). */
export type ToDriver =
  | {
    readonly type: "start"
    readonly scenario: Scenario
    readonly seed: number
    readonly index: number
    readonly count: number
    readonly baseUrl: string
    readonly adminKey: string
    readonly timeScale: number
    /** the epoch ms at which the shared timeline was at the scenario's start */
    readonly wallStartMs: number
    /** how far ahead of its scaled wall clock the shared timeline is now (RealTimeline `setOffset`) */
    readonly offsetMs: number
    /** whether the timeline jumps over idle stretches (the parent can move the server's clock) */
    readonly jumps: boolean
    /** whether the first process's server-crash fault is the parent's to cause */
    readonly crash: boolean
    readonly setup?: SetupRecord
  }
  | { readonly type: "offset"; readonly offsetMs: number }
  | { readonly type: "reply"; readonly id: number; readonly error?: string }

/** an event as a driver process recorded it: with the journey it was recorded for (History `journeyOf`) */
export interface RecordedEvent { readonly event: HistoryEvent; readonly journey: JourneyKind | undefined }

/** a driver process's passengers, as the progress display counts them */
export interface PassengerCounts { readonly arrived: number; readonly finished: number; readonly notStarted: number }

/** What a driver process tells the parent. */
export type FromDriver =
  | { readonly type: "loaded" }
  | { readonly type: "prepared"; readonly setup: SetupRecord }
  | { readonly type: "events"; readonly events: ReadonlyArray<RecordedEvent>; readonly passengers: PassengerCounts }
  | { readonly type: "idle"; readonly atMs: number }
  | { readonly type: "busy" }
  | { readonly type: "call"; readonly id: number; readonly name: "crash-start" | "crash-end" }
  | { readonly type: "done"; readonly dropped: number; readonly arrivalsCut: number; readonly passengers: PassengerCounts }
  | { readonly type: "failed"; readonly message: string; readonly setupReason?: unknown }

export interface DriverProcessesOptions {
  readonly baseUrl: string
  readonly adminKey: string
  readonly timeScale: number
  /**
   * the epoch ms at which the timeline is at the scenario's start: a server the harness started reads the scenario's
   * start from its own start on; absent, now
   */
  readonly wallStartMs?: number
  /** the server's clock now, estimated, when the timeline is to start where it reads (a `--target` server started earlier) */
  readonly serverClockMs?: () => number
  /** move the server's clock to `offsetMs` past its scaled time; absent (a server elsewhere): the timeline never jumps */
  readonly advanceServer?: (offsetMs: number) => Promise<void>
  /**
   * the server-crash fault, caused by the parent for the first process's fault actor; `end` is told the timeline's
   * scaled time without its jumps (a restarted server's clock start) and how far it jumped
   */
  readonly crash?: {
    readonly start: () => Promise<void>
    readonly end: (at: { readonly scaledNowMs: number; readonly jumpedMs: number }) => Promise<void>
  }
}

/**
 * The parent's side of the shared timeline's jumps: once every process is idle, jump to the earliest wake-up of
 * them all, the server's clock first. A process that finished counts as idle for ever.
 */
export class JumpCoordinator {
  private readonly idleUntil = new Map<number, number>()
  private deciding = false

  constructor(
    private readonly count: number,
    private readonly timeline: RealTimeline,
    private readonly advanceServer: (offsetMs: number) => Promise<void>,
    private readonly broadcast: (offsetMs: number) => void
  ) {}

  idle(index: number, atMs: number) { this.idleUntil.set(index, atMs); this.maybeJump() }
  busy(index: number) { this.idleUntil.delete(index) }
  finished(index: number) { this.idle(index, Infinity) }

  private maybeJump() {
    if (this.deciding || this.idleUntil.size < this.count) return
    const earliestMs = Math.min(...this.idleUntil.values())
    const gapMs = earliestMs - this.timeline.nowMs()
    // nobody sleeps (all finished), or the wake-up is due: each process wakes on its own timer
    if (!Number.isFinite(earliestMs) || gapMs < minJumpMs) return
    this.deciding = true
    const target = this.timeline.jumpedMs + gapMs
    this.advanceServer(target).then(() => {
      this.timeline.setOffset(target)
      // each process tells again whether it is idle, on the timeline as it is now (an answer to the broadcast may come at once)
      for (const [index, atMs] of this.idleUntil) if (Number.isFinite(atMs)) this.idleUntil.delete(index)
      this.deciding = false
      this.broadcast(target)
    }, () => { this.deciding = false })
  }
}

/** The whole of an exchange with a driver process that failed, as one error. */
const driverFailure = (index: number, failure: Extract<FromDriver, { type: "failed" }>) =>
  failure.setupReason !== undefined ? new RunSetupFailed(failure.setupReason) : new Error(`driver process ${index}: ${failure.message}`)

/** One driver process as the parent sees it: its messages go to the run's handler once a run has one. */
interface Driver {
  readonly child: ChildProcess
  /** settles when the process ends: how, or why it failed */
  readonly ended: Promise<void>
  handle: (message: FromDriver) => void
}

/**
 * `count` driver processes, loaded (module loading takes seconds on a busy machine, and a server the harness starts
 * reads the scenario's time from its own start on: start these first). `close` kills any still running.
 */
export const startDriverProcesses = async (cliEntry: string, count: number) => {
  const drivers: Array<Driver> = []
  const loaded: Array<Promise<void>> = []
  for (let index = 0; index < count; index++) {
    const child = spawn(process.execPath, [...nodeArgsToRun(cliEntry), driverProcessCommand], {
      stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced", env: environmentToRun(cliEntry)
    })
    let failLoading: (error: Error) => void = () => undefined
    let markLoaded: () => void = () => undefined
    loaded.push(new Promise<void>((resolve, reject) => { markLoaded = resolve; failLoading = reject }))
    const loadTimer = setTimeout(() => failLoading(new Error(`driver process ${index} did not load within ${driverLoadTimeoutMs} ms`)), driverLoadTimeoutMs)
    const driver: Driver = {
      child,
      handle: () => undefined,
      ended: new Promise<void>((resolve, reject) => {
        // "close", not "exit": it comes after the channel is closed, so every message the process sent has been handled
        child.once("close", (code, signal) => {
          clearTimeout(loadTimer)
          const failure = new Error(`driver process ${index} exited with ${signal ?? code} before it finished`)
          failLoading(failure)
          if (code === 0) resolve()
          else reject(failure)
        })
        child.on("error", (error) => { clearTimeout(loadTimer); failLoading(error); reject(error) })
      })
    }
    driver.ended.catch(() => undefined)
    child.on("message", (message: FromDriver) => {
      if (message.type === "loaded") { clearTimeout(loadTimer); markLoaded() }
      else driver.handle(message)
    })
    drivers.push(driver)
  }
  const close = () => {
    for (const driver of drivers) if (driver.child.exitCode === null && driver.child.signalCode === null) driver.child.kill("SIGKILL")
  }
  try {
    await Promise.all(loaded)
  } catch (error) {
    close()
    throw error
  }
  return {
    close,
    /**
     * Drive `scenario` against the server from these processes and merge what they recorded. The history events
     * reach `onHistoryEvent` as each process sends them (in the order they arrive, not merged).
     */
    drive: (scenario: Scenario, seed: number, options: DriverProcessesOptions, onProgress?: (progress: RunProgress) => void,
      onHistoryEvent?: HistoryListener) => drive(drivers, scenario, seed, options, onProgress, onHistoryEvent)
  }
}

export type DriverProcesses = Awaited<ReturnType<typeof startDriverProcesses>>

const drive = async (
  drivers: ReadonlyArray<Driver>, scenario: Scenario, seed: number, options: DriverProcessesOptions,
  onProgress?: (progress: RunProgress) => void, onHistoryEvent?: HistoryListener
): Promise<DrivenRun> => {
  const startMs = Date.parse(scenario.startAt)
  // without a server clock to follow, the shared timeline starts now that every process has loaded
  const wallStartMs = options.wallStartMs ?? performance.timeOrigin + performance.now()
  const timeline = new RealTimeline(startMs, options.timeScale, undefined, wallStartMs)
  if (options.serverClockMs !== undefined) timeline.setOffset(options.serverClockMs() - timeline.nowMs())
  const live = new History(Effect.sync(() => timeline.nowMs()), onHistoryEvent)
  const passengers = new PassengerProgress(scenario.passengers.count)
  const counts: Array<PassengerCounts> = drivers.map(() => ({ arrived: 0, finished: 0, notStarted: 0 }))
  const events: Array<Array<RecordedEvent>> = drivers.map(() => [])
  const countPassengers = (index: number, latest: PassengerCounts) => {
    counts[index] = latest
    passengers.arrived = counts.reduce((sum, one) => sum + one.arrived, 0)
    passengers.finished = counts.reduce((sum, one) => sum + one.finished, 0)
    passengers.notStarted = counts.reduce((sum, one) => sum + one.notStarted, 0)
  }
  const advanceServer = options.advanceServer
  const coordinator = advanceServer === undefined ? undefined : new JumpCoordinator(drivers.length, timeline, advanceServer, (offsetMs) => {
    for (const driver of drivers) if (driver.child.connected) driver.child.send({ type: "offset", offsetMs } satisfies ToDriver)
  })
  const stopProgress = pollProgress(onProgress, () => ({ nowMs: timeline.nowMs(), history: live, passengers }))

  const outcomes = drivers.map((driver, index) => {
    let markPrepared: (setup: SetupRecord) => void = () => undefined
    let failPrepared: (error: Error) => void = () => undefined
    const prepared = new Promise<SetupRecord>((resolve, reject) => { markPrepared = resolve; failPrepared = reject })
    const reply = (id: number, work: Promise<void>) => work.then(
      () => { if (driver.child.connected) driver.child.send({ type: "reply", id } satisfies ToDriver) },
      (error: unknown) => { if (driver.child.connected) driver.child.send({ type: "reply", id, error: error instanceof Error ? error.message : String(error) } satisfies ToDriver) })
    const done = new Promise<Extract<FromDriver, { type: "done" }>>((resolve, reject) => {
      const fail = (error: Error) => { failPrepared(error); reject(error) }
      driver.ended.then(() => fail(new Error(`driver process ${index} exited before it finished`)), fail)
      driver.handle = (message) => {
        switch (message.type) {
          case "prepared": return markPrepared(message.setup)
          case "events":
            for (const recorded of message.events) { events[index]!.push(recorded); live.add(recorded.event, recorded.journey) }
            return countPassengers(index, message.passengers)
          case "idle": return coordinator?.idle(index, message.atMs)
          case "busy": return coordinator?.busy(index)
          case "call":
            if (options.crash === undefined) return reply(message.id, Promise.reject(new Error("no server-crash fault in this run")))
            return reply(message.id, message.name === "crash-start" ? options.crash.start()
              : options.crash.end({ scaledNowMs: timeline.nowMs() - timeline.jumpedMs, jumpedMs: timeline.jumpedMs }))
          case "done":
            countPassengers(index, message.passengers)
            coordinator?.finished(index)
            return resolve(message)
          case "failed": return fail(driverFailure(index, message))
        }
      }
    })
    // a failure is answered where it is awaited; these keep one that nobody awaits yet from going unhandled
    prepared.catch(() => undefined)
    done.catch(() => undefined)
    return { prepared, done }
  })
  const start = (index: number, setup: SetupRecord | undefined) => drivers[index]!.child.send({
    type: "start", scenario, seed, index, count: drivers.length, baseUrl: options.baseUrl, adminKey: options.adminKey,
    timeScale: options.timeScale, wallStartMs, offsetMs: timeline.jumpedMs, jumps: coordinator !== undefined, crash: options.crash !== undefined,
    ...(setup === undefined ? {} : { setup })
  } satisfies ToDriver)

  try {
    start(0, undefined)
    const setup = await outcomes[0]!.prepared
    for (let index = 1; index < drivers.length; index++) start(index, setup)
    const finished = await Promise.all(outcomes.map((outcome) => outcome.done))
    // the run's history: every process's events in time order; ties by process, then in each process's order
    const merged = events.flatMap((recorded, index) => recorded.map((one, order) => ({ ...one, index, order })))
      .sort((a, b) => a.event.atMs - b.event.atMs || a.index - b.index || a.order - b.order)
    const history = new History(Effect.sync(() => timeline.nowMs()))
    for (const { event, journey } of merged) history.add(event, journey)
    return {
      history, startMs, endMs: Math.min(timeline.nowMs(), scenarioEndMs(scenario)), passengers, driverProcesses: drivers.length,
      dropped: finished.reduce((sum, outcome) => sum + outcome.dropped, 0),
      arrivalsCut: finished.reduce((sum, outcome) => sum + outcome.arrivalsCut, 0)
    }
  } finally {
    stopProgress()
  }
}
