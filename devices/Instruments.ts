/**
 * The instruments a device works under, as Effect services: where its events go (`HistoryRecorder`), how its
 * requests cross the network (`NetworkModel`), and which of the scenario's faults are active now (`Faults`).
 * Devices depend on these ports only; each mode provides their implementations (simulator/Instruments.ts).
 */
import { Clock, Context, Effect, FiberRef } from "effect"
import type { Fault, FaultKind, FaultOf } from "../scenarios/Faults.js"
import type { EventDetail, HistoryEvent, HistoryKind } from "./HistoryEvents.js"
import { outcomeOf } from "./HistoryEvents.js"

/** Where events go: the run's history. */
export interface Recorder {
  /** the scenario's present, which events are stamped with */
  readonly now: Effect.Effect<number>
  /** records `event`, for the journey of the fiber recording it */
  readonly add: (event: HistoryEvent) => void
}

/** The history recorder of the run. */
export class HistoryRecorder extends Context.Tag("chunyun/HistoryRecorder")<HistoryRecorder, Recorder>() {}

/** How a device's request crosses the network between it and the server. */
export interface Network {
  /** `request` as sent over the network: whatever the network adds before it leaves and after its answer is back */
  readonly overTheNetwork: <A, E, R>(request: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/** The network model of the run. */
export class NetworkModel extends Context.Tag("chunyun/NetworkModel")<NetworkModel, Network>() {}

/** The scenario's faults on its timeline. */
export interface FaultSchedule {
  readonly faults: ReadonlyArray<Fault>
  /** the first fault of `kind` whose window holds the scenario's present, if any */
  readonly active: <Kind extends FaultKind>(kind: Kind) => Effect.Effect<FaultOf<Kind> | undefined>
  /** the fault's window on the scenario's clock (epoch ms) */
  readonly windowOf: (fault: Fault) => { readonly startMs: number; readonly endMs: number }
}

/** The fault schedule of the run. */
export class Faults extends Context.Tag("chunyun/Faults")<Faults, FaultSchedule>() {}

/** Every instrument a device may use. */
export type Instruments = HistoryRecorder | NetworkModel | Faults

/** `request` sent over the run's network (`NetworkModel`). */
export const overTheNetwork = <A, E, R>(request: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | NetworkModel> =>
  Effect.flatMap(NetworkModel, (network) => network.overTheNetwork(request))

/** The first active fault of `kind` in the run's schedule (`Faults`), if any. */
export const activeFault = <Kind extends FaultKind>(kind: Kind): Effect.Effect<FaultOf<Kind> | undefined, never, Faults> =>
  Effect.flatMap(Faults, (schedule) => schedule.active(kind))

/** An event as a device describes it: the recorder stamps it with the scenario's present. */
export type EventNow = Omit<HistoryEvent, "atMs">

/**
 * Record `event` now, stamped with the scenario's present. Its fields are written in the order given (the order
 * is part of the trace): `actor`, `kind`, `outcome`, then `durationMs` and `detail` when present.
 */
export const recordNow = (event: EventNow): Effect.Effect<void, never, HistoryRecorder> =>
  Effect.flatMap(HistoryRecorder, (history) => Effect.flatMap(history.now, (atMs) => Effect.sync(() => history.add({ atMs, ...event }))))

/** `recordNow` of an event with a detail, written only when there is one. */
export const note = (actor: string, kind: HistoryKind, outcome: string, detail?: EventDetail): Effect.Effect<void, never, HistoryRecorder> =>
  recordNow(detail ? { actor, kind, outcome, detail } : { actor, kind, outcome })

/**
 * When the fiber's next call was meant to be sent, in Clock ms (undefined: when it is sent). Set by the
 * load driver at an iteration's intended start and by the real timeline when a sleep was meant to end, so
 * a call that left late because the driver was behind (a timer fired late, the event loop was busy) counts
 * the wait in its latency, as wrk2 does: latency is measured from the intended send time, not the actual.
 * Read once: the call after it is sent when the previous one answers, so measures from its own start.
 */
export const intendedSendMs = FiberRef.unsafeMake<number | undefined>(undefined)

/** Run one device call, record it with its latency and outcome, and pass its result on. */
export const recorded = <A, E, R>(
  actor: string,
  kind: HistoryKind,
  call: Effect.Effect<A, E, R>,
  detailOf?: (value: A) => HistoryEvent["detail"]
): Effect.Effect<A, E, R | HistoryRecorder> =>
  Effect.gen(function* () {
    const history = yield* HistoryRecorder
    const atMs = yield* history.now
    const sentMs = yield* Clock.currentTimeMillis
    const intendedMs = yield* FiberRef.getAndSet(intendedSendMs, undefined)
    const startMs = intendedMs === undefined ? sentMs : Math.min(sentMs, intendedMs)
    const exit = yield* Effect.exit(call)
    const endMs = yield* Clock.currentTimeMillis
    const durationMs = endMs - startMs
    // whole object literals, not a spread of shared fields: V8 gives each object a spread builds at a busy call site
    // a hidden class of its own, and the history keeps every event
    if (exit._tag === "Success") {
      const detail = detailOf?.(exit.value)
      history.add(detail ? { atMs, actor, kind, durationMs, outcome: "ok", detail } : { atMs, actor, kind, durationMs, outcome: "ok" })
      return exit.value
    }
    const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
    history.add({ atMs, actor, kind, durationMs, outcome: failure === undefined ? "Defect" : outcomeOf(failure) })
    return yield* exit
  })

/** A device call over the network, recorded: the shape of nearly every request a device makes. */
export const sent = <A, E, R>(
  actor: string,
  kind: HistoryKind,
  request: Effect.Effect<A, E, R>,
  detailOf?: (value: A) => HistoryEvent["detail"]
): Effect.Effect<A, E, R | HistoryRecorder | NetworkModel> => recorded(actor, kind, overTheNetwork(request), detailOf)
