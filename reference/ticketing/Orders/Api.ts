import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import type { HttpMethod } from "@effect/platform/HttpMethod"
import { Schema } from "effect"
import { CustomerAuth } from "../../customers/Auth/Api.js"
import {
  FenTotal, InvalidSegment, OrderId, OrderNotFound, OrderState, RunId, SalesClosed, SeatTaken, ServiceDate, SoldOut, StationCode, TicketId,
  TrainCode, TrainRunNotFound
} from "../../Domain.js"
import { ChosenSeat, SeatClassName } from "../Catalog/Api.js"
import { UnknownSeat, UnknownSeatClass } from "../Catalog/Errors.js"
import { EventSoldAsGroupOrders } from "../GroupOrders/Api.js"
import { HoldContended, HoldQueueFull } from "../Inventory/Errors.js"

export const HoldRequest = Schema.Struct({
  runId: RunId,
  /** a showing or an event: both are the venue's code (its run has one segment) */
  fromStation: StationCode,
  toStation: StationCode,
  /** "any seat in class X"; omitted: any seat of any class */
  seatClass: Schema.optional(SeatClassName),
  /**
   * one chosen seat; `SeatTaken` when it is held or sold on an overlapping segment, unless this hold wins a tie for
   * it (reference/ticketing/Orders/SeatPriority.ts)
   */
  seat: Schema.optional(ChosenSeat)
})
export type HoldRequest = typeof HoldRequest.Type

export const Order = Schema.Struct({
  orderId: OrderId,
  runId: RunId,
  trainCode: TrainCode,
  serviceDate: ServiceDate,
  fromStation: StationCode,
  toStation: StationCode,
  coach: Schema.Number,
  seatCode: Schema.String,
  seatClass: Schema.String,
  priceFen: FenTotal,
  state: OrderState,
  heldAtMs: Schema.Number,
  holdExpiresAtMs: Schema.Number,
  ticketId: Schema.NullOr(TicketId),
  // what the hold's claim cost, in its answer only (reference/ticketing/Inventory/Lanes.ts ClaimStats)
  /** seat writes the claim tried: more than one means it lost a race (optimistic version check) */
  claimAttempts: Schema.optional(Schema.Number),
  /** holds ahead of this one in the run's waiting queue when it arrived (inventory "queue") */
  queuePosition: Schema.optional(Schema.Number),
  /** time spent in line before the hold was served (waiting queue or group commit) */
  queueWaitMs: Schema.optional(Schema.Number),
  /** holds that shared this hold's transaction (group commit) */
  groupCommitSize: Schema.optional(Schema.Number),
  /** holds this hold took the chosen seat from: it came within their tie window from an earlier-installed device */
  displacedHolds: Schema.optional(Schema.Number)
})
export type Order = typeof Order.Type

const orderIdPath = Schema.Struct({ orderId: OrderId })

/**
 * The refusals of every endpoint that takes a hold (an app's order, a kiosk's walk-up sale, a remote booking): the
 * run, the segment, the sales close, the seat lock's answers and a kind sold only as group orders.
 */
export const withHoldRefusals = <Name extends string, Method extends HttpMethod, Path, UrlParams, Payload, Headers, Success, E, R, RE>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<Name, Method, Path, UrlParams, Payload, Headers, Success, E, R, RE>
) =>
  endpoint
    .addError(TrainRunNotFound)
    .addError(InvalidSegment)
    .addError(SalesClosed)
    .addError(SoldOut)
    .addError(SeatTaken)
    .addError(HoldQueueFull)
    .addError(HoldContended)
    .addError(EventSoldAsGroupOrders)
    .addError(UnknownSeatClass)
    .addError(UnknownSeat)

export class OrdersApi extends HttpApiGroup.make("orders")
  .add(withHoldRefusals(HttpApiEndpoint.post("hold", "/orders").setPayload(HoldRequest).addSuccess(Order, { status: 201 })))
  .add(
    HttpApiEndpoint.get("getOrder", "/orders/:orderId")
      .setPath(orderIdPath)
      .addSuccess(Order)
      .addError(OrderNotFound)
  )
  .middleware(CustomerAuth) {}
