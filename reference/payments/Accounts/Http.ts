import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Accounts } from "../Accounts.js"
import { ChunyunApi } from "../../Api.js"
import { CurrentCustomer } from "../../customers/Auth/Api.js"
import { storeDefects } from "../../Sql.js"

export const AccountsHttp = HttpApiBuilder.group(ChunyunApi, "accounts", (handlers) =>
  Effect.map(Accounts, (accounts) =>
    handlers
      .handle("getWallet", () =>
        Effect.flatMap(CurrentCustomer, (customer) => storeDefects(accounts.getWallet(customer.id))))
      .handle("topUp", ({ headers, payload }) =>
        Effect.flatMap(CurrentCustomer, (customer) =>
          storeDefects(accounts.topUp(customer.id, headers["idempotency-key"], payload.amountFen))))
      .handle("pay", ({ headers, path, payload }) =>
        Effect.flatMap(CurrentCustomer, (customer) =>
          storeDefects(accounts.pay(customer.id, path.orderId, headers["idempotency-key"], payload.paymentPassword))))
  ))
