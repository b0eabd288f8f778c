/** Expected failures of the catalog: seat classes, chosen seats, cinemas and venues. */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/** The hold asked for a class the run does not sell. */
export class UnknownSeatClass extends Schema.TaggedError<UnknownSeatClass>()(
  "UnknownSeatClass", { runId: Schema.String, seatClass: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}
/** The chosen seat is not on the run's seat map, or not of the class asked for with it. */
export class UnknownSeat extends Schema.TaggedError<UnknownSeat>()(
  "UnknownSeat", { runId: Schema.String, coach: Schema.Number, seatCode: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 422 })
) {}
export class CinemaExists extends Schema.TaggedError<CinemaExists>()(
  "CinemaExists", { cinema: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
/** A showing names a cinema or hall that was never created. */
export class HallNotFound extends Schema.TaggedError<HallNotFound>()(
  "HallNotFound", { cinema: Schema.String, hall: Schema.Number }, HttpApiSchema.annotations({ status: 404 })
) {}
/** No gate was registered with this ID. */
export class GateNotFound extends Schema.TaggedError<GateNotFound>()(
  "GateNotFound", { gateId: Schema.String }, HttpApiSchema.annotations({ status: 404 })
) {}
