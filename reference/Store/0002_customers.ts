/**
 * Customers (seeds 000, 002, 004): what a customer told us at registration (name, resident ID and
 * the province and birth date read from it), the anonymous device identity of 004 (a customer with no phone
 * number), and the invoices of 000 [0029]. 0001_init lets `phone` and `password_hash` be NULL for devices.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const customers = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const statements = [
    `ALTER TABLE customers ADD COLUMN name TEXT`,
    `ALTER TABLE customers ADD COLUMN resident_id TEXT`,
    // kept beside the ID so classification reads two short columns, never parses the number again
    `ALTER TABLE customers ADD COLUMN province TEXT`,
    `ALTER TABLE customers ADD COLUMN birth_date TEXT`,
    `ALTER TABLE customers ADD COLUMN device_id TEXT`,
    `ALTER TABLE customers ADD COLUMN device_install_time TEXT`,
    // NULLs are distinct in a unique index on both stores: phone customers have no device ID
    `CREATE UNIQUE INDEX customers_by_device_id ON customers(device_id)`,
    `CREATE INDEX orders_by_customer ON orders(customer_id)`,
    `CREATE INDEX transfers_by_order ON transfers(order_id)`,
    // one row per invoice; the primary key makes a second issue of the same number impossible
    `CREATE TABLE invoices (
      customer_id TEXT NOT NULL REFERENCES customers(id),
      sequence INTEGER NOT NULL,
      amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
      covered_spend_fen BIGINT NOT NULL,
      issued_at_ms BIGINT NOT NULL,
      PRIMARY KEY (customer_id, sequence))`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
})
