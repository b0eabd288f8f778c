/**
 * Ops stream (migration 0007): admissions that offline gates report at sync (seeds 000, 003), and the
 * upstream ticket systems' sales and outbound pushes (seeds 002, 004).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const opsMigration = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const serial = sql.onDialectOrElse({ pg: () => "BIGSERIAL PRIMARY KEY", orElse: () => "INTEGER PRIMARY KEY AUTOINCREMENT" })
  const statements = [
    // one row per (gate, ticket) a gate admitted while offline; a re-sync of the same admission finds it
    `CREATE TABLE offline_admissions (
      id ${serial},
      gate_id TEXT NOT NULL,
      ticket_id TEXT NOT NULL,
      presented_holder TEXT NOT NULL,
      admitted_at_ms BIGINT NOT NULL,
      synced_at_ms BIGINT NOT NULL,
      outcome TEXT NOT NULL CHECK (outcome IN ('admitted', 'double', 'invalid', 'binding-mismatch')),
      first_gate_id TEXT,
      first_admitted_at_ms BIGINT,
      UNIQUE (gate_id, ticket_id))`,
    `CREATE INDEX offline_admissions_by_outcome ON offline_admissions(outcome, id)`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
})
