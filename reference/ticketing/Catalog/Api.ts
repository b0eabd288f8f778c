import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { AdminAuth } from "../../customers/Auth/Api.js"
import {
  Fen, FenTotal, GateId, InvalidCatalog, InvalidSegment, maxCoachesPerRun, maxSeatsPerRun, maxStopsPerTrain, MinuteOfDay, RunId,
  SeatClass, ServiceDate, StationCode, TrainCode, TrainRunExists, TrainRunNotFound
} from "../../Domain.js"
import { GateNotFound } from "./Errors.js"

/**
 * A seat class or zone name as holds and offers name it: a train's "business", "first", "second", a
 * cinema's "standard", "vip", an event's zone class such as "floor" or "stand-a".
 */
export const SeatClassName = Schema.String.pipe(Schema.pattern(/^[a-z][a-z0-9-]{0,15}$/))
/** "05A" on a train coach, "07-12" (row 07, seat 12) in a hall or a seated zone, "GA0042" standing. */
export const SeatCode = Schema.String.pipe(Schema.pattern(/^[0-9A-Z][0-9A-Z-]{0,5}$/))
export const ChosenSeat = Schema.Struct({
  /** train: coach number; showing: hall number; event: zone number */
  coach: Schema.Int.pipe(Schema.between(1, 255)),
  seatCode: SeatCode
})

export const StopInput = Schema.Struct({
  station: StationCode,
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(40)),
  departureMinuteOfDay: MinuteOfDay
})
export const CoachInput = Schema.Struct({
  coach: Schema.Int.pipe(Schema.between(1, 99)),
  seatClass: SeatClass,
  seatCount: Schema.Int.pipe(Schema.between(1, 200))
})
const SegmentFares = Schema.Array(Fen).pipe(Schema.maxItems(maxStopsPerTrain - 1))
export const ClassFares = Schema.Struct({ seatClass: SeatClass, fareFenPerSegment: SegmentFares })
export const NewRun = Schema.Struct({
  trainCode: TrainCode,
  serviceDate: ServiceDate,
  stops: Schema.Array(StopInput).pipe(Schema.minItems(2), Schema.maxItems(maxStopsPerTrain)),
  coaches: Schema.Array(CoachInput).pipe(Schema.minItems(1), Schema.maxItems(maxCoachesPerRun)),
  /** the simple form: the fare of each segment between consecutive stops, for every class without its own */
  fareFenPerSegment: Schema.optional(SegmentFares),
  /** a class's own fares per segment; every class the coaches have needs these or the simple form */
  fareFenPerSegmentByClass: Schema.optional(Schema.Array(ClassFares).pipe(Schema.maxItems(SeatClass.literals.length)))
})
export type NewRun = typeof NewRun.Type

export const ClassOffer = Schema.Struct({
  seatClass: Schema.String,
  /** seats of this class free on every segment of the journey */
  availableSeats: Schema.Number,
  /** this class's fare for the journey */
  priceFen: FenTotal
})
export type ClassOffer = typeof ClassOffer.Type

export const RunOffer = Schema.Struct({
  runId: RunId,
  trainCode: TrainCode,
  serviceDate: ServiceDate,
  fromStation: StationCode,
  toStation: StationCode,
  departureMinuteOfDay: Schema.Number,
  arrivalMinuteOfDay: Schema.Number,
  /** over every class */
  availableSeats: Schema.Number,
  /** the cheapest class's fare for the journey */
  priceFen: FenTotal,
  classes: Schema.Array(ClassOffer),
  /**
   * false once the boarding stop's sales have closed (`salesCloseBeforeDepartureMs` before its departure, by the
   * server's clock): the run is still listed, its free seats still counted, but a hold is refused (`SalesClosed`)
   */
  onSale: Schema.Boolean
})
export type RunOffer = typeof RunOffer.Type

export const SearchParams = Schema.Struct({ from: StationCode, to: StationCode, date: ServiceDate })

// ---- seat map (seed 004 [0039]–[0040], [0061]: seat distribution and sales status, with a thumbnail) ----

