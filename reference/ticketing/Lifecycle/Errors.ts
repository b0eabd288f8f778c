import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { FenDelta } from "../../Domain.js"

/** The order cannot be cancelled now: its state, or why (departed, admitted). */
export class OrderNotCancellable extends Schema.TaggedError<OrderNotCancellable>()(
  "OrderNotCancellable", { orderId: Schema.String, state: Schema.String, reason: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}

/** The order cannot be changed now: only an issued, unused ticket before departure can. */
export class OrderNotChangeable extends Schema.TaggedError<OrderNotChangeable>()(
  "OrderNotChangeable", { orderId: Schema.String, state: Schema.String, reason: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}

/** The ticket has been changed as often as `maxChangesPerTicket` allows. */
export class ChangeLimitReached extends Schema.TaggedError<ChangeLimitReached>()(
  "ChangeLimitReached", { orderId: Schema.String, changes: Schema.Number, maxChanges: Schema.Number }, HttpApiSchema.annotations({ status: 409 })
) {}

/** The new journey costs more: the difference is charged from the wallet, which needs the payment password. */
export class PaymentPasswordRequired extends Schema.TaggedError<PaymentPasswordRequired>()(
  "PaymentPasswordRequired", { fareDifferenceFen: FenDelta }, HttpApiSchema.annotations({ status: 422 })
) {}
