/**
 * Whether the server is up and its store answers: the first thing a probe, a load balancer or a person
 * exploring a fresh server asks (`GET /health`).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { StoreUnavailable } from "./Health/Api.js"
import type { HealthReport } from "./Health/Api.js"

/** how long the store has to answer the health query before the server says it is unavailable */
export const healthStoreTimeoutMs = 2_000

export class Health extends Effect.Service<Health>()("Health", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const check: Effect.Effect<HealthReport, StoreUnavailable> = sql`SELECT 1 AS answer`.pipe(
      Effect.timeoutFail({
        duration: healthStoreTimeoutMs,
        onTimeout: () => new StoreUnavailable({ message: `the store did not answer within ${healthStoreTimeoutMs} ms` })
      }),
      Effect.catchTag("SqlError", () => Effect.fail(new StoreUnavailable({ message: "the store refused a trivial query" }))),
      Effect.zipRight(Effect.map(Clock.currentTimeMillis, (clockMs): HealthReport => ({ status: "ok", store: "ok", clockMs }))),
      Effect.withSpan("Health.check")
    )
    return { check } as const
  })
}) {}