export const SeatMapParams = Schema.Struct({
  /** a train's journey; a showing or an event has one segment and needs neither */
  from: Schema.optional(StationCode),
  to: Schema.optional(StationCode),
  /**
   * `false` leaves the PNG thumbnail out: a device that reads the seat list (to choose a seat) needs no picture,
   * and drawing one costs the server more than reading the statuses. Default `true`.
   */
  thumbnail: Schema.optional(Schema.BooleanFromString)
})

export const SeatMapRow = Schema.Struct({
  /** the grid row on the section's map (0 = front), gaps and aisles included */
  gridRow: Schema.Number,
  /** one character per grid column: seatMapLegend */
  cells: Schema.String,
  /** the codes of this row's seats, left to right (one per non-gap cell) */
  seatCodes: Schema.Array(Schema.String)
})
export const SeatMapSection = Schema.Struct({
  /** coach (train), hall (showing) or zone (event) number: the "coach" of a hold and a ticket */
  section: Schema.Number,
  name: Schema.String,
  rows: Schema.Array(SeatMapRow)
})
export const SeatMapThumbnail = Schema.Struct({
  widthPx: Schema.Number,
  heightPx: Schema.Number,
  /** a seat at (section s, gridRow r, gridColumn c) is the square at x = c·pitch, y = (s's first row + r)·pitch */
  cellPitchPx: Schema.Number,
  pngBase64: Schema.String
})
export const SeatMap = Schema.Struct({
  runId: RunId,
  kind: Schema.Literal("train", "showing", "event"),
  fromStation: StationCode,
  toStation: StationCode,
  /** the Clock's time the statuses were read at */
  atMs: Schema.Number,
  legend: Schema.Struct({ free: Schema.String, held: Schema.String, sold: Schema.String, gap: Schema.String }),
  counts: Schema.Struct({ free: Schema.Number, held: Schema.Number, sold: Schema.Number }),
  sections: Schema.Array(SeatMapSection),
  /** absent when the request said `thumbnail=false` */
  thumbnail: Schema.optional(SeatMapThumbnail)
})
export type SeatMap = typeof SeatMap.Type

export class CatalogApi extends HttpApiGroup.make("catalog")
  .add(
    HttpApiEndpoint.get("search", "/runs")
      .setUrlParams(SearchParams)
      .addSuccess(Schema.Array(RunOffer))
  )
  .add(
    HttpApiEndpoint.get("seatMap", "/runs/:runId/seat-map")
      .setPath(Schema.Struct({ runId: RunId }))
      .setUrlParams(SeatMapParams)
      .addSuccess(SeatMap)
      .addError(TrainRunNotFound)
      .addError(InvalidSegment)
  )
  .add(
    HttpApiEndpoint.post("createRun", "/admin/runs")
      .setPayload(NewRun)
      .addSuccess(Schema.Struct({ runId: RunId, seatCount: Schema.Number.pipe(Schema.lessThanOrEqualTo(maxSeatsPerRun)) }), { status: 201 })
      .addError(TrainRunExists)
      .addError(InvalidCatalog)
      .middleware(AdminAuth)
  )
  .add(
    HttpApiEndpoint.post("registerGate", "/admin/gates")
      .setPayload(Schema.Struct({ gateId: GateId, station: StationCode }))
      .addSuccess(Schema.Struct({ gateId: GateId, deviceKey: Schema.String }), { status: 201 })
      .middleware(AdminAuth)
  )
  .add(
    // the train run a gate boards (a platform's gate boards one train at a time); null: any train at its station
    HttpApiEndpoint.put("setGateBoarding", "/admin/gates/:gateId/boarding")
      .setPath(Schema.Struct({ gateId: GateId }))
      .setPayload(Schema.Struct({ runId: Schema.NullOr(RunId) }))
      .addSuccess(Schema.Struct({ gateId: GateId, boardingRunId: Schema.NullOr(RunId) }))
      .addError(GateNotFound)
      .addError(TrainRunNotFound)
      .addError(InvalidCatalog)
      .middleware(AdminAuth)
  ) {}
