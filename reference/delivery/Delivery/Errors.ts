import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

export class InvalidCarrierCapacity extends Schema.TaggedError<InvalidCarrierCapacity>()(
  "InvalidCarrierCapacity", { message: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}
/** The carrier named a ticket it does not hold (never written to it, in the network box, or another phone's). */
export class TicketNotOnCarrier extends Schema.TaggedError<TicketNotOnCarrier>()(
  "TicketNotOnCarrier", { ticketId: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}
/** Not 12 digits, or the check digit does not match: a typing mistake, told apart from an unknown code. */
export class InvalidVoucherCode extends Schema.TaggedError<InvalidVoucherCode>()(
  "InvalidVoucherCode", { message: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}
export class VoucherNotFound extends Schema.TaggedError<VoucherNotFound>()(
  "VoucherNotFound", { code: Schema.String }, HttpApiSchema.annotations({ status: 404 })
) {}
export class VoucherAlreadyRedeemed extends Schema.TaggedError<VoucherAlreadyRedeemed>()(
  "VoucherAlreadyRedeemed",
  { code: Schema.String, redeemedAtMs: Schema.Number, machineId: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}
/** The voucher's order is no longer issued (refunded or changed). */
export class VoucherNotRedeemable extends Schema.TaggedError<VoucherNotRedeemable>()(
  "VoucherNotRedeemable", { code: Schema.String, state: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
/** A SIM carrier lives in a phone: an anonymous device customer (no phone number) cannot register one. */
export class CarrierNeedsPhone extends Schema.TaggedError<CarrierNeedsPhone>()(
  "CarrierNeedsPhone", { message: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
