import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { AdminAuth } from "../Auth/Api.js"
import {
  Fen, GateId, InvalidCatalog, maxCoachesPerRun, maxSeatsPerRun, maxStopsPerTrain, MinuteOfDay, RunId,
  SeatClass, ServiceDate, StationCode, TrainCode, TrainRunExists
} from "../Domain.js"

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
export const NewRun = Schema.Struct({
  trainCode: TrainCode,
  serviceDate: ServiceDate,
  stops: Schema.Array(StopInput).pipe(Schema.minItems(2), Schema.maxItems(maxStopsPerTrain)),
  coaches: Schema.Array(CoachInput).pipe(Schema.minItems(1), Schema.maxItems(maxCoachesPerRun)),
  /** fare of each segment between consecutive stops, the same for every seat class for now */
  fareFenPerSegment: Schema.Array(Fen).pipe(Schema.maxItems(maxStopsPerTrain - 1))
})
export type NewRun = typeof NewRun.Type

export const RunOffer = Schema.Struct({
  runId: RunId,
  trainCode: TrainCode,
  serviceDate: ServiceDate,
  fromStation: StationCode,
  toStation: StationCode,
  departureMinuteOfDay: Schema.Number,
  arrivalMinuteOfDay: Schema.Number,
  availableSeats: Schema.Number,
  priceFen: Schema.Number
})
export type RunOffer = typeof RunOffer.Type

export const SearchParams = Schema.Struct({ from: StationCode, to: StationCode, date: ServiceDate })

export class CatalogApi extends HttpApiGroup.make("catalog")
  .add(
    HttpApiEndpoint.get("search", "/runs")
      .setUrlParams(SearchParams)
      .addSuccess(Schema.Array(RunOffer))
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
  ) {}
