/** Expected failures of card, gateway and kiosk payments, each with its HTTP status. */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { FenTotal } from "../../Domain.js"

/** `issuer-unavailable`: the bank could not decide (ISO 8583 response 91), as in a brownout; the passenger may try again */
/** `pin-tries-exceeded`: the card is blocked after too many wrong PINs, and stays so whatever PIN comes next */
export const DeclineReason = Schema.Literal(
  "wrong-pin", "pin-tries-exceeded", "insufficient-funds", "lost-card", "unknown-card", "invalid-pin-block", "issuer-unavailable"
)
export type DeclineReason = typeof DeclineReason.Type

/** The bank refused the card: nothing was charged, the order stays held. */
export class CardDeclined extends Schema.TaggedError<CardDeclined>()(
  "CardDeclined", { reason: DeclineReason }, HttpApiSchema.annotations({ status: 402 })
) {}
/** Another payment of this order holds a reservation that is neither posted nor voided yet. */
export class PaymentInProgress extends Schema.TaggedError<PaymentInProgress>()(
  "PaymentInProgress", { orderId: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
export class GatewaySignatureInvalid extends Schema.TaggedError<GatewaySignatureInvalid>()(
  "GatewaySignatureInvalid", { message: Schema.String }, HttpApiSchema.annotations({ status: 401 })
) {}
/** A notification sent longer ago than `gatewayCallbackMaxAgeMs` (or that far in the future): a replay. */
export class GatewayCallbackStale extends Schema.TaggedError<GatewayCallbackStale>()(
  "GatewayCallbackStale", { sentAtMs: Schema.Number, receivedAtMs: Schema.Number }, HttpApiSchema.annotations({ status: 400 })
) {}
/**
 * A correctly signed notification whose news the gateway's own record does not bear out (asked before anything
 * is settled): the charge is still pending there, or ended otherwise. Nothing is captured or issued on it.
 */
export class GatewayChargeUnconfirmed extends Schema.TaggedError<GatewayChargeUnconfirmed>()(
  "GatewayChargeUnconfirmed",
  { chargeId: Schema.String, notifiedStatus: Schema.String, gatewayStatus: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}
export class GatewayChargeNotFound extends Schema.TaggedError<GatewayChargeNotFound>()(
  "GatewayChargeNotFound", { chargeId: Schema.String }, HttpApiSchema.annotations({ status: 404 })
) {}
/** The order was never paid through the gateway (no charge to report on). */
export class NoGatewayPayment extends Schema.TaggedError<NoGatewayPayment>()(
  "NoGatewayPayment", { orderId: Schema.String }, HttpApiSchema.annotations({ status: 404 })
) {}
export class GatewayAmountMismatch extends Schema.TaggedError<GatewayAmountMismatch>()(
  "GatewayAmountMismatch", { chargeId: Schema.String, expectedFen: FenTotal, notifiedFen: FenTotal },
  HttpApiSchema.annotations({ status: 422 })
) {}
export class PrintJobNotFound extends Schema.TaggedError<PrintJobNotFound>()(
  "PrintJobNotFound", { jobId: Schema.String }, HttpApiSchema.annotations({ status: 404 })
) {}
/** A printed job cannot fault any more: reporting one would let it print a second original. */
export class PrintJobAlreadyPrinted extends Schema.TaggedError<PrintJobAlreadyPrinted>()(
  "PrintJobAlreadyPrinted", { jobId: Schema.String, printedAtMs: Schema.Number }, HttpApiSchema.annotations({ status: 409 })
) {}
/** The ticket already has a print job (printed at the kiosk that sold it, or picked up before). */
export class TicketAlreadyPrinted extends Schema.TaggedError<TicketAlreadyPrinted>()(
  "TicketAlreadyPrinted", { ticketId: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
/** No ticket to print for this phone number and ID (unknown phone, wrong ID, or all printed): one answer for all. */
export class NothingToPickUp extends Schema.TaggedError<NothingToPickUp>()(
  "NothingToPickUp", { message: Schema.String }, HttpApiSchema.annotations({ status: 404 })
) {}
