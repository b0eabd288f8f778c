import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { storeDefects } from "../../Sql.js"
import { UpstreamSync } from "../Upstream.js"

export const UpstreamHttp = HttpApiBuilder.group(ChunyunApi, "upstream", (handlers) =>
  Effect.map(UpstreamSync, (upstream) =>
    handlers
      .handle("receiveSale", ({ payload }) => storeDefects(upstream.receiveSale(payload)))
      .handle("report", () => storeDefects(upstream.report))
  ))
