import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { CustomerAuth } from "../../customers/Auth/Api.js"
import {
  FenTotal, HoldDisplaced, HoldExpired, IdempotencyKey, IdempotencyKeyReused, InsufficientFunds, OrderId, OrderNotFound, OrderNotPayable,
  OrderState, PaymentLocked, PaymentPassword, PaymentPasswordWrong, PositiveFen, TicketId, TopUpTooLarge, TransferId,
  WalletBalanceLimitReached
} from "../../Domain.js"
import { Ticket } from "../../delivery/Issuance/Api.js"

export const IdempotencyHeaders = Schema.Struct({ "idempotency-key": IdempotencyKey })

export const TopUpResult = Schema.Struct({ transferId: TransferId, balanceFen: FenTotal })
export type TopUpResult = typeof TopUpResult.Type

export const PaymentResult = Schema.Struct({
  orderId: OrderId,
  transferId: TransferId,
  amountFen: FenTotal,
  state: OrderState,
  /** set when the ticket was issued before the answer left (the usual case) */
  ticketId: Schema.NullOr(TicketId),
  /** the ticket itself when it was issued before the answer left: the phone needs no second request for it */
  ticket: Schema.optional(Ticket)
})
export type PaymentResult = typeof PaymentResult.Type

export class AccountsApi extends HttpApiGroup.make("accounts")
  .add(
    HttpApiEndpoint.get("getWallet", "/wallet")
      .addSuccess(Schema.Struct({ balanceFen: FenTotal }))
  )
  .add(
    HttpApiEndpoint.post("topUp", "/wallet/top-ups")
      .setHeaders(IdempotencyHeaders)
      .setPayload(Schema.Struct({ amountFen: PositiveFen }))
      .addSuccess(TopUpResult, { status: 201 })
      .addError(IdempotencyKeyReused)
      .addError(TopUpTooLarge)
      .addError(WalletBalanceLimitReached)
  )
  .add(
    HttpApiEndpoint.post("pay", "/orders/:orderId/payment")
      .setPath(Schema.Struct({ orderId: OrderId }))
      .setHeaders(IdempotencyHeaders)
      .setPayload(Schema.Struct({ paymentPassword: PaymentPassword }))
      .addSuccess(PaymentResult, { status: 201 })
      .addError(OrderNotFound)
      .addError(HoldExpired)
      .addError(OrderNotPayable)
      .addError(HoldDisplaced)
      .addError(InsufficientFunds)
      .addError(IdempotencyKeyReused)
      .addError(PaymentPasswordWrong)
      .addError(PaymentLocked)
  )
  .middleware(CustomerAuth) {}
