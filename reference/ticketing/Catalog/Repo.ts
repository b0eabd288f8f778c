/**
 * SQL of the catalog: writing a run of any kind (train, showing, event) with its stops, per-class fares,
 * sections and seats, and reading availability and price per class for a journey.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { FenTotal, TrainRunExists } from "../../Domain.js"
import type { RunId } from "../../Domain.js"
import { segmentMask } from "../Orders/Repo.js"
import type { ClassOffer } from "./Api.js"

export const runKinds = ["train", "showing", "event"] as const
export type RunKind = typeof runKinds[number]

/** rows per multi-row INSERT: 7 columns × 500 stays far below both stores' parameter limits */
const seatInsertBatchSize = 500

export interface SeatRecord {
  readonly coach: number
  readonly seatCode: string
  readonly seatClass: string
  readonly gridRow: number
  readonly gridColumn: number
}

export interface RunRecord {
  readonly runId: RunId
  /** train code, showing code or event code */
  readonly code: string
  readonly serviceDate: string
  readonly kind: RunKind
  readonly stops: ReadonlyArray<{ readonly station: string; readonly name: string; readonly departureMinuteOfDay: number }>
  /** per seat class, one fare per segment (stops.length - 1 entries) */
  readonly fares: ReadonlyMap<string, ReadonlyArray<number>>
  readonly sections: ReadonlyArray<{ readonly section: number; readonly name: string }>
  readonly seats: ReadonlyArray<SeatRecord>
}

/** Problems a run would have in the store; empty when it can be written. */
export const runRecordProblems = (run: RunRecord): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const segments = run.stops.length - 1
  for (const [seatClass, fares] of run.fares) {
    if (fares.length !== segments) problems.push(`class ${seatClass} needs ${segments} fares (one per segment), got ${fares.length}`)
  }
  const seatClasses = new Set(run.seats.map((seat) => seat.seatClass))
  for (const seatClass of seatClasses) {
    if (!run.fares.has(seatClass)) problems.push(`class ${seatClass} has seats but no fares`)
  }
  // a fare for a class without seats would let "any seat in class X" answer SoldOut for a class never sold
  for (const seatClass of run.fares.keys()) {
    if (!seatClasses.has(seatClass)) problems.push(`class ${seatClass} has fares but no seats`)
  }
  const seatKeys = new Set(run.seats.map((seat) => `${seat.coach}/${seat.seatCode}`))
  if (seatKeys.size !== run.seats.length) problems.push("a seat code appears twice in one section")
  return problems
}

export class CatalogRepo extends Effect.Service<CatalogRepo>()("CatalogRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /** Inside a transaction; the caller has checked runRecordProblems. */
    const insertRun = (run: RunRecord) =>
      Effect.gen(function* () {
        const existing = yield* sql`SELECT id FROM train_runs WHERE id = ${run.runId}`
        if (existing.length > 0) return yield* new TrainRunExists({ runId: run.runId })
        yield* sql`INSERT INTO train_runs (id, train_code, service_date, kind) VALUES (${run.runId}, ${run.code}, ${run.serviceDate}, ${run.kind})`
        const classFares = [...run.fares.entries()]
        // fare_fen_to_next keeps meaning what it did before classes: the cheapest fare of the segment
        const cheapest = (segment: number) => Math.min(...classFares.map(([, fares]) => fares[segment] ?? 0))
        yield* sql`INSERT INTO run_stops ${sql.insert(run.stops.map((stop, index) => ({
          run_id: run.runId, stop_index: index, station_code: stop.station, station_name: stop.name,
          departure_minute_of_day: stop.departureMinuteOfDay, fare_fen_to_next: index < run.stops.length - 1 ? cheapest(index) : 0
        })))}`
        yield* sql`INSERT INTO run_fares ${sql.insert(classFares.flatMap(([seatClass, fares]) => fares.map((fare, index) => ({
          run_id: run.runId, seat_class: seatClass, stop_index: index, fare_fen: fare
        }))))}`
        yield* sql`INSERT INTO run_sections ${sql.insert(run.sections.map((section) => ({
          run_id: run.runId, section: section.section, name: section.name
        })))}`
        const rows = run.seats.map((seat) => ({
          run_id: run.runId, coach: seat.coach, seat_code: seat.seatCode, seat_class: seat.seatClass,
          grid_row: seat.gridRow, grid_column: seat.gridColumn
        }))
        for (let start = 0; start < rows.length; start += seatInsertBatchSize) {
          yield* sql`INSERT INTO seats ${sql.insert(rows.slice(start, start + seatInsertBatchSize))}`
        }
        return { runId: run.runId, seatCount: rows.length }
      })

    /**
     * Free seats and price per class for the journey [fromIndex, toIndex). Free means no bit of the
     * journey set, as a hold sees it (an expired hold counts until it is released).
     */
    const classOffers = (runId: RunId, fromIndex: number, toIndex: number) =>
      Effect.gen(function* () {
        const mask = segmentMask(fromIndex, toIndex)
        const free = yield* sql<{ seat_class: string; available: number }>`
          SELECT seat_class, SUM(CASE WHEN (occupied_mask & ${mask}) = 0 THEN 1 ELSE 0 END) AS available
          FROM seats WHERE run_id = ${runId} GROUP BY seat_class`
        const prices = yield* sql<{ seat_class: string; price: number }>`
          SELECT seat_class, SUM(fare_fen) AS price FROM run_fares
          WHERE run_id = ${runId} AND stop_index >= ${fromIndex} AND stop_index < ${toIndex} GROUP BY seat_class`
        const priceOf = new Map(prices.map((row) => [row.seat_class, FenTotal.make(Number(row.price))]))
        const offers: Array<ClassOffer> = free.map((row) => {
          const priceFen = priceOf.get(row.seat_class)
          // pair assertion with runRecordProblems: every class that has seats has fares
          if (priceFen === undefined) throw new Error(`run ${runId}: class ${row.seat_class} has seats but no fares`)
          return { seatClass: row.seat_class, availableSeats: Number(row.available), priceFen }
        })
        return offers.sort((a, b) => a.priceFen - b.priceFen || a.seatClass.localeCompare(b.seatClass))
      })

    /** Price of the journey per class, for a hold. */
    const journeyPrices = (runId: RunId, fromIndex: number, toIndex: number) =>
      sql<{ seat_class: string; price: number }>`SELECT seat_class, SUM(fare_fen) AS price FROM run_fares
        WHERE run_id = ${runId} AND stop_index >= ${fromIndex} AND stop_index < ${toIndex} GROUP BY seat_class`.pipe(
        Effect.map((rows) => new Map(rows.map((row) => [row.seat_class, Number(row.price)])))
      )

    return { insertRun, classOffers, journeyPrices } as const
  })
}) {}
