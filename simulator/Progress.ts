/**
 * What a run's progress display reads while the run goes on: the scenario clock, the history recorded so far, and
 * how many passengers' journeys have started and ended. The runners keep these counts outside any fiber and offer
 * them to the display from a wall-clock timer, so reading progress never schedules simulated work: a virtual run's
 * history is the same with a display as without one.
 */
import { Effect } from "effect"
import type { History } from "./History.js"
import type { ActorWatch } from "./VirtualClock.js"

/** Passengers of a run: how many are expected, and whose journeys have started and ended. */
export class PassengerProgress {
  /** journeys started (a passenger arrived) */
  arrived = 0
  /** journeys over (a passenger done: ticket shown at the gate, or given up) */
  finished = 0
  /** passengers who will never start: cut by the scenario's end, or dropped by the load (real mode) */
  notStarted = 0

  constructor(public expected: number) {}

  readonly watch: ActorWatch = {
    started: () => { this.arrived++ },
    ended: () => { this.finished++ }
  }
}

export interface RunProgress {
  /** the scenario clock (virtual, or real mode's scaled timeline) */
  readonly nowMs: number
  readonly history: History
  readonly passengers: PassengerProgress
}

/** how often (wall ms) a runner offers a snapshot to the display; the display draws at its own pace */
export const progressPollIntervalMs = 100

/**
 * Offers `snapshot()` to `onProgress` every `progressPollIntervalMs` of wall time; returns the stop. The timer
 * does not keep the process alive: a virtual run's proof of a stall is an event loop that empties (VirtualClock.run).
 * It fires between the virtual clock's turns, which each end on `setImmediate`, so a busy virtual minute is drawn
 * while it runs.
 */
export const pollProgress = (onProgress: ((progress: RunProgress) => void) | undefined, snapshot: () => RunProgress): (() => void) => {
  if (onProgress === undefined) return () => undefined
  const timer = setInterval(() => onProgress(snapshot()), progressPollIntervalMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** `work` with the progress display polling `snapshot` while it runs; the polling stops when it ends, however it ends. */
export const whileShowingProgress = <A, E, R>(
  onProgress: ((progress: RunProgress) => void) | undefined, snapshot: () => RunProgress, work: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(Effect.sync(() => pollProgress(onProgress, snapshot)), () => work, (stopProgress) => Effect.sync(stopProgress))
