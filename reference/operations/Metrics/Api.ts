import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"

/** what Prometheus reads: its text exposition format, version 0.0.4 */
export const prometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8"

/** The server's counters could not be gathered (with `--workers`, the other processes did not answer in time). */
export class MetricsUnavailable extends Schema.TaggedError<MetricsUnavailable>()(
  "MetricsUnavailable", { message: Schema.String }, HttpApiSchema.annotations({ status: 503 })
) {}

/** No credentials, as /health: a Prometheus server scrapes it with no key (serve it where only the operator reaches). */
export class MetricsApi extends HttpApiGroup.make("metrics")
  .add(
    HttpApiEndpoint.get("getMetrics", "/metrics")
      .addSuccess(HttpApiSchema.Text({ contentType: prometheusTextContentType }))
      .addError(MetricsUnavailable)
      .annotate(OpenApi.Description,
        "The server's counters in the Prometheus text format: requests by route and status, request latency by route, holds, " +
        "payments captured, tickets issued, the outbox's lag and the store's connections. With --workers, the sum over every process.")
  ) {}
