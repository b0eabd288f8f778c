import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { CurrentCustomer } from "../Auth/Api.js"
import { Customers } from "../Customers.js"
import { storeDefects } from "../../Sql.js"
import { Invoices } from "./Invoices.js"

export const CustomersHttp = HttpApiBuilder.group(ChunyunApi, "customers", (handlers) =>
  Effect.map(Customers, (customers) =>
    handlers
      .handle("register", ({ payload }) => storeDefects(customers.register(payload)))
      .handle("login", ({ payload }) => storeDefects(customers.login(payload)))
      .handle("registerDevice", ({ payload }) => storeDefects(customers.registerDevice(payload)))
      .handle("deviceLogin", ({ payload }) => storeDefects(customers.deviceLogin(payload)))
  ))

export const ProfileHttp = HttpApiBuilder.group(ChunyunApi, "profile", (handlers) =>
  Effect.gen(function* () {
    const customers = yield* Customers
    const invoices = yield* Invoices
    const signedIn = <A, E, R>(work: (customerId: CurrentCustomer["Type"]["id"]) => Effect.Effect<A, E, R>) =>
      Effect.flatMap(CurrentCustomer, (customer) => storeDefects(work(customer.id)))
    return handlers
      .handle("getProfile", () => signedIn(customers.profile))
      .handle("changeName", ({ payload }) => signedIn((id) => customers.changeName(id, payload.name)))
      .handle("changePassword", ({ payload }) => signedIn((id) => customers.changePassword(id, payload)))
      .handle("changePaymentPassword", ({ payload }) => signedIn((id) => customers.changePaymentPassword(id, payload)))
      .handle("listInvoices", () => signedIn(invoices.list))
  }))
