/**
 * Fewer writes per order (migration 0010):
 * - each customer keeps a running total of what their orders brought the centre (`net_spend_fen`) and the part
 *   of it their invoices already cover (`invoiced_spend_fen`): the invoice check after every payment reads one
 *   row instead of summing every transfer of every order of the customer (Customers/Invoices.ts); both start
 *   from the ledger as it is;
 * - `seats_availability` goes: no query reads it (the seat lock scans a run's seats in id order through
 *   `seats_by_run`, the search counts per class through `seats_class_availability`), yet every hold rewrote it.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const leanWritesMigration = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`ALTER TABLE customers ADD COLUMN net_spend_fen BIGINT NOT NULL DEFAULT 0`)
  yield* sql.unsafe(`ALTER TABLE customers ADD COLUMN invoiced_spend_fen BIGINT NOT NULL DEFAULT 0`)
  yield* sql.unsafe(`UPDATE customers SET
    net_spend_fen = COALESCE((SELECT SUM(CASE WHEN t.credit_account_id = 'centre' THEN t.amount_fen
                                             WHEN t.debit_account_id = 'centre' THEN -t.amount_fen ELSE 0 END)
                              FROM transfers t JOIN orders o ON o.id = t.order_id WHERE o.customer_id = customers.id), 0),
    invoiced_spend_fen = COALESCE((SELECT MAX(i.covered_spend_fen) FROM invoices i WHERE i.customer_id = customers.id), 0)`)
  yield* sql.unsafe(`DROP INDEX seats_availability`)
})
