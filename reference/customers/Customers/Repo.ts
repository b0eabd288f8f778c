import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { centreAccountId } from "../../payments/Accounts/Repo.js"
import { Queries } from "../../Store/Queries.js"
import { FenTotal } from "../../Domain.js"
import type { CustomerId, PhoneNumber } from "../../Domain.js"

export interface CustomerRow {
  readonly id: CustomerId
  /** NULL for an anonymous device's customer */
  readonly phone: PhoneNumber | null
  /** NULL for an anonymous device's customer: it never logs in with a password */
  readonly password_hash: string | null
  readonly payment_password_hash: string
  readonly payment_failures: number
  readonly login_failures: number
  readonly login_locked_until_ms: number | string | null
  readonly name: string | null
  readonly resident_id: string | null
  readonly province: string | null
  readonly birth_date: string | null
  readonly device_id: string | null
  readonly device_install_time: string | null
}

export interface NewPhoneCustomer {
  readonly id: CustomerId
  readonly phone: PhoneNumber
  readonly password_hash: string
  readonly payment_password_hash: string
  readonly name: string | null
  readonly resident_id: string
  readonly province: string
  readonly birth_date: string
}

export interface NewDeviceCustomer {
  readonly id: CustomerId
  readonly device_id: string
  readonly device_install_time: string | null
  readonly payment_password_hash: string
}

/** Who a session belongs to: a phone customer, or an anonymous device's. */
export interface SessionCustomer {
  readonly id: CustomerId
  readonly phone: PhoneNumber | null
  readonly deviceId: string | null
}

