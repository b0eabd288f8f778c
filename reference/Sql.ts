import { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"

/** A failing store is not an expected outcome of a request: it becomes a defect (logged, HTTP 500). */
export const storeDefects = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, SqlError>, R> =>
  Effect.catchIf(effect, (error): error is Extract<E, SqlError> => error instanceof SqlError, (error) => Effect.die(error)) as Effect.Effect<A, Exclude<E, SqlError>, R>
