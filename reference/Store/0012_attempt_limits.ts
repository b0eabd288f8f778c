/**
 * Limits on who may try what (migration 0012):
 * - login attempts are counted as payment-password attempts are: `login_failures` counts the attempts not yet
 *   given back by a right password; the attempt that reaches the limit sets `login_locked_until_ms`, and none
 *   is checked before then;
 * - a gate may be told which train run it boards (`boarding_run_id`): it then admits that run's tickets only.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const attemptLimitsMigration = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`ALTER TABLE customers ADD COLUMN login_failures INTEGER NOT NULL DEFAULT 0`)
  yield* sql.unsafe(`ALTER TABLE customers ADD COLUMN login_locked_until_ms BIGINT`)
  yield* sql.unsafe(`ALTER TABLE gates ADD COLUMN boarding_run_id TEXT REFERENCES train_runs(id)`)
})
