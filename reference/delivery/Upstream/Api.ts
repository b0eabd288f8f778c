import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { AdminAuth } from "../../customers/Auth/Api.js"
import { InvalidSegment, RunId, StationCode, TrainRunNotFound } from "../../Domain.js"

export const UpstreamSaleId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_.:-]{4,64}$/))

/** A seat an upstream ticket terminal sold (seed 002: 票务存储 synced from the terminals). */
export const UpstreamSale = Schema.Struct({
  /** the upstream's own ID of the sale: a sale sent twice is found by it */
  saleId: UpstreamSaleId,
  runId: RunId,
  coach: Schema.Int.pipe(Schema.between(1, 99)),
  seatCode: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(6)),
  fromStation: StationCode,
  toStation: StationCode
})
export type UpstreamSale = typeof UpstreamSale.Type

export const ClaimedSale = Schema.Struct({
  saleId: Schema.String,
  state: Schema.Literal("claimed"),
  /** false when this sale had been received before: the stored answer */
  firstReceipt: Schema.Boolean
})

export const UpstreamReport = Schema.Struct({
  claimedSales: Schema.Number,
  /** sales refused because the seat was sold here first: reported, never sold twice */
  conflicts: Schema.Array(Schema.Struct({ saleId: Schema.String, runId: Schema.String, seatId: Schema.Number, receivedAtMs: Schema.Number })),
  pendingPushes: Schema.Number,
  pushedSeats: Schema.Number,
  abandonedPushes: Schema.Number
})
export type UpstreamReport = typeof UpstreamReport.Type

export class UpstreamSeatConflict extends Schema.TaggedError<UpstreamSeatConflict>()(
  "UpstreamSeatConflict", { saleId: Schema.String, runId: Schema.String, coach: Schema.Number, seatCode: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}
export class UpstreamSeatUnknown extends Schema.TaggedError<UpstreamSeatUnknown>()(
  "UpstreamSeatUnknown", { runId: Schema.String, coach: Schema.Number, seatCode: Schema.String }, HttpApiSchema.annotations({ status: 404 })
) {}
/** The same sale ID arrived again naming another seat or journey. */
export class UpstreamSaleMismatch extends Schema.TaggedError<UpstreamSaleMismatch>()(
  "UpstreamSaleMismatch", { saleId: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}

export class UpstreamApi extends HttpApiGroup.make("upstream")
  .add(
    HttpApiEndpoint.post("receiveSale", "/admin/upstream/sales")
      .setPayload(UpstreamSale)
      .addSuccess(ClaimedSale, { status: 201 })
      .addError(UpstreamSeatConflict)
      .addError(UpstreamSeatUnknown)
      .addError(UpstreamSaleMismatch)
      .addError(TrainRunNotFound)
      .addError(InvalidSegment)
  )
  .add(
    HttpApiEndpoint.get("report", "/admin/upstream")
      .addSuccess(UpstreamReport)
  )
  .middleware(AdminAuth) {}
