import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { CurrentGate } from "../../customers/Auth/Api.js"
import { GateSync } from "../GateSync.js"
import { storeDefects } from "../../Sql.js"

export const GateSyncHttp = HttpApiBuilder.group(ChunyunApi, "gateSync", (handlers) =>
  Effect.map(GateSync, (gateSync) =>
    handlers
      .handle("sync", ({ payload }) => Effect.flatMap(CurrentGate, (gate) => storeDefects(gateSync.sync(gate, payload.admissions))))
      .handle("offlineReport", ({ urlParams }) => storeDefects(gateSync.report(urlParams.limit)))
  ))
