import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { CustomerAuth } from "../Auth/Api.js"
import {
  InvalidSegment, OrderId, OrderNotFound, OrderState, RunId, ServiceDate, SoldOut, StationCode, TicketId,
  TrainCode, TrainRunNotFound
} from "../Domain.js"

export const HoldRequest = Schema.Struct({ runId: RunId, fromStation: StationCode, toStation: StationCode })

export const Order = Schema.Struct({
  orderId: OrderId,
  runId: RunId,
  trainCode: TrainCode,
  serviceDate: ServiceDate,
  fromStation: StationCode,
  toStation: StationCode,
  coach: Schema.Number,
  seatCode: Schema.String,
  priceFen: Schema.Number,
  state: OrderState,
  heldAtMs: Schema.Number,
  holdExpiresAtMs: Schema.Number,
  ticketId: Schema.NullOr(TicketId)
})
export type Order = typeof Order.Type

const orderIdPath = Schema.Struct({ orderId: OrderId })

export class OrdersApi extends HttpApiGroup.make("orders")
  .add(
    HttpApiEndpoint.post("hold", "/orders")
      .setPayload(HoldRequest)
      .addSuccess(Order, { status: 201 })
      .addError(TrainRunNotFound)
      .addError(InvalidSegment)
      .addError(SoldOut)
  )
  .add(
    HttpApiEndpoint.get("getOrder", "/orders/:orderId")
      .setPath(orderIdPath)
      .addSuccess(Order)
      .addError(OrderNotFound)
  )
  .middleware(CustomerAuth) {}
