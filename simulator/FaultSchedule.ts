/**
 * The scenario's faults on its timeline. A device asks `active(kind)` while it works (is the SMS gateway
 * losing messages right now?); faults of the parties the server talks to are applied by an actor that opens
 * each window (`start`) and closes it (`end`), whoever implements that kind (a journey module or the mode).
 */
import { Effect } from "effect"
import { outcomeOf } from "../devices/HistoryEvents.js"
import type { FaultSchedule, Instruments, Recorder } from "../devices/Instruments.js"
import type { Fault, FaultKind, FaultOf } from "../scenarios/Faults.js"
import type { Scenario } from "../scenarios/Scenario.js"

/** The schedule of `scenario`'s faults, read on the clock of `scenarioNowMs` (the `Faults` the modes provide). */
export const faultSchedule = (scenario: Scenario, scenarioNowMs: Effect.Effect<number>): FaultSchedule => {
  const onSaleMs = Date.parse(scenario.onSaleAt)
  const windowOf = (fault: Fault) => ({ startMs: onSaleMs + fault.startAfterOnSaleMs, endMs: onSaleMs + fault.endAfterOnSaleMs })
  return {
    faults: scenario.faults,
    windowOf,
    active: <Kind extends FaultKind>(kind: Kind) =>
      scenario.faults.some((fault) => fault.kind === kind)
        ? Effect.map(scenarioNowMs, (nowMs) => scenario.faults.find((fault): fault is FaultOf<Kind> => {
          if (fault.kind !== kind) return false
          const { startMs, endMs } = windowOf(fault)
          return startMs <= nowMs && nowMs < endMs
        }))
        : Effect.succeed(undefined)
  }
}

/**
 * How a fault of a party the server talks to is switched on at its window's start and off at its end (with the
 * devices' instruments at hand: an edge may make recorded calls).
 */
export interface FaultAction<Kind extends FaultKind = FaultKind> {
  readonly start: (fault: FaultOf<Kind>) => Effect.Effect<void, unknown, Instruments>
  readonly end: (fault: FaultOf<Kind>) => Effect.Effect<void, unknown, Instruments>
}
export type FaultActions = { readonly [Kind in FaultKind]?: FaultAction<Kind> }

/** faults read by devices while they work: no action at the window's edges */
export const deviceFaultKinds: ReadonlyArray<FaultKind> = ["client-timeouts", "sms-loss", "printer", "camera-glare", "camera-blur"]

/**
 * One actor per fault with an action: it sleeps to the window's start, starts the fault, sleeps to its end and
 * ends it, recording both in the history (with the error's tag when an edge could not be applied). A scheduled fault no one implements is an error before the run.
 */
export const faultActors = (
  schedule: FaultSchedule, actions: FaultActions, history: Recorder,
  timing: { readonly sleepScenario: (ms: number) => Effect.Effect<void>; readonly scenarioNowMs: Effect.Effect<number> }
): ReadonlyArray<Effect.Effect<void, unknown, Instruments>> => {
  const missing = schedule.faults.filter((fault) => !deviceFaultKinds.includes(fault.kind) && actions[fault.kind] === undefined)
  if (missing.length > 0) throw new Error(`no implementation of fault ${missing.map((fault) => fault.kind).join(", ")} in this mode or journey mix`)
  return schedule.faults.flatMap((fault, index) => {
    const action = actions[fault.kind] as FaultAction | undefined
    if (!action) return []
    const { startMs, endMs } = schedule.windowOf(fault)
    const actor = `fault-${index}-${fault.kind}`
    const sleepUntil = (atMs: number) => Effect.flatMap(timing.scenarioNowMs, (nowMs) => timing.sleepScenario(Math.max(0, atMs - nowMs)))
    // an edge that could not be applied (its party unreachable: the server down) is recorded, and the run goes on
    const edge = (kind: "fault-start" | "fault-end", apply: Effect.Effect<void, unknown, Instruments>) => Effect.gen(function* () {
      const exit = yield* Effect.exit(apply)
      const atMs = yield* timing.scenarioNowMs
      history.add({ atMs, actor, kind, outcome: exit._tag === "Success" ? "ok" : outcomeOf(exit.cause._tag === "Fail" ? exit.cause.error : exit.cause) })
    })
    return [Effect.gen(function* () {
      yield* sleepUntil(startMs)
      yield* edge("fault-start", action.start(fault))
      yield* sleepUntil(endMs)
      yield* edge("fault-end", action.end(fault))
    })]
  })
}
