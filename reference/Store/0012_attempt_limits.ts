/**
 * Login attempts are counted as payment-password attempts are (migration 0012): `login_failures` counts the
 * attempts not yet given back by a right password; the attempt that reaches the limit sets
 * `login_locked_until_ms`, and none is checked before then.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const attemptLimitsMigration = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`ALTER TABLE customers ADD COLUMN login_failures INTEGER NOT NULL DEFAULT 0`)
  yield* sql.unsafe(`ALTER TABLE customers ADD COLUMN login_locked_until_ms BIGINT`)
})
