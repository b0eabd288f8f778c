import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { CurrentCustomer } from "../../customers/Auth/Api.js"
import { GroupOrders } from "../GroupOrders.js"
import { storeDefects } from "../../Sql.js"

export const GroupOrdersHttp = HttpApiBuilder.group(ChunyunApi, "groupOrders", (handlers) =>
  Effect.map(GroupOrders, (groupOrders) =>
    handlers.handle("buy", ({ headers, payload }) =>
      Effect.flatMap(CurrentCustomer, (customer) => storeDefects(groupOrders.buy(customer.id, headers["idempotency-key"], payload))))
  ))
