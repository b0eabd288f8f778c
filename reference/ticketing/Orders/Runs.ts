/**
 * What a hold needs to know about a run: its stops, kind, date, train code and fares per class and segment.
 * The catalog writes them once, with the run, and never changes them (a run is created whole by
 * `POST /admin/runs`, a showing or an event likewise), so each server process reads a run once and keeps it,
 * up to `maxCachedRuns` runs (the oldest read is dropped past that). A run that is not there yet is not kept:
 * it may be created a moment later.
 */
import { Effect } from "effect"
import { FenTotal } from "../../Domain.js"
import type { RunId } from "../../Domain.js"
import { Queries } from "../../Store/Queries.js"
import type { RunKind } from "./SalesClose.js"

/** runs whose facts a server process keeps in memory */
export const maxCachedRuns = 10_000

export interface RunStop {
  readonly stationCode: string
  readonly departureMinuteOfDay: number
}

export interface RunFacts {
  readonly runId: RunId
  readonly kind: RunKind
  readonly trainCode: string
  readonly serviceDate: string
  readonly stops: ReadonlyArray<RunStop>
  /** seat class → the fare of each segment (index = the segment's first stop); a missing segment costs nothing */
  readonly faresByClass: ReadonlyMap<string, ReadonlyArray<number>>
}

/** Per class, the sum of the fares of the segments [fromIndex, toIndex): what a journey costs in that class. */
export const journeyPricesOf = (facts: RunFacts, fromIndex: number, toIndex: number): ReadonlyMap<string, FenTotal> => {
  const prices = new Map<string, FenTotal>()
  for (const [seatClass, fares] of facts.faresByClass) {
    let priceFen = 0
    let priced = false
    for (let segment = fromIndex; segment < toIndex; segment++) {
      const fare = fares[segment]
      if (fare === undefined) continue
      priceFen += fare
      priced = true
    }
    if (priced) prices.set(seatClass, FenTotal.make(priceFen))
  }
  return prices
}

export class RunFactsCache extends Effect.Service<RunFactsCache>()("RunFactsCache", {
  effect: Effect.gen(function* () {
    const queries = yield* Queries
    const cache = new Map<RunId, RunFacts>()

    const read = (runId: RunId) =>
      Effect.gen(function* () {
        const stops = yield* queries.all<{ station_code: string; departure_minute_of_day: number; kind: RunKind; service_date: string; train_code: string }>(
          `SELECT s.station_code, s.departure_minute_of_day, r.kind, r.service_date, r.train_code
           FROM run_stops s JOIN train_runs r ON r.id = s.run_id WHERE s.run_id = ? ORDER BY s.stop_index`, [runId])
        const first = stops[0]
        if (first === undefined) return undefined
        const fares = yield* queries.all<{ seat_class: string; stop_index: number; fare_fen: number }>(
          "SELECT seat_class, stop_index, fare_fen FROM run_fares WHERE run_id = ? ORDER BY seat_class, stop_index", [runId])
        const faresByClass = new Map<string, Array<number>>()
        for (const fare of fares) {
          const segments = faresByClass.get(fare.seat_class) ?? []
          segments[Number(fare.stop_index)] = Number(fare.fare_fen)
          faresByClass.set(fare.seat_class, segments)
        }
        const facts: RunFacts = {
          runId, kind: first.kind, trainCode: first.train_code, serviceDate: first.service_date, faresByClass,
          stops: stops.map((stop) => ({ stationCode: stop.station_code, departureMinuteOfDay: Number(stop.departure_minute_of_day) }))
        }
        return facts
      })

    /** The run's facts, or undefined when there is no such run (yet). */
    const get = (runId: RunId) =>
      Effect.suspend(() => {
        const cached = cache.get(runId)
        if (cached !== undefined) return Effect.succeed<RunFacts | undefined>(cached)
        return Effect.tap(read(runId), (facts) => {
          if (facts === undefined) return
          if (cache.size >= maxCachedRuns) cache.delete(cache.keys().next().value!)
          cache.set(runId, facts)
        })
      })

    return { get } as const
  })
}) {}
