/**
 * Drives a scenario's `load` executor (Executors.ts) in either mode: each iteration is the next passenger of
 * the population (by index) doing its journey; the run's iterations stop when the executor's time is up or
 * the population is used up, whichever comes first.
 *
 * - Open model: iteration n starts at its intended time (the on-sale + the executor's offset). When `maxVus`
 *   passengers are already purchasing, it is dropped and recorded as a "dropped-iteration" event (k6's
 *   `dropped_iterations`): an open model never waits for the server, so a slow server cannot slow the load.
 * - Closed model: each VU starts its next iteration when the last one's purchase ends (the walk to the gate,
 *   hours later, no longer holds the VU), while one of its windows is open.
 * - With an `endAtMs` (the scenario's endAt), no iteration starts at or after it: the scenario is over. Open
 *   model: every iteration the schedule still had for a passenger is cut and counted. Closed model: a VU's
 *   start refused for it is counted (a closed model has no schedule to count the rest by).
 *
 * The mode supplies the timing (virtual clock or real timeline) and how a journey is started.
 */
import { Effect } from "effect"
import type { Passenger } from "../devices/Phone.js"
import type { History } from "./History.js"
import { intendedStartsMs, isArrivalRate, maxVusOf, vuWindows } from "./Executors.js"
import type { ArrivalRateExecutor, Executor, VusExecutor } from "./Executors.js"

export interface LoadHooks {
  readonly history: History
  readonly sleepScenario: (ms: number) => Effect.Effect<void>
  readonly scenarioNowMs: Effect.Effect<number>
  /**
   * Start `journey` now without waiting for it. `intendedAtMs` is the scenario time the iteration was meant
   * to start (real mode measures the first call's latency from it).
   */
  readonly start: (journey: Effect.Effect<void>, intendedAtMs: number) => Effect.Effect<void>
  /** the scenario's end of arrivals (Population.ts `arrivalsEndMs`): no iteration starts at or after it */
  readonly endAtMs?: number | undefined
  /** told of each iteration not started because of `endAtMs` (a closed model's come after `driveLoad` returned) */
  readonly onCut?: () => void
}

/** A journey of one passenger; `afterPurchase` frees its VU. */
export type IterationOf = (passenger: Passenger, afterPurchase: Effect.Effect<void>) => Effect.Effect<void>

export interface LoadOutcome { readonly iterations: number; readonly dropped: number }

export const driveLoad = (
  executor: Executor, startAtMs: number, passengers: ReadonlyArray<Passenger>, iteration: IterationOf, hooks: LoadHooks
): Effect.Effect<LoadOutcome> =>
  isArrivalRate(executor)
    ? openModel(executor, startAtMs, passengers, iteration, hooks)
    : closedModel(executor, startAtMs, passengers, iteration, hooks)

const openModel = (executor: ArrivalRateExecutor, startAtMs: number, passengers: ReadonlyArray<Passenger>, iteration: IterationOf, hooks: LoadHooks) =>
  Effect.gen(function* () {
    const maxVus = maxVusOf(executor)
    let inFlight = 0
    let started = 0
    let dropped = 0
    let index = 0
    for (const offsetMs of intendedStartsMs(executor)) {
      const passenger = passengers[index++]
      if (passenger === undefined) break
      const intendedAtMs = startAtMs + Math.round(offsetMs)
      if (hooks.endAtMs !== undefined && intendedAtMs >= hooks.endAtMs) { hooks.onCut?.(); continue }
      yield* hooks.sleepScenario(intendedAtMs - (yield* hooks.scenarioNowMs))
      if (inFlight >= maxVus) {
        dropped++
        const atMs = yield* hooks.scenarioNowMs
        hooks.history.add({ atMs, actor: `phone-${passenger.index}`, kind: "dropped-iteration", outcome: "dropped", detail: { maxVus } })
        continue
      }
      inFlight++
      started++
      yield* hooks.start(iteration(passenger, Effect.sync(() => { inFlight-- })), intendedAtMs)
    }
    return { iterations: started, dropped }
  })

const closedModel = (executor: VusExecutor, startAtMs: number, passengers: ReadonlyArray<Passenger>, iteration: IterationOf, hooks: LoadHooks) =>
  Effect.gen(function* () {
    const windows = vuWindows(executor)
    const busy = new Set<number>()
    let next = 0
    const isOpen = (vu: number, atMs: number) =>
      windows.some((window) => window.vu === vu && startAtMs + window.fromMs <= atMs && atMs < startAtMs + window.untilMs)
    // a VU runs one iteration at a time; the end of its purchase starts the next while its window is open
    const startIteration = (vu: number): Effect.Effect<void> => Effect.gen(function* () {
      const nowMs = yield* hooks.scenarioNowMs
      const passenger = passengers[next]
      if (passenger === undefined || !isOpen(vu, nowMs)) { busy.delete(vu); return }
      if (hooks.endAtMs !== undefined && nowMs >= hooks.endAtMs) { hooks.onCut?.(); busy.delete(vu); return }
      next++
      busy.add(vu)
      yield* hooks.start(iteration(passenger, Effect.suspend(() => startIteration(vu))), nowMs)
    })
    const byStart = [...windows].sort((a, b) => a.fromMs - b.fromMs || a.vu - b.vu)
    for (const window of byStart) {
      yield* hooks.sleepScenario(startAtMs + Math.ceil(window.fromMs) - (yield* hooks.scenarioNowMs))
      if (!busy.has(window.vu)) yield* startIteration(window.vu)
    }
    return { iterations: next, dropped: 0 }
  })

/** The population's passengers in index order: the executor, not the arrival curve, says when each starts. */
export const passengersInOrder = (arrivals: ReadonlyArray<{ readonly passenger: Passenger }>) =>
  arrivals.map((arrival) => arrival.passenger).sort((a, b) => a.index - b.index)
