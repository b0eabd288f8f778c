import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { CurrentCustomer } from "../../customers/Auth/Api.js"
import { Lifecycle } from "../Lifecycle.js"
import { storeDefects } from "../../Sql.js"

export const LifecycleHttp = HttpApiBuilder.group(ChunyunApi, "lifecycle", (handlers) =>
  Effect.map(Lifecycle, (lifecycle) =>
    handlers
      .handle("cancel", ({ headers, path, payload }) =>
        Effect.flatMap(CurrentCustomer, (customer) =>
          storeDefects(lifecycle.cancel(customer.id, path.orderId, headers["idempotency-key"], payload.reason))))
      .handle("change", ({ headers, path, payload }) =>
        Effect.flatMap(CurrentCustomer, (customer) =>
          storeDefects(lifecycle.change(customer.id, path.orderId, headers["idempotency-key"], payload))))
      .handle("orderEvents", ({ path }) =>
        Effect.flatMap(CurrentCustomer, (customer) => storeDefects(lifecycle.orderEvents(customer.id, path.orderId))))
      .handle("adminOrderEvents", ({ path }) => storeDefects(lifecycle.adminOrderEvents(path.orderId)))
      .handle("walletStatement", () =>
        Effect.flatMap(CurrentCustomer, (customer) => storeDefects(lifecycle.walletStatement(customer.id))))
  ))
