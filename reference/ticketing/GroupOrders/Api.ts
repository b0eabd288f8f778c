/**
 * Group orders (seeds 000, 004): an organiser (a tour group, a supporters' club, a company) buys event
 * tickets for a list of named holders in one request, pays from its own wallet with its payment password,
 * and gets one signed ticket per holder, each bound to that holder's phone. One request is one transaction.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { CustomerAuth } from "../../customers/Auth/Api.js"
import { SeatClassName } from "../Catalog/Api.js"
import { UnknownSeatClass } from "../Catalog/Errors.js"
import {
  FenTotal, IdempotencyKeyReused, InsufficientFunds, OrderId, PaymentLocked, PaymentPassword, PaymentPasswordWrong, PhoneNumber, RunId,
  SalesClosed, SoldOut, TicketId, TrainRunNotFound
} from "../../Domain.js"
import { IdempotencyHeaders } from "../../payments/Accounts/Api.js"

/** the most tickets one group order may carry; a larger group orders in several requests */
export const maxTicketsPerGroupOrder = 500

/** Group orders are sold for events only: a train ticket is real-name per passenger and per segment. */
export class GroupOrderNotAllowed extends Schema.TaggedError<GroupOrderNotAllowed>()(
  "GroupOrderNotAllowed", { runId: Schema.String, reason: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}

/**
 * An event's places are sold only as group orders (POST /group-orders), paid and issued in one transaction;
 * a single hold (POST /orders, a kiosk's walk-up hold) on an event is refused.
 */
export class EventSoldAsGroupOrders extends Schema.TaggedError<EventSoldAsGroupOrders>()(
  "EventSoldAsGroupOrders", { runId: Schema.String, message: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}

export const GroupOrderRequest = Schema.Struct({
  runId: RunId,
  seatClass: SeatClassName,
  /** one ticket per entry, bound to that phone; a phone may appear more than once (it holds several tickets) */
  holders: Schema.Array(PhoneNumber).pipe(Schema.minItems(1), Schema.maxItems(maxTicketsPerGroupOrder)),
  paymentPassword: PaymentPassword
})
export type GroupOrderRequest = typeof GroupOrderRequest.Type

export const GroupTicket = Schema.Struct({
  holder: PhoneNumber,
  orderId: OrderId,
  ticketId: TicketId,
  /** the zone and place (an event's "coach" and "seat") */
  coach: Schema.Number,
  seatCode: Schema.String,
  /** the signed ticket as QR text, for the organiser to pass on to its holder */
  qr: Schema.String
})
export type GroupTicket = typeof GroupTicket.Type

export const GroupOrderResult = Schema.Struct({
  runId: RunId,
  /** what the organiser's wallet paid: the class fare times the tickets */
  amountFen: FenTotal,
  /** in the order of `holders` */
  tickets: Schema.Array(GroupTicket)
})
export type GroupOrderResult = typeof GroupOrderResult.Type

export class GroupOrdersApi extends HttpApiGroup.make("groupOrders")
  .add(
    HttpApiEndpoint.post("buy", "/group-orders")
      .setHeaders(IdempotencyHeaders)
      .setPayload(GroupOrderRequest)
      .addSuccess(GroupOrderResult, { status: 201 })
      .addError(TrainRunNotFound)
      .addError(GroupOrderNotAllowed)
      .addError(UnknownSeatClass)
      .addError(SalesClosed)
      .addError(SoldOut)
      .addError(InsufficientFunds)
      .addError(IdempotencyKeyReused)
      .addError(PaymentPasswordWrong)
      .addError(PaymentLocked)
  )
  .middleware(CustomerAuth) {}
