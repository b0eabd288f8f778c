/**
 * One driver process of a run driven from several (simulator/Drivers.ts), started by the parent as the CLI's
 * internal `driver-process` command. It waits for its start message, drives its share of the passengers against
 * the server (Real.ts `driveServer`) on the timeline it shares with the others, streams its history events to the
 * parent every `eventFlushIntervalMs`, and ends with a `done` or a `failed` message.
 */
import { Effect } from "effect"
import type { FromDriver, PassengerCounts, RecordedEvent, ToDriver } from "./Drivers.js"
import { describeFailure, driveServer, RunSetupFailed } from "./Real.js"
import type { DrivenRun } from "./Real.js"
import { RealTimeline } from "./RealTimeline.js"
import type { FaultActions } from "./FaultSchedule.js"
import { progressPollIntervalMs } from "./Progress.js"
import type { PassengerProgress } from "./Progress.js"

/** how often (wall ms) a driver process sends the events it recorded since the last time */
export const eventFlushIntervalMs = progressPollIntervalMs

type Start = Extract<ToDriver, { type: "start" }>

const send = (message: FromDriver) => new Promise<void>((resolve) => {
  if (!process.connected || process.send === undefined) return resolve()
  process.send(message, undefined, {}, () => resolve())
})

/** A failure's tag and plain fields, which survive the channel to the parent (an error class's prototype does not). */
const plainReason = (reason: unknown): unknown => {
  try {
    return typeof reason === "object" && reason !== null ? JSON.parse(JSON.stringify({ ...reason, _tag: (reason as { _tag?: unknown })._tag })) : reason
  } catch {
    return describeFailure(reason)
  }
}

/** the counts the progress display reads, as plain data for the channel */
const countsOf = (passengers: PassengerProgress): PassengerCounts =>
  ({ arrived: passengers.arrived, finished: passengers.finished, notStarted: passengers.notStarted })

const drive = async (start: Start): Promise<DrivenRun> => {
  let nextCallId = 0
  const pendingCalls = new Map<number, { resolve: () => void; reject: (error: Error) => void }>()
  const timeline = new RealTimeline(Date.parse(start.scenario.startAt), start.timeScale, start.jumps ? {
    kind: "shared",
    jumps: { idle: (atMs) => { void send({ type: "idle", atMs }) }, busy: () => { void send({ type: "busy" }) } }
  } : undefined, start.wallStartMs)
  timeline.setOffset(start.offsetMs)
  process.on("message", (message: ToDriver) => {
    if (message.type === "offset") timeline.setOffset(message.offsetMs)
    if (message.type === "reply") {
      const pending = pendingCalls.get(message.id)
      pendingCalls.delete(message.id)
      if (message.error === undefined) pending?.resolve()
      else pending?.reject(new Error(message.error))
    }
  })
  /** the server-crash fault, which the parent causes to the server it started */
  const callParent = (name: "crash-start" | "crash-end") => Effect.promise(() => new Promise<void>((resolve, reject) => {
    const id = nextCallId++
    pendingCalls.set(id, { resolve, reject })
    void send({ type: "call", id, name })
  }))
  const modeFaultActions: FaultActions = start.crash ? { "server-crash": { start: () => callParent("crash-start"), end: () => callParent("crash-end") } } : {}

  let buffered: Array<RecordedEvent> = []
  let latest: PassengerProgress | undefined
  const flush = () => {
    if (buffered.length === 0 && latest === undefined) return Promise.resolve()
    const events = buffered
    buffered = []
    return send({ type: "events", events, passengers: latest === undefined ? { arrived: 0, finished: 0, notStarted: 0 } : countsOf(latest) })
  }
  const timer = setInterval(() => { void flush() }, eventFlushIntervalMs)
  try {
    const driven = await driveServer(start.scenario, start.seed, { baseUrl: start.baseUrl, adminKey: start.adminKey, modeFaultActions }, timeline,
      (progress) => { latest = progress.passengers }, (event, journey) => { buffered.push({ event, journey }) },
      { index: start.index, count: start.count, ...(start.setup === undefined ? {} : { setup: start.setup }), onPrepared: (setup) => { void send({ type: "prepared", setup }) } })
    latest = driven.passengers
    await flush()
    return driven
  } finally {
    clearInterval(timer)
  }
}

/** The `driver-process` command: drive as the parent says, then exit 0 after `done`, or 1 after `failed`. */
export const driverProcessMain = () => new Promise<number>((resolve) => {
  // a parent gone (killed, or failed elsewhere) leaves nobody to drive for
  process.once("disconnect", () => process.exit(1))
  void send({ type: "loaded" })
  process.once("message", (message: ToDriver) => {
    if (message.type !== "start") return resolve(1)
    drive(message).then(
      (driven) => send({ type: "done", dropped: driven.dropped, arrivalsCut: driven.arrivalsCut, passengers: countsOf(driven.passengers) })
        .then(() => resolve(0)),
      (error: unknown) => send(error instanceof RunSetupFailed
        ? { type: "failed", message: error.message, setupReason: plainReason(error.reason) }
        : { type: "failed", message: error instanceof Error ? error.stack ?? error.message : String(error) }).then(() => resolve(1)))
  })
})
