/**
 * The train catalog (seed 000: the ticket server's "ticket database"): runs of a train on a date, their
 * stops, fares per seat class and segment, and the seats whose `occupied_mask` is the per-segment
 * inventory. Search answers availability and price per class.
 * Also the registry of gates, which authenticate as devices with a key.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import type { NewRun, RunOffer } from "./Catalog/Api.js"
import { CalendarConfig } from "../Settings/Calendar.js"
import { sha256Hex } from "../customers/Customers.js"
import { FenTotal, InvalidCatalog, maxSeatsPerRun, TrainRunExists, TrainRunNotFound, Unauthorized } from "../Domain.js"
import type { GateId, RunId, ServiceDate, StationCode, TrainCode } from "../Domain.js"
import { Ids } from "../Ids.js"
import { GateNotFound } from "./Catalog/Errors.js"
import { CatalogRepo, runRecordProblems } from "./Catalog/Repo.js"
import type { RunRecord } from "./Catalog/Repo.js"
import { onSaleAt, salesCloseAtMs } from "./Orders/SalesClose.js"
import { spanOptions } from "../Spans.js"

export const runIdOf = (trainCode: string, serviceDate: string) => `${trainCode}-${serviceDate.replaceAll("-", "")}` as RunId

const seatLetters = ["A", "B", "C", "D", "F"] as const
/** grid columns of A, B, C | aisle | D, F on a CRH second-class coach */
const seatLetterColumns = [0, 1, 2, 4, 5] as const
/** Row number then letter, as on a CRH second-class coach: 01A, 01B, 01C, 01D, 01F, 02A, … */
export const seatCodeOf = (seatIndex: number) =>
  `${String(Math.floor(seatIndex / seatLetters.length) + 1).padStart(2, "0")}${seatLetters[seatIndex % seatLetters.length]}`

/** Each class's fares: its own, else the simple form; a class with coaches and neither is refused later. */
const faresByClass = (run: NewRun) => {
  const fares = new Map<string, ReadonlyArray<number>>()
  const classes = new Set(run.coaches.map((coach) => coach.seatClass))
  for (const seatClass of classes) if (run.fareFenPerSegment) fares.set(seatClass, run.fareFenPerSegment)
  for (const own of run.fareFenPerSegmentByClass ?? []) fares.set(own.seatClass, own.fareFenPerSegment)
  return fares
}

const validateRun = (run: NewRun) => {
  const stations = new Set(run.stops.map((stop) => stop.station))
  if (stations.size !== run.stops.length) return "a station appears twice in stops"
  for (let index = 1; index < run.stops.length; index++) {
    if (run.stops[index]!.departureMinuteOfDay <= run.stops[index - 1]!.departureMinuteOfDay) {
      return `stops[${index}].departureMinuteOfDay must be later than the stop before it`
    }
  }
  if (run.fareFenPerSegment && run.fareFenPerSegment.length !== run.stops.length - 1) {
    return `fareFenPerSegment needs ${run.stops.length - 1} entries (one per segment), got ${run.fareFenPerSegment.length}`
  }
  const ownClasses = (run.fareFenPerSegmentByClass ?? []).map((own) => own.seatClass)
  if (new Set(ownClasses).size !== ownClasses.length) return "a class appears twice in fareFenPerSegmentByClass"
  const coachClasses = new Set<string>(run.coaches.map((coach) => coach.seatClass))
  const idle = ownClasses.find((seatClass) => !coachClasses.has(seatClass))
  if (idle) return `fareFenPerSegmentByClass names ${idle}, which no coach has`
  if (new Set(run.coaches.map((coach) => coach.coach)).size !== run.coaches.length) return "a coach number appears twice"
  const seatCount = run.coaches.reduce((sum, coach) => sum + coach.seatCount, 0)
  if (seatCount > maxSeatsPerRun) return `a run has at most ${maxSeatsPerRun} seats, got ${seatCount}`
  return undefined
}

const trainRecord = (run: NewRun): RunRecord => ({
  runId: runIdOf(run.trainCode, run.serviceDate), code: run.trainCode, serviceDate: run.serviceDate, kind: "train",
  stops: run.stops, fares: faresByClass(run),
  sections: run.coaches.map((coach) => ({ section: coach.coach, name: `coach ${coach.coach} (${coach.seatClass})` })),
  seats: run.coaches.flatMap((coach) => Array.from({ length: coach.seatCount }, (_, seatIndex) => ({
    coach: coach.coach, seatCode: seatCodeOf(seatIndex), seatClass: coach.seatClass,
    gridRow: Math.floor(seatIndex / seatLetters.length), gridColumn: seatLetterColumns[seatIndex % seatLetters.length]!
  })))
})

interface OfferRow {
  readonly id: RunId; readonly train_code: TrainCode; readonly service_date: ServiceDate
  readonly from_index: number; readonly to_index: number
  readonly departure: number; readonly arrival: number
}

