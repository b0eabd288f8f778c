/**
 * Cinemas, showings and events (seed 004): a showing or an event becomes a run of its kind with two stops
 * at its venue (one segment), its hall or zones as sections, its seats placed on the seat map's grid.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { runIdOf } from "./Catalog.js"
import { CinemaExists, HallNotFound } from "./Catalog/Errors.js"
import { CatalogRepo, runRecordProblems } from "./Catalog/Repo.js"
import type { RunRecord, SeatRecord } from "./Catalog/Repo.js"
import { CalendarConfig } from "../Settings/Calendar.js"
import { InvalidCatalog } from "../Domain.js"
import type { RunId, ServiceDate, StationCode, TrainCode } from "../Domain.js"
import { maxPlacesPerEvent } from "./Venues/Api.js"
import type { Cinema, NewCinema, NewEvent, NewShowing, VenueRunOffer } from "./Venues/Api.js"
import { onSaleAt, salesCloseAtMs } from "./Orders/SalesClose.js"
import { spanOptions } from "../Spans.js"

/** seat letters of a hall's layout and the class each sells */
export const hallSeatClasses: Readonly<Record<string, "standard" | "vip">> = { S: "standard", V: "vip" }
/** a standing zone drawn on the seat map as rows of this many places */
export const standingPlacesPerGridRow = 50

const twoDigits = (value: number) => String(value).padStart(2, "0")

/**
 * Seats of a layout: rows with a seat are numbered from the front, seats from the left; a gap keeps its
 * grid cell (the aisle shows on the map) but takes no number. "07-12" = seventh seated row, twelfth seat.
 */
export const parseLayout = (rows: ReadonlyArray<string>, section: number, classOf: (letter: string) => string): Array<SeatRecord> => {
  const seats: Array<SeatRecord> = []
  let rowNumber = 0
  rows.forEach((cells, gridRow) => {
    if (![...cells].some((cell) => cell in hallSeatClasses)) return
    rowNumber++
    let seatNumber = 0
    ;[...cells].forEach((cell, gridColumn) => {
      if (!(cell in hallSeatClasses)) return
      seatNumber++
      seats.push({ coach: section, seatCode: `${twoDigits(rowNumber)}-${twoDigits(seatNumber)}`, seatClass: classOf(cell), gridRow, gridColumn })
    })
  })
  return seats
}

/** Places of a standing zone: GA0001, GA0002, … laid out in rows of standingPlacesPerGridRow. */
export const standingPlaces = (capacity: number, section: number, seatClass: string): Array<SeatRecord> =>
  Array.from({ length: capacity }, (_, index) => ({
    coach: section, seatCode: `GA${String(index + 1).padStart(4, "0")}`, seatClass,
    gridRow: Math.floor(index / standingPlacesPerGridRow), gridColumn: index % standingPlacesPerGridRow
  }))

/** The two stops of a one-segment run: both at the venue, the second at the end time (may pass 23:59). */
const venueStops = (venue: { code: string; name: string }, startMinuteOfDay: number, durationMinutes: number) => [
  { station: venue.code, name: venue.name, departureMinuteOfDay: startMinuteOfDay },
  { station: venue.code, name: venue.name, departureMinuteOfDay: startMinuteOfDay + durationMinutes }
]

const eventRecord = (event: NewEvent): RunRecord | string => {
  if (new Set(event.zones.map((zone) => zone.zone)).size !== event.zones.length) return "a zone number appears twice"
  const fares = new Map<string, ReadonlyArray<number>>()
  const seats: Array<SeatRecord> = []
  for (const zone of event.zones) {
    if ((zone.rows === undefined) === (zone.standingCapacity === undefined)) return `zone ${zone.zone} needs rows (seated) or standingCapacity, not both`
    const fare = fares.get(zone.seatClass)
    if (fare !== undefined && fare[0] !== zone.fareFen) return `zones of class ${zone.seatClass} must share one fare`
    fares.set(zone.seatClass, [zone.fareFen])
    const zoneSeats = zone.rows !== undefined
      ? parseLayout(zone.rows, zone.zone, () => zone.seatClass)
      : standingPlaces(zone.standingCapacity ?? 0, zone.zone, zone.seatClass)
    if (zoneSeats.length === 0) return `zone ${zone.zone} has no seats`
    seats.push(...zoneSeats)
  }
  if (seats.length > maxPlacesPerEvent) return `an event has at most ${maxPlacesPerEvent} seats and places, got ${seats.length}`
  return {
    runId: runIdOf(event.eventCode, event.serviceDate), code: event.eventCode, serviceDate: event.serviceDate, kind: "event",
    stops: venueStops(event.venue, event.startMinuteOfDay, event.durationMinutes), fares,
    sections: event.zones.map((zone) => ({ section: zone.zone, name: zone.name })), seats
  }
}

