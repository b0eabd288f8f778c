import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../Api.js"
import { Customers } from "../Customers.js"
import { storeDefects } from "../Sql.js"

export const CustomersHttp = HttpApiBuilder.group(ChunyunApi, "customers", (handlers) =>
  Effect.map(Customers, (customers) =>
    handlers
      .handle("register", ({ payload }) => storeDefects(customers.register(payload)))
      .handle("login", ({ payload }) => storeDefects(customers.login(payload)))
  ))
