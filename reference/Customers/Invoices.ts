/**
 * Invoices (seed 000 [0012], [0029]): the centre's operator issues an invoice each time a customer's ticket
 * spend passes another `invoiceSpendThresholdFen` since the last one. The check runs inside the payment's
 * transaction, after the money moved; the (customer, sequence) primary key makes each invoice exist once,
 * even when two payments of one customer commit side by side.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { ServerConfig } from "../Config.js"
import type { CustomerId } from "../Domain.js"
import type { Invoice } from "./Api.js"
import { CustomersRepo } from "./Repo.js"

export class Invoices extends Effect.Service<Invoices>()("Invoices", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* CustomersRepo
    const config = yield* ServerConfig

    /** Call inside the transaction that captured a payment of one of `customerId`'s orders. */
    const afterCapture = (customerId: CustomerId, nowMs: number) =>
      Effect.gen(function* () {
        const spendFen = yield* repo.netSpendFen(customerId)
        const [last] = yield* sql<{ sequence: number; covered_spend_fen: number | string }>`SELECT sequence, covered_spend_fen
          FROM invoices WHERE customer_id = ${customerId} ORDER BY sequence DESC LIMIT 1`
        const coveredFen = last ? Number(last.covered_spend_fen) : 0
        if (spendFen - coveredFen < config.invoiceSpendThresholdFen) return false
        const issued = yield* sql`INSERT INTO invoices (customer_id, sequence, amount_fen, covered_spend_fen, issued_at_ms)
          VALUES (${customerId}, ${(last ? Number(last.sequence) : 0) + 1}, ${spendFen - coveredFen}, ${spendFen}, ${nowMs})
          ON CONFLICT DO NOTHING RETURNING sequence`
        return issued.length === 1
      }).pipe(Effect.withSpan("Invoices.afterCapture"))

    const list = (customerId: CustomerId) =>
      Effect.map(sql<{ sequence: number; amount_fen: number; covered_spend_fen: number; issued_at_ms: number }>`SELECT sequence,
          amount_fen, covered_spend_fen, issued_at_ms FROM invoices WHERE customer_id = ${customerId} ORDER BY sequence`,
        (rows) => rows.map((row): Invoice => ({
          sequence: Number(row.sequence), amountFen: Number(row.amount_fen),
          coveredSpendFen: Number(row.covered_spend_fen), issuedAtMs: Number(row.issued_at_ms)
        })))

    return { afterCapture, list } as const
  }),
  dependencies: [CustomersRepo.Default]
}) {}
