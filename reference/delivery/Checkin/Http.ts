import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { CurrentGate } from "../../customers/Auth/Api.js"
import { Checkin } from "../Checkin.js"
import { storeDefects } from "../../Sql.js"

export const CheckinHttp = HttpApiBuilder.group(ChunyunApi, "checkin", (handlers) =>
  Effect.map(Checkin, (checkin) =>
    handlers.handle("scan", ({ payload }) =>
      Effect.flatMap(CurrentGate, (gate) => storeDefects(checkin.scan(gate, payload))))
  ))
