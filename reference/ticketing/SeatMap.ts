/**
 * Seat-map query (seed 004 [0039]–[0040], [0061]): every seat of a run with its sales status for one
 * journey — a train's segment [from, to), a showing's or an event's one segment — as a compact grid per
 * row and as a small PNG thumbnail. Status comes from live orders at the Clock's now: held = an order
 * held and not yet expired, sold = paid or issued; anything else (expired, cancelled, refunded) is free.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import type { SeatMap } from "./Catalog/Api.js"
import type { RunKind } from "./Catalog/Repo.js"
import { CatalogConfig } from "../Settings/Catalog.js"
import { InvalidSegment, TrainRunNotFound } from "../Domain.js"
import type { RunId, StationCode } from "../Domain.js"
import { segmentMask } from "./Orders/Repo.js"
import { renderThumbnail, seatMapLegend } from "./SeatMap/Thumbnail.js"
import type { SeatStatus } from "./SeatMap/Thumbnail.js"
import { spanOptions } from "../Spans.js"

interface SeatRow {
  readonly id: number; readonly coach: number; readonly seat_code: string
  readonly grid_row: number | null; readonly grid_column: number | null
}

/** One section's seats as grid rows, front to back, every row as wide as the widest. */
const sectionRows = (seats: ReadonlyArray<SeatRow>, statusOf: ReadonlyMap<number, SeatStatus>) => {
  const rowCount = Math.max(...seats.map((seat) => Number(seat.grid_row ?? 0))) + 1
  const width = Math.max(...seats.map((seat) => Number(seat.grid_column ?? 0))) + 1
  const rows = Array.from({ length: rowCount }, (_, gridRow) => ({
    gridRow, cells: Array.from({ length: width }, (): string => seatMapLegend.gap), seats: [] as Array<{ column: number; code: string }>
  }))
  for (const seat of seats) {
    const row = rows[Number(seat.grid_row ?? 0)]!
    const column = Number(seat.grid_column ?? 0)
    row.cells[column] = seatMapLegend[statusOf.get(Number(seat.id)) ?? "free"]
    row.seats.push({ column, code: seat.seat_code })
  }
  return rows.map((row) => ({
    gridRow: row.gridRow, cells: row.cells.join(""),
    seatCodes: row.seats.sort((a, b) => a.column - b.column).map((seat) => seat.code)
  }))
}

export class SeatMaps extends Effect.Service<SeatMaps>()("SeatMaps", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* CatalogConfig

    const journeyOf = (runId: RunId, from: StationCode | undefined, to: StationCode | undefined) =>
      Effect.gen(function* () {
        const stops = yield* sql<{ stop_index: number; station_code: StationCode; kind: RunKind }>`
          SELECT s.stop_index, s.station_code, r.kind FROM run_stops s JOIN train_runs r ON r.id = s.run_id
          WHERE s.run_id = ${runId} ORDER BY s.stop_index`
        if (stops.length === 0) return yield* new TrainRunNotFound({ runId })
        const kind = stops[0]!.kind
        if (kind !== "train") return { kind, fromIndex: 0, toIndex: 1, fromStation: stops[0]!.station_code, toStation: stops[1]!.station_code }
        if (from === undefined || to === undefined) return yield* new InvalidSegment({ message: "a train's seat map needs from and to" })
        const fromIndex = stops.findIndex((stop) => stop.station_code === from)
        const toIndex = stops.findIndex((stop) => stop.station_code === to)
        if (fromIndex < 0 || toIndex < 0) return yield* new InvalidSegment({ message: `run ${runId} does not stop at ${fromIndex < 0 ? from : to}` })
        if (fromIndex >= toIndex) return yield* new InvalidSegment({ message: `${from} is not before ${to} on run ${runId}` })
        return { kind, fromIndex, toIndex, fromStation: from, toStation: to }
      })

    const seatMap = (runId: RunId, params: { from?: StationCode | undefined; to?: StationCode | undefined; thumbnail?: boolean | undefined }) =>
      Effect.gen(function* () {
        const journey = yield* journeyOf(runId, params.from, params.to)
        const mask = segmentMask(journey.fromIndex, journey.toIndex)
        const nowMs = yield* Clock.currentTimeMillis
        const seats = yield* sql<SeatRow>`SELECT id, coach, seat_code, grid_row, grid_column FROM seats
          WHERE run_id = ${runId} ORDER BY coach, id`
        const live = yield* sql<{ seat_id: number; sold: number }>`
          SELECT seat_id, MAX(CASE WHEN state = 'held' THEN 0 ELSE 1 END) AS sold FROM orders
          WHERE run_id = ${runId} AND (segment_mask & ${mask}) <> 0
            AND (state IN ('paid', 'issued') OR (state = 'held' AND hold_expires_at_ms > ${nowMs}))
          GROUP BY seat_id`
        const statusOf = new Map(live.map((row): [number, SeatStatus] => [Number(row.seat_id), Number(row.sold) === 1 ? "sold" : "held"]))
        const names = new Map((yield* sql<{ section: number; name: string }>`SELECT section, name FROM run_sections
          WHERE run_id = ${runId}`).map((row) => [Number(row.section), row.name]))
        const bySection = new Map<number, Array<SeatRow>>()
        for (const seat of seats) {
          const sectionSeats = bySection.get(Number(seat.coach))
          if (sectionSeats) sectionSeats.push(seat)
          else bySection.set(Number(seat.coach), [seat])
        }
        const sections = [...bySection.entries()].sort(([a], [b]) => a - b).map(([section, sectionSeats]) => ({
          section, name: names.get(section) ?? `section ${section}`, rows: sectionRows(sectionSeats, statusOf)
        }))
        const statuses = [...statusOf.values()]
        const held = statuses.filter((status) => status === "held").length
        const sold = statuses.length - held
        const map: SeatMap = {
          runId, kind: journey.kind, fromStation: journey.fromStation, toStation: journey.toStation, atMs: nowMs,
          legend: seatMapLegend, counts: { free: seats.length - held - sold, held, sold }, sections,
          ...(params.thumbnail === false ? {} : { thumbnail: renderThumbnail(sections, config.seatMapThumbnailSeatPx) })
        }
        return map
      }).pipe(Effect.withSpan("SeatMaps.seatMap", spanOptions))

    return { seatMap } as const
  })
}) {}
