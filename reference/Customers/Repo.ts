import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { CustomerId, PhoneNumber } from "../Domain.js"

export interface CustomerRow {
  readonly id: CustomerId
  readonly phone: PhoneNumber
  readonly password_hash: string
  readonly payment_password_hash: string
  readonly payment_failures: number
}

export class CustomersRepo extends Effect.Service<CustomersRepo>()("CustomersRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return {
      insert: (row: Omit<CustomerRow, "payment_failures">, nowMs: number) =>
        sql`INSERT INTO customers (id, phone, password_hash, payment_password_hash, created_at_ms)
            VALUES (${row.id}, ${row.phone}, ${row.password_hash}, ${row.payment_password_hash}, ${nowMs})
            ON CONFLICT (phone) DO NOTHING RETURNING id`.pipe(Effect.map((rows) => rows.length === 1)),
      byPhone: (phone: string) =>
        sql<CustomerRow>`SELECT * FROM customers WHERE phone = ${phone}`.pipe(Effect.map((rows) => rows[0])),
      byId: (id: string) =>
        sql<CustomerRow>`SELECT * FROM customers WHERE id = ${id}`.pipe(Effect.map((rows) => rows[0])),
      insertSession: (tokenHash: string, customerId: CustomerId, expiresAtMs: number) =>
        sql`INSERT INTO sessions (token_hash, customer_id, expires_at_ms) VALUES (${tokenHash}, ${customerId}, ${expiresAtMs})`,
      sessionCustomer: (tokenHash: string, nowMs: number) =>
        sql<{ id: CustomerId; phone: PhoneNumber }>`SELECT c.id, c.phone FROM sessions s JOIN customers c ON c.id = s.customer_id
            WHERE s.token_hash = ${tokenHash} AND s.expires_at_ms > ${nowMs}`.pipe(Effect.map((rows) => rows[0])),
      recordPaymentFailure: (id: CustomerId) =>
        sql<{ payment_failures: number }>`UPDATE customers SET payment_failures = payment_failures + 1 WHERE id = ${id}
            RETURNING payment_failures`.pipe(Effect.map((rows) => rows[0]?.payment_failures ?? 0)),
      resetPaymentFailures: (id: CustomerId) =>
        sql`UPDATE customers SET payment_failures = 0 WHERE id = ${id} AND payment_failures <> 0`
    }
  })
}) {}