export class CustomersRepo extends Effect.Service<CustomersRepo>()("CustomersRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const queries = yield* Queries
    return {
      insert: (row: NewPhoneCustomer, nowMs: number) =>
        sql`INSERT INTO customers (id, phone, password_hash, payment_password_hash, name, resident_id, province, birth_date, created_at_ms)
            VALUES (${row.id}, ${row.phone}, ${row.password_hash}, ${row.payment_password_hash}, ${row.name}, ${row.resident_id},
                    ${row.province}, ${row.birth_date}, ${nowMs})
            ON CONFLICT (phone) DO NOTHING RETURNING id`.pipe(Effect.map((rows) => rows.length === 1)),
      insertDevice: (row: NewDeviceCustomer, nowMs: number) =>
        sql`INSERT INTO customers (id, device_id, device_install_time, payment_password_hash, created_at_ms)
            VALUES (${row.id}, ${row.device_id}, ${row.device_install_time}, ${row.payment_password_hash}, ${nowMs})
            ON CONFLICT (device_id) DO NOTHING RETURNING id`.pipe(Effect.map((rows) => rows.length === 1)),
      byPhone: (phone: string) =>
        sql<CustomerRow>`SELECT * FROM customers WHERE phone = ${phone}`.pipe(Effect.map((rows) => rows[0])),
      byDeviceId: (deviceId: string) =>
        sql<CustomerRow>`SELECT * FROM customers WHERE device_id = ${deviceId}`.pipe(Effect.map((rows) => rows[0])),
      byId: (id: string) =>
        sql<CustomerRow>`SELECT * FROM customers WHERE id = ${id}`.pipe(Effect.map((rows) => rows[0])),
      insertSession: (tokenHash: string, customerId: CustomerId, expiresAtMs: number) =>
        sql`INSERT INTO sessions (token_hash, customer_id, expires_at_ms) VALUES (${tokenHash}, ${customerId}, ${expiresAtMs})`,
      sessionCustomer: (tokenHash: string, nowMs: number) =>
        queries.first<{ id: CustomerId; phone: PhoneNumber | null; device_id: string | null }>(`SELECT c.id, c.phone, c.device_id
            FROM sessions s JOIN customers c ON c.id = s.customer_id
            WHERE s.token_hash = ? AND s.expires_at_ms > ?`, [tokenHash, nowMs]).pipe(
          Effect.map((row) => row && ({ id: row.id, phone: row.phone, deviceId: row.device_id } satisfies SessionCustomer))
        ),
      /**
       * Counts a payment-password attempt before its check, in one conditional write: no row once
       * `maxFailures` attempts are counted, however many requests race, so no more than that many are ever checked.
       */
      countPaymentAttempt: (id: CustomerId, maxFailures: number) =>
        queries.first<CustomerRow>("UPDATE customers SET payment_failures = payment_failures + 1 WHERE id = ? AND payment_failures < ? RETURNING *",
          [id, maxFailures]),
      /** A right password gives back the `counted` attempts up to and including its own; later ones stay counted. */
      forgivePaymentAttempts: (id: CustomerId, counted: number) =>
        queries.run("UPDATE customers SET payment_failures = CASE WHEN payment_failures > ? THEN payment_failures - ? ELSE 0 END WHERE id = ?",
          [counted, counted, id]),
      /**
       * Counts a login-password attempt before its check, as payments do, except that the lock ends: the attempt
       * that reaches `maxFailures` locks the account until `lockoutMs` later, and the first attempt after that
       * starts a fresh count. No row while the account is locked.
       */
      countLoginAttempt: (id: CustomerId, limits: { maxFailures: number; lockoutMs: number }, nowMs: number) =>
        sql<{ id: CustomerId; password_hash: string | null; login_failures: number }>`UPDATE customers SET
              login_failures = CASE WHEN login_failures >= ${limits.maxFailures} THEN 1 ELSE login_failures + 1 END,
              login_locked_until_ms = CASE
                WHEN (CASE WHEN login_failures >= ${limits.maxFailures} THEN 1 ELSE login_failures + 1 END) >= ${limits.maxFailures}
                THEN CAST(${nowMs + limits.lockoutMs} AS BIGINT) ELSE NULL END
            WHERE id = ${id} AND (login_failures < ${limits.maxFailures} OR login_locked_until_ms <= ${nowMs})
            RETURNING id, password_hash, login_failures`.pipe(Effect.map((rows) => rows[0])),
      forgiveLoginAttempts: (id: CustomerId, counted: number) =>
        sql`UPDATE customers SET login_failures = CASE WHEN login_failures > ${counted} THEN login_failures - ${counted} ELSE 0 END
            WHERE id = ${id}`,
      loginLockedUntilMs: (id: CustomerId) =>
        sql<{ login_locked_until_ms: number | string | null }>`SELECT login_locked_until_ms FROM customers WHERE id = ${id}`.pipe(
          Effect.map((rows) => rows[0]?.login_locked_until_ms == null ? undefined : Number(rows[0].login_locked_until_ms))
        ),
      deleteSessions: (customerId: CustomerId) => sql`DELETE FROM sessions WHERE customer_id = ${customerId}`,
      setName: (id: CustomerId, name: string) => sql`UPDATE customers SET name = ${name} WHERE id = ${id}`,
      /** Conditional on the hash read before: a concurrent change of the same password wins once. */
      replacePasswordHash: (id: CustomerId, oldHash: string, newHash: string) =>
        sql`UPDATE customers SET password_hash = ${newHash} WHERE id = ${id} AND password_hash = ${oldHash} RETURNING id`.pipe(
          Effect.map((rows) => rows.length === 1)
        ),
      replacePaymentPasswordHash: (id: CustomerId, oldHash: string, newHash: string) =>
        sql`UPDATE customers SET payment_password_hash = ${newHash} WHERE id = ${id} AND payment_password_hash = ${oldHash}
            RETURNING id`.pipe(Effect.map((rows) => rows.length === 1)),
      /**
       * What the customer's orders brought the centre: money into the centre's account minus money out of
       * it (refunds), over every transfer that names one of the customer's orders, whatever paid it.
       */
      netSpendFen: (id: CustomerId) =>
        sql<{ net_spend_fen: number | string | null }>`SELECT SUM(CASE WHEN t.credit_account_id = ${centreAccountId} THEN t.amount_fen
              WHEN t.debit_account_id = ${centreAccountId} THEN -t.amount_fen ELSE 0 END) AS net_spend_fen
            FROM transfers t JOIN orders o ON o.id = t.order_id WHERE o.customer_id = ${id}`.pipe(
          // every refund reverses part of a payment of the same customer's orders, so the sum never goes below 0
          Effect.map((rows) => FenTotal.make(Number(rows[0]?.net_spend_fen ?? 0)))
        )
    }
  })
}) {}