interface VenueRunRow {
  readonly run_id: RunId; readonly kind: "showing" | "event"; readonly train_code: TrainCode; readonly service_date: ServiceDate
  readonly venue_code: StationCode; readonly venue_name: string; readonly hall: number | null; readonly title: string
  readonly start_minute_of_day: number; readonly duration_minutes: number
}

export class Venues extends Effect.Service<Venues>()("Venues", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* CatalogRepo
    const calendar = yield* CalendarConfig

    const cinemaOf = (code: string) =>
      Effect.gen(function* () {
        const [cinema] = yield* sql<{ code: StationCode; name: string; city: string }>`SELECT code, name, city FROM cinemas WHERE code = ${code}`
        if (!cinema) return undefined
        const halls = yield* sql<{ hall: number; name: string; seat_count: number; layout_json: string }>`SELECT hall, name, seat_count, layout_json
          FROM halls WHERE cinema_code = ${code} ORDER BY hall`
        const result: Cinema = {
          ...cinema,
          halls: halls.map((hall) => ({ hall: Number(hall.hall), name: hall.name, seatCount: Number(hall.seat_count), rows: JSON.parse(hall.layout_json) as Array<string> }))
        }
        return result
      })

    const createCinema = (cinema: NewCinema) =>
      Effect.gen(function* () {
        if (new Set(cinema.halls.map((hall) => hall.hall)).size !== cinema.halls.length) return yield* new InvalidCatalog({ message: "a hall number appears twice" })
        const seatCounts = cinema.halls.map((hall) => parseLayout(hall.rows, hall.hall, () => "").length)
        const empty = seatCounts.findIndex((count) => count === 0)
        if (empty >= 0) return yield* new InvalidCatalog({ message: `hall ${cinema.halls[empty]!.hall} has no seats` })
        const existing = yield* sql`SELECT code FROM cinemas WHERE code = ${cinema.code}`
        if (existing.length > 0) return yield* new CinemaExists({ cinema: cinema.code })
        yield* sql`INSERT INTO cinemas (code, name, city) VALUES (${cinema.code}, ${cinema.name}, ${cinema.city})`
        yield* sql`INSERT INTO halls ${sql.insert(cinema.halls.map((hall, index) => ({
          cinema_code: cinema.code, hall: hall.hall, name: hall.name, layout_json: JSON.stringify(hall.rows), seat_count: seatCounts[index]!
        })))}`
        const created = yield* cinemaOf(cinema.code)
        if (!created) return yield* Effect.dieMessage(`cinema ${cinema.code} vanished after its insert`)
        return created
      }).pipe(sql.withTransaction, Effect.withSpan("Venues.createCinema", spanOptions))

    const listCinemas = Effect.gen(function* () {
      const codes = yield* sql<{ code: string }>`SELECT code FROM cinemas ORDER BY code`
      const cinemas = yield* Effect.forEach(codes, (row) => cinemaOf(row.code))
      return cinemas.filter((cinema): cinema is Cinema => cinema !== undefined)
    })

    const insertVenueRun = (record: RunRecord, venue: { code: string; name: string }, hall: number | null, title: string, startMinuteOfDay: number, durationMinutes: number) =>
      Effect.gen(function* () {
        const problems = runRecordProblems(record)
        if (problems.length > 0) return yield* new InvalidCatalog({ message: problems.join("; ") })
        const created = yield* repo.insertRun(record)
        yield* sql`INSERT INTO venue_runs ${sql.insert({
          run_id: record.runId, venue_code: venue.code, venue_name: venue.name, hall, title,
          start_minute_of_day: startMinuteOfDay, duration_minutes: durationMinutes
        })}`
        return created
      })

    const createShowing = (showing: NewShowing) =>
      Effect.gen(function* () {
        const [hall] = yield* sql<{ layout_json: string; name: string; cinema_name: string }>`SELECT h.layout_json, h.name, c.name AS cinema_name
          FROM halls h JOIN cinemas c ON c.code = h.cinema_code WHERE h.cinema_code = ${showing.cinema} AND h.hall = ${showing.hall}`
        if (!hall) return yield* new HallNotFound({ cinema: showing.cinema, hall: showing.hall })
        const fares = new Map<string, ReadonlyArray<number>>(showing.fares.map((fare) => [fare.seatClass, [fare.fareFen]]))
        if (fares.size !== showing.fares.length) return yield* new InvalidCatalog({ message: "a class appears twice in fares" })
        const seats = parseLayout(JSON.parse(hall.layout_json) as Array<string>, showing.hall, (letter) => hallSeatClasses[letter]!)
        const record: RunRecord = {
          runId: runIdOf(showing.showingCode, showing.serviceDate), code: showing.showingCode, serviceDate: showing.serviceDate, kind: "showing",
          stops: venueStops({ code: showing.cinema, name: hall.cinema_name }, showing.startMinuteOfDay, showing.film.durationMinutes),
          fares, sections: [{ section: showing.hall, name: hall.name }], seats
        }
        return yield* insertVenueRun(record, { code: showing.cinema, name: hall.cinema_name }, showing.hall, showing.film.title,
          showing.startMinuteOfDay, showing.film.durationMinutes)
      }).pipe(sql.withTransaction, Effect.withSpan("Venues.createShowing", spanOptions))

    const createEvent = (event: NewEvent) =>
      Effect.gen(function* () {
        const record = eventRecord(event)
        if (typeof record === "string") return yield* new InvalidCatalog({ message: record })
        return yield* insertVenueRun(record, event.venue, null, event.title, event.startMinuteOfDay, event.durationMinutes)
      }).pipe(sql.withTransaction, Effect.withSpan("Venues.createEvent", spanOptions))

    const list = (kind: "showing" | "event", query: { date: ServiceDate; venue?: StationCode | undefined }) =>
      Effect.gen(function* () {
        const runs = yield* sql<VenueRunRow>`SELECT v.run_id, r.kind, r.train_code, r.service_date, v.venue_code, v.venue_name,
            v.hall, v.title, v.start_minute_of_day, v.duration_minutes
          FROM train_runs r JOIN venue_runs v ON v.run_id = r.id
          WHERE r.kind = ${kind} AND r.service_date = ${query.date}
            ${query.venue === undefined ? sql`` : sql`AND v.venue_code = ${query.venue}`}
          ORDER BY v.start_minute_of_day, r.id`
        const nowMs = yield* Clock.currentTimeMillis
        return yield* Effect.forEach(runs, (run) => Effect.map(repo.classOffers(run.run_id, 0, 1), (classes): VenueRunOffer => ({
          runId: run.run_id, kind: run.kind, code: run.train_code, serviceDate: run.service_date, venue: run.venue_code,
          venueName: run.venue_name, hall: run.hall === null ? null : Number(run.hall), title: run.title,
          startMinuteOfDay: Number(run.start_minute_of_day), durationMinutes: Number(run.duration_minutes),
          availableSeats: classes.reduce((sum, offer) => sum + offer.availableSeats, 0), classes,
          onSale: onSaleAt(nowMs, salesCloseAtMs(calendar, run.kind, run.service_date, Number(run.start_minute_of_day)))
        })))
      }).pipe(Effect.withSpan("Venues.list", spanOptions))

    return { createCinema, listCinemas, createShowing, createEvent, list } as const
  }),
  dependencies: [CatalogRepo.Default]
}) {}