export class Catalog extends Effect.Service<Catalog>()("Catalog", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ids = yield* Ids
    const repo = yield* CatalogRepo
    const calendar = yield* CalendarConfig

    const createRun = (run: NewRun) =>
      Effect.gen(function* () {
        const problem = validateRun(run)
        if (problem) return yield* new InvalidCatalog({ message: problem })
        const record = trainRecord(run)
        const problems = runRecordProblems(record)
        if (problems.length > 0) return yield* new InvalidCatalog({ message: problems.join("; ") })
        return yield* repo.insertRun(record)
      }).pipe(sql.withTransaction, Effect.withSpan("Catalog.createRun", spanOptions))

    const search = (query: { from: StationCode; to: StationCode; date: ServiceDate }) =>
      Effect.gen(function* () {
        const runs = yield* sql<OfferRow>`
          SELECT r.id, r.train_code, r.service_date, f.stop_index AS from_index, t.stop_index AS to_index,
                 f.departure_minute_of_day AS departure, t.departure_minute_of_day AS arrival
          FROM train_runs r
          JOIN run_stops f ON f.run_id = r.id AND f.station_code = ${query.from}
          JOIN run_stops t ON t.run_id = r.id AND t.station_code = ${query.to}
          WHERE r.service_date = ${query.date} AND r.kind = 'train' AND f.stop_index < t.stop_index
          ORDER BY f.departure_minute_of_day, r.id`
        const nowMs = yield* Clock.currentTimeMillis
        return yield* Effect.forEach(runs, (run) => offerFor(run, query, nowMs))
      }).pipe(Effect.withSpan("Catalog.search", spanOptions))

    const offerFor = (run: OfferRow, query: { from: StationCode; to: StationCode }, nowMs: number) =>
      Effect.gen(function* () {
        const classes = yield* repo.classOffers(run.id, run.from_index, run.to_index)
        const offer: RunOffer = {
          runId: run.id, trainCode: run.train_code, serviceDate: run.service_date,
          fromStation: query.from, toStation: query.to,
          departureMinuteOfDay: run.departure, arrivalMinuteOfDay: run.arrival,
          availableSeats: classes.reduce((sum, offer) => sum + offer.availableSeats, 0),
          priceFen: classes[0]?.priceFen ?? FenTotal.make(0),
          classes,
          onSale: onSaleAt(nowMs, salesCloseAtMs(calendar, "train", run.service_date, Number(run.departure)))
        }
        return offer
      })

    const registerGate = (gateId: GateId, station: StationCode) =>
      Effect.gen(function* () {
        const deviceKey = yield* ids.secretToken
        yield* sql`INSERT INTO gates (id, station_code, key_hash) VALUES (${gateId}, ${station}, ${sha256Hex(deviceKey)})
          ON CONFLICT (id) DO UPDATE SET station_code = ${station}, key_hash = ${sha256Hex(deviceKey)}`
        return { gateId, deviceKey }
      })

    const authenticateGate = (deviceKey: string) =>
      Effect.gen(function* () {
        const [gate] = yield* sql<{ id: GateId; station_code: StationCode; train_code: string | null; service_date: string | null }>`
          SELECT g.id, g.station_code, r.train_code, r.service_date FROM gates g LEFT JOIN train_runs r ON r.id = g.boarding_run_id
          WHERE g.key_hash = ${sha256Hex(deviceKey)}`
        if (!gate) return yield* new Unauthorized({ message: "unknown gate device key" })
        const boarding = gate.train_code === null || gate.service_date === null ? null : { trainCode: gate.train_code, serviceDate: gate.service_date }
        return { id: gate.id, station: gate.station_code, boarding }
      })

    /**
     * The train run a gate boards from now on (null: any train boarding at its station, within its window). The
     * run must stop at the gate's station.
     */
    const setGateBoarding = (gateId: GateId, runId: RunId | null) =>
      Effect.gen(function* () {
        const [gate] = yield* sql<{ station_code: StationCode }>`SELECT station_code FROM gates WHERE id = ${gateId}`
        if (!gate) return yield* new GateNotFound({ gateId })
        if (runId !== null) {
          const [run] = yield* sql<{ id: RunId }>`SELECT id FROM train_runs WHERE id = ${runId}`
          if (!run) return yield* new TrainRunNotFound({ runId })
          const [stop] = yield* sql<{ stop_index: number }>`SELECT stop_index FROM run_stops WHERE run_id = ${runId} AND station_code = ${gate.station_code}`
          if (!stop) return yield* new InvalidCatalog({ message: `run ${runId} does not stop at ${gate.station_code}, where gate ${gateId} is` })
        }
        yield* sql`UPDATE gates SET boarding_run_id = ${runId} WHERE id = ${gateId}`
        return { gateId, boardingRunId: runId }
      })

    return { createRun, search, registerGate, authenticateGate, setGateBoarding } as const
  }),
  dependencies: [Ids.Default, CatalogRepo.Default]
}) {}
