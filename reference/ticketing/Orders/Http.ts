import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { CurrentCustomer } from "../../customers/Auth/Api.js"
import { Orders } from "../Orders.js"
import { storeDefects } from "../../Sql.js"

export const OrdersHttp = HttpApiBuilder.group(ChunyunApi, "orders", (handlers) =>
  Effect.map(Orders, (orders) =>
    handlers
      .handle("hold", ({ payload }) =>
        Effect.flatMap(CurrentCustomer, (customer) => storeDefects(orders.hold(customer.id, payload))))
      .handle("getOrder", ({ path }) =>
        Effect.flatMap(CurrentCustomer, (customer) => storeDefects(orders.getOrder(customer.id, path.orderId))))
  ))
