/**
 * The history recorder: every device call and notable event, with its virtual time and actor, in the
 * order it happened. The trace hash is SHA-256 over these lines, so the same scenario + seed + code give
 * the same hash. Credentials and wall-clock times never enter the history.
 */
import { createHash } from "node:crypto"
import { Clock, Effect, Fiber, FiberRef, Option } from "effect"
import type { HistoryEvent, HistoryKind } from "../devices/HistoryEvents.js"
import type { Recorder } from "../devices/Instruments.js"
import type { JourneyKind } from "../scenarios/Scenario.js"

/**
 * The journey kind of the passenger a fiber works for: set by the runner around each journey kind's preparation and
 * each passenger's journey (simulator/Journeys.ts `prepareRun`), and inherited by the fibers they fork. A device
 * passengers share (a kiosk, a call-centre agent) serves each one on that passenger's fiber, so its calls count for
 * the passenger's journey; a background actor (an attendant's rounds, a gateway's pull loop, a fault) has none.
 */
export const currentJourney = FiberRef.unsafeMake<JourneyKind | undefined>(undefined)

/** The journey of the fiber running now; undefined outside a fiber or on one that works for no passenger. */
const currentFiberJourney = (): JourneyKind | undefined =>
  Option.match(Fiber.getCurrentFiber(), { onNone: () => undefined, onSome: (fiber) => fiber.getFiberRef(currentJourney) })

/** Told of each event as it is recorded, with the journey it was recorded for (undefined: a background actor's). */
export type HistoryListener = (event: HistoryEvent, journey: JourneyKind | undefined) => void

/** The history recorder of a run (the `HistoryRecorder` the modes provide to devices). */
export class History implements Recorder {
  /**
   * `now` stamps events on the scenario's timeline; latencies are always measured with the Clock. `onEvent` is told
   * of each event as it is recorded (`run --out-json` streams the requests from here); it neither changes nor keeps
   * the history, and must not throw.
   */
  constructor(readonly now: Effect.Effect<number> = Clock.currentTimeMillis, private readonly onEvent?: HistoryListener) {}

  readonly events: Array<HistoryEvent> = []
  /** running counts by "kind:outcome", for the progress line */
  readonly tally = new Map<string, number>()
  private readonly hash = createHash("sha256")
  /** the journey each event was recorded for, beside the history: not in its lines, so not in the trace hash */
  private readonly journeys = new Map<HistoryEvent, JourneyKind>()

  /**
   * Records `event`, for `journey`: by default the journey of the fiber recording it (`currentJourney`), which the
   * history's lines and trace hash leave out.
   */
  add(event: HistoryEvent, journey: JourneyKind | undefined = currentFiberJourney()) {
    this.events.push(event)
    if (journey !== undefined) this.journeys.set(event, journey)
    const key = `${event.kind}:${event.outcome}`
    this.tally.set(key, (this.tally.get(key) ?? 0) + 1)
    this.hash.update(JSON.stringify(event))
    this.hash.update("\n")
    this.onEvent?.(event, journey)
  }

  /** The journey kind `event` was recorded for; undefined for a background actor's event or one this history did not record. */
  journeyOf(event: HistoryEvent): JourneyKind | undefined { return this.journeys.get(event) }

  count(kind: HistoryKind, outcome = "ok"): number { return this.tally.get(`${kind}:${outcome}`) ?? 0 }

  traceHash(): string { return this.hash.copy().digest("hex") }

  toJsonLines(): string { return this.events.map((event) => JSON.stringify(event)).join("\n") + "\n" }
}
