/**
 * Lifecycle (migration 0004): cancel with refund, change of train or date, the records of both.
 * - orders: the order a change came from (one change out of an order: a unique index) and how many
 *   changes its ticket has been through, for the `maxChangesPerTicket` rule.
 * - tickets: the time a cancel or change voided the ticket; a gate refuses a voided ticket.
 * - transfers: a refund names the payment transfer it reverses, so a reversal returns money to the
 *   account that paid (wallet, card or gateway clearing) and never reverses more than was paid.
 * - order_events: who cancelled, refunded or changed an order, when, why, and the amounts.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const lifecycle = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const serial = sql.onDialectOrElse({ pg: () => "BIGSERIAL PRIMARY KEY", orElse: () => "INTEGER PRIMARY KEY AUTOINCREMENT" })
  const statements = [
    `ALTER TABLE orders ADD COLUMN changed_from_order_id TEXT REFERENCES orders(id)`,
    `ALTER TABLE orders ADD COLUMN change_count INTEGER NOT NULL DEFAULT 0`,
    `CREATE UNIQUE INDEX orders_one_change_out ON orders(changed_from_order_id) WHERE changed_from_order_id IS NOT NULL`,
    `ALTER TABLE tickets ADD COLUMN voided_at_ms BIGINT`,
    `ALTER TABLE transfers ADD COLUMN reverses_transfer_id TEXT REFERENCES transfers(id)`,
    `CREATE INDEX transfers_by_reversed ON transfers(reverses_transfer_id) WHERE reverses_transfer_id IS NOT NULL`,
    // one cancel refunds an order once: at most one refund transfer per order and reversed payment
    `CREATE UNIQUE INDEX transfers_one_refund_per_payment ON transfers(order_id, reverses_transfer_id) WHERE purpose = 'order-refund'`,
    `CREATE TABLE order_events (
      id ${serial},
      order_id TEXT NOT NULL REFERENCES orders(id),
      customer_id TEXT NOT NULL REFERENCES customers(id),
      kind TEXT NOT NULL CHECK (kind IN ('cancelled', 'refunded', 'changed', 'changed-in')),
      actor TEXT NOT NULL,
      reason TEXT,
      price_fen BIGINT NOT NULL,
      fee_fen BIGINT NOT NULL DEFAULT 0,
      refund_fen BIGINT NOT NULL DEFAULT 0,
      charge_fen BIGINT NOT NULL DEFAULT 0,
      related_order_id TEXT REFERENCES orders(id),
      at_ms BIGINT NOT NULL)`,
    `CREATE INDEX order_events_by_order ON order_events(order_id, id)`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
})
