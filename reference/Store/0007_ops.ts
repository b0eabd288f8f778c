/**
 * Operations (migration 0007): admissions that offline gates report at sync (seeds 000, 003), and the
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
    `CREATE INDEX offline_admissions_by_outcome ON offline_admissions(outcome, id)`,
    // a seat an upstream terminal sold (inbound), keyed by the upstream's own sale ID so a re-sent sale is found;
    // a sale whose seat was taken here first is kept as a conflict, with no seat bits
    `CREATE TABLE upstream_sales (
      sale_id TEXT PRIMARY KEY,
      run_id TEXT NOT NULL REFERENCES train_runs(id),
      seat_id BIGINT NOT NULL REFERENCES seats(id),
      from_index INTEGER NOT NULL,
      to_index INTEGER NOT NULL,
      segment_mask BIGINT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('claimed', 'conflict')),
      received_at_ms BIGINT NOT NULL)`,
    `CREATE INDEX upstream_sales_by_seat ON upstream_sales(seat_id)`,
    // outbound: an issued order's seat to push to the upstream, at least once; written with the ticket
    `CREATE TABLE upstream_outbox (
      order_id TEXT PRIMARY KEY REFERENCES orders(id),
      created_at_ms BIGINT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at_ms BIGINT NOT NULL,
      pushed_at_ms BIGINT,
      abandoned_at_ms BIGINT)`,
    `CREATE INDEX upstream_outbox_due ON upstream_outbox(pushed_at_ms, abandoned_at_ms, next_attempt_at_ms)`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
})
