import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"

export const HealthReport = Schema.Struct({
  /** the server answers requests */
  status: Schema.Literal("ok"),
  /** the store answered a trivial query */
  store: Schema.Literal("ok"),
  /**
   * the server's clock, epoch ms: a server served with `--clock-start-ms` reads the scenario's time (a `--target` run
   * starts its timeline there); absent from servers before it was added
   */
  clockMs: Schema.optional(Schema.Number)
})
export type HealthReport = typeof HealthReport.Type

/** The store did not answer a trivial query (in time, or at all): the server is up but cannot serve. */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()(
  "StoreUnavailable", { message: Schema.String }, HttpApiSchema.annotations({ status: 503 })
) {}

/** No credentials: a load balancer, a probe or a person checking the server knows no key. */
export class HealthApi extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("getHealth", "/health")
      .addSuccess(HealthReport)
      .addError(StoreUnavailable)
      .annotate(OpenApi.Description, "200 when the server answers and its store answers a trivial query; 503 StoreUnavailable when the store does not")
  ) {}
