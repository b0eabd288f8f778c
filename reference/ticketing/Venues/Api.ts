/**
 * Cinemas, showings and events (seed 004 [0007], [0084], [0087]–[0092]): a cinema's halls with their
 * seat maps, showings of films in a hall, events at a venue with seated or standing zones. A showing and
 * an event are runs of their own kind with one segment, so holds, payment, issuance and gates are shared.
 */
import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { AdminAuth } from "../../customers/Auth/Api.js"
import { ClassOffer, SeatClassName } from "../Catalog/Api.js"
import { CinemaExists, HallNotFound } from "../Catalog/Errors.js"
import { Fen, InvalidCatalog, MinuteOfDay, RunId, ServiceDate, StationCode, TrainCode, TrainRunExists } from "../../Domain.js"

export const maxHallRows = 50
export const maxHallRowCells = 60
export const maxHallsPerCinema = 30
export const maxZonesPerEvent = 40
export const maxStandingCapacity = 9_999
/** a stadium: the largest hold about 100,000 (a train run stays at maxSeatsPerRun) */
export const maxPlacesPerEvent = 100_000
export const maxDurationMinutes = 24 * 60

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(60))

/**
 * A hall's seat map, front row first: one character a grid cell, "S" a standard seat, "V" a VIP seat,
 * "." or " " a gap or aisle. Seats are numbered per row from the left; rows with seats from the front:
 * the fifth seat of the third seated row is "03-05".
 */
export const HallLayout = Schema.Array(Schema.String.pipe(Schema.pattern(new RegExp(`^[SV. ]{1,${maxHallRowCells}}$`))))
  .pipe(Schema.minItems(1), Schema.maxItems(maxHallRows))
export const HallInput = Schema.Struct({ hall: Schema.Int.pipe(Schema.between(1, 99)), name: Name, rows: HallLayout })
export const NewCinema = Schema.Struct({
  /** a 3-letter code like a station's: the cinema's gates register under it */
  code: StationCode,
  name: Name,
  city: Name,
  halls: Schema.Array(HallInput).pipe(Schema.minItems(1), Schema.maxItems(maxHallsPerCinema))
})
export type NewCinema = typeof NewCinema.Type
export const Cinema = Schema.Struct({
  code: StationCode,
  name: Schema.String,
  city: Schema.String,
  halls: Schema.Array(Schema.Struct({ hall: Schema.Number, name: Schema.String, seatCount: Schema.Number, rows: Schema.Array(Schema.String) }))
})
export type Cinema = typeof Cinema.Type

export const HallClass = Schema.Literal("standard", "vip")
export const NewShowing = Schema.Struct({
  /** unique per date: the run ID is `<showingCode>-<yyyymmdd>` */
  showingCode: TrainCode,
  cinema: StationCode,
  hall: Schema.Int.pipe(Schema.between(1, 99)),
  serviceDate: ServiceDate,
  startMinuteOfDay: MinuteOfDay,
  film: Schema.Struct({ title: Name, durationMinutes: Schema.Int.pipe(Schema.between(1, maxDurationMinutes)) }),
  /** the price of a seat of each class the hall has */
  fares: Schema.Array(Schema.Struct({ seatClass: HallClass, fareFen: Fen })).pipe(Schema.minItems(1), Schema.maxItems(2))
})
export type NewShowing = typeof NewShowing.Type

/** A zone of an event: seated (a seat map like a hall's, "S" and gaps) or standing (a capacity). */
export const ZoneInput = Schema.Struct({
  zone: Schema.Int.pipe(Schema.between(1, 99)),
  name: Name,
  seatClass: SeatClassName,
  fareFen: Fen,
  rows: Schema.optional(Schema.Array(Schema.String.pipe(Schema.pattern(new RegExp(`^[S. ]{1,${maxHallRowCells}}$`))))
    .pipe(Schema.minItems(1), Schema.maxItems(maxHallRows))),
  standingCapacity: Schema.optional(Schema.Int.pipe(Schema.between(1, maxStandingCapacity)))
})
export const NewEvent = Schema.Struct({
  eventCode: TrainCode,
  /** a 3-letter code: the venue's gates register under it */
  venue: Schema.Struct({ code: StationCode, name: Name }),
  title: Name,
  serviceDate: ServiceDate,
  startMinuteOfDay: MinuteOfDay,
  durationMinutes: Schema.Int.pipe(Schema.between(1, maxDurationMinutes)),
  zones: Schema.Array(ZoneInput).pipe(Schema.minItems(1), Schema.maxItems(maxZonesPerEvent))
})
export type NewEvent = typeof NewEvent.Type

export const VenueRunOffer = Schema.Struct({
  runId: RunId,
  kind: Schema.Literal("showing", "event"),
  /** showing code or event code */
  code: TrainCode,
  serviceDate: ServiceDate,
  /** the cinema's or venue's code: hold with fromStation = toStation = venue */
  venue: StationCode,
  venueName: Schema.String,
  /** a showing's hall (the "coach" of its seats); null for an event */
  hall: Schema.NullOr(Schema.Number),
  title: Schema.String,
  startMinuteOfDay: Schema.Number,
  durationMinutes: Schema.Number,
  availableSeats: Schema.Number,
  classes: Schema.Array(ClassOffer),
  /** false once sales have closed (`venueSalesCloseBeforeStartMs` before the start): listed, but a hold is refused (`SalesClosed`) */
  onSale: Schema.Boolean
})
export type VenueRunOffer = typeof VenueRunOffer.Type

const Created = Schema.Struct({ runId: RunId, seatCount: Schema.Number })
const ListParams = Schema.Struct({ date: ServiceDate, venue: Schema.optional(StationCode) })

export class VenuesApi extends HttpApiGroup.make("venues")
  .add(HttpApiEndpoint.get("listCinemas", "/cinemas").addSuccess(Schema.Array(Cinema)))
  .add(HttpApiEndpoint.get("listShowings", "/showings").setUrlParams(ListParams).addSuccess(Schema.Array(VenueRunOffer)))
  .add(HttpApiEndpoint.get("listEvents", "/events").setUrlParams(ListParams).addSuccess(Schema.Array(VenueRunOffer)))
  .add(
    HttpApiEndpoint.post("createCinema", "/admin/cinemas")
      .setPayload(NewCinema)
      .addSuccess(Cinema, { status: 201 })
      .addError(CinemaExists)
      .addError(InvalidCatalog)
      .middleware(AdminAuth)
  )
  .add(
    HttpApiEndpoint.post("createShowing", "/admin/showings")
      .setPayload(NewShowing)
      .addSuccess(Created, { status: 201 })
      .addError(HallNotFound)
      .addError(TrainRunExists)
      .addError(InvalidCatalog)
      .middleware(AdminAuth)
  )
  .add(
    HttpApiEndpoint.post("createEvent", "/admin/events")
      .setPayload(NewEvent)
      .addSuccess(Created, { status: 201 })
      .addError(TrainRunExists)
      .addError(InvalidCatalog)
      .middleware(AdminAuth)
  ) {}
