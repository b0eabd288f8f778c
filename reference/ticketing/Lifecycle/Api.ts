import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { IdempotencyHeaders } from "../../payments/Accounts/Api.js"
import { AdminAuth, CustomerAuth } from "../../customers/Auth/Api.js"
import {
  FenDelta, FenTotal, IdempotencyKeyReused, InsufficientFunds, InvalidSegment, OrderId, OrderNotFound, PaymentLocked, PaymentPassword,
  PaymentPasswordWrong, RunId, SalesClosed, SoldOut, StationCode, TrainRunNotFound, TransferId
} from "../../Domain.js"
import { Order } from "../Orders/Api.js"
import { UnknownSeatClass } from "../Catalog/Errors.js"
import { ChangeLimitReached, OrderNotCancellable, OrderNotChangeable, PaymentPasswordRequired } from "./Errors.js"

export const maxReasonLength = 200
const Reason = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(maxReasonLength))

export const CancelRequest = Schema.Struct({ reason: Schema.optional(Reason) })

export const CancelResult = Schema.Struct({
  orderId: OrderId,
  /** `cancelled`: a hold given up, no money moved; `refunded`: paid, refunded less the fee */
  state: Schema.Literal("cancelled", "refunded"),
  priceFen: FenTotal,
  feeFen: FenTotal,
  refundFen: FenTotal,
  /** one reversal per payment the refund returns money to (most recent payment first) */
  refundTransferIds: Schema.Array(TransferId),
  ticketVoided: Schema.Boolean,
  atMs: Schema.Number
})
export type CancelResult = typeof CancelResult.Type

export const ChangeRequest = Schema.Struct({
  runId: RunId,
  fromStation: StationCode,
  toStation: StationCode,
  /** required when the new journey costs more: the difference is charged from the wallet */
  paymentPassword: Schema.optional(PaymentPassword),
  reason: Schema.optional(Reason)
})

export const ChangeResult = Schema.Struct({
  oldOrderId: OrderId,
  /** the new order, paid; `ticketId` set once its ticket was issued (the usual case by the time of the answer) */
  newOrder: Order,
  /** new price − old price: positive was charged, negative refunded */
  fareDifferenceFen: FenDelta,
  chargedFen: FenTotal,
  /** what went back to the payers: the fare difference less `feeFen` */
  refundedFen: FenTotal,
  /**
   * the refund fee kept on a fare difference returned (the cancellation's tier by time before the old
   * journey's departure); 0 when the change cost more (stored answers from before it was charged read 0)
   */
  feeFen: Schema.optionalWith(FenTotal, { default: () => FenTotal.make(0) }),
  transferIds: Schema.Array(TransferId),
  atMs: Schema.Number
})
export type ChangeResult = typeof ChangeResult.Type

export const OrderEvent = Schema.Struct({
  orderId: OrderId,
  kind: Schema.Literal("cancelled", "refunded", "changed", "changed-in"),
  /** `customer:<id>` */
  actor: Schema.String,
  reason: Schema.NullOr(Schema.String),
  priceFen: FenTotal,
  feeFen: FenTotal,
  refundFen: FenTotal,
  chargeFen: FenTotal,
  /** for `changed`: the new order; for `changed-in`: the order it came from */
  relatedOrderId: Schema.NullOr(OrderId),
  atMs: Schema.Number
})
export type OrderEvent = typeof OrderEvent.Type

export const StatementEntry = Schema.Struct({
  transferId: TransferId,
  atMs: Schema.Number,
  purpose: Schema.String,
  orderId: Schema.NullOr(OrderId),
  /** signed: money into the wallet is positive, out of it negative */
  amountFen: FenDelta,
  /** for a refund: the fee the centre kept */
  feeFen: Schema.NullOr(FenTotal)
})
export type StatementEntry = typeof StatementEntry.Type

export const Statement = Schema.Struct({ balanceFen: FenTotal, entries: Schema.Array(StatementEntry) })
export type Statement = typeof Statement.Type

const orderIdPath = Schema.Struct({ orderId: OrderId })

export class LifecycleApi extends HttpApiGroup.make("lifecycle")
  .add(
    HttpApiEndpoint.post("cancel", "/orders/:orderId/cancellation")
      .setPath(orderIdPath)
      .setHeaders(IdempotencyHeaders)
      .setPayload(CancelRequest)
      .addSuccess(CancelResult, { status: 201 })
      .addError(OrderNotFound)
      .addError(OrderNotCancellable)
      .addError(IdempotencyKeyReused)
      .middleware(CustomerAuth)
  )
  .add(
    HttpApiEndpoint.post("change", "/orders/:orderId/change")
      .setPath(orderIdPath)
      .setHeaders(IdempotencyHeaders)
      .setPayload(ChangeRequest)
      .addSuccess(ChangeResult, { status: 201 })
      .addError(OrderNotFound)
      .addError(OrderNotChangeable)
      .addError(ChangeLimitReached)
      .addError(TrainRunNotFound)
      .addError(InvalidSegment)
      .addError(SalesClosed)
      .addError(SoldOut)
      .addError(UnknownSeatClass)
      .addError(InsufficientFunds)
      .addError(PaymentPasswordRequired)
      .addError(PaymentPasswordWrong)
      .addError(PaymentLocked)
      .addError(IdempotencyKeyReused)
      .middleware(CustomerAuth)
  )
  .add(
    HttpApiEndpoint.get("orderEvents", "/orders/:orderId/events")
      .setPath(orderIdPath)
      .addSuccess(Schema.Array(OrderEvent))
      .addError(OrderNotFound)
      .middleware(CustomerAuth)
  )
  .add(
    HttpApiEndpoint.get("adminOrderEvents", "/admin/orders/:orderId/events")
      .setPath(orderIdPath)
      .addSuccess(Schema.Array(OrderEvent))
      .addError(OrderNotFound)
      .middleware(AdminAuth)
  )
  .add(
    HttpApiEndpoint.get("walletStatement", "/wallet/statement")
      .addSuccess(Statement)
      .middleware(CustomerAuth)
  ) {}
