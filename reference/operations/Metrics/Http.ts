import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { Metrics } from "../Metrics.js"

export const MetricsHttp = HttpApiBuilder.group(ChunyunApi, "metrics", (handlers) =>
  Effect.map(Metrics, (metrics) => handlers.handle("getMetrics", () => metrics.exposition)))
