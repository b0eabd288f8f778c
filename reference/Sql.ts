import type * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"

/** A failing store is not an expected outcome of a request: it becomes a defect (logged, HTTP 500). */
export const storeDefects = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, SqlError>, R> =>
  Effect.catchIf(effect, (error): error is Extract<E, SqlError> => error instanceof SqlError, (error) => Effect.die(error)) as Effect.Effect<A, Exclude<E, SqlError>, R>

/**
 * `FOR UPDATE` where the store needs it. SQLite runs one transaction at a time, so a row it read stays as
 * read until the commit; PostgreSQL under Read Committed runs them side by side, and a read that a later
 * write depends on must lock its rows (a locking read also waits for, and re-checks against, a concurrent
 * writer's commit).
 */
export const forUpdate = (sql: SqlClient.SqlClient) =>
  sql.onDialectOrElse({ pg: () => sql.literal("FOR UPDATE"), orElse: () => sql.literal("") })
