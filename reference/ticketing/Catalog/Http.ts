import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { Catalog } from "../Catalog.js"
import { SeatMaps } from "../SeatMap.js"
import { storeDefects } from "../../Sql.js"

export const CatalogHttp = HttpApiBuilder.group(ChunyunApi, "catalog", (handlers) =>
  Effect.map(Effect.all([Catalog, SeatMaps]), ([catalog, seatMaps]) =>
    handlers
      .handle("search", ({ urlParams }) => storeDefects(catalog.search(urlParams)))
      .handle("seatMap", ({ path, urlParams }) => storeDefects(seatMaps.seatMap(path.runId, urlParams)))
      .handle("createRun", ({ payload }) => storeDefects(catalog.createRun(payload)))
      .handle("registerGate", ({ payload }) => storeDefects(catalog.registerGate(payload.gateId, payload.station)))
      .handle("setGateBoarding", ({ path, payload }) => storeDefects(catalog.setGateBoarding(path.gateId, payload.runId)))
  ))
