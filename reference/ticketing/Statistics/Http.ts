import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { storeDefects } from "../../Sql.js"
import { Statistics } from "../Statistics.js"

export const StatisticsHttp = HttpApiBuilder.group(ChunyunApi, "statistics", (handlers) =>
  Effect.map(Statistics, (statistics) =>
    handlers.handle("orderStatistics", ({ urlParams }) => storeDefects(statistics.orders(urlParams.by)))))
