import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { CurrentCustomer } from "../../customers/Auth/Api.js"
import { Issuance } from "../Issuance.js"
import { storeDefects } from "../../Sql.js"

export const IssuanceHttp = HttpApiBuilder.group(ChunyunApi, "issuance", (handlers) =>
  Effect.map(Issuance, (issuance) =>
    handlers
      .handle("getTicket", ({ path }) =>
        Effect.flatMap(CurrentCustomer, (customer) => storeDefects(issuance.getTicket(customer.id, path.orderId))))
      .handle("publicKeys", () => Effect.succeed(issuance.publicKeys))
  ))
