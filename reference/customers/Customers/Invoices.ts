/**
 * Invoices (seed 000 [0012], [0029]): the centre's operator issues an invoice each time a customer's ticket
 * spend passes another `invoiceSpendThresholdFen` since the last one. The check runs inside the payment's
 * transaction, after the money moved, on the customer's running totals (net spend, and the part of it
 * invoiced), which every transaction that moves money for their orders keeps; the auditor checks them against
 * the ledger. The (customer, sequence) primary key makes each invoice exist once.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { CustomerConfig } from "../../Settings/Customers.js"
import { FenDelta, FenTotal } from "../../Domain.js"
import type { CustomerId } from "../../Domain.js"
import type { Invoice } from "./Api.js"
import { Queries } from "../../Store/Queries.js"
import { spanOptions } from "../../Spans.js"

export class Invoices extends Effect.Service<Invoices>()("Invoices", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const queries = yield* Queries
    const config = yield* CustomerConfig

    /**
     * Inside the transaction that moved money for one of the customer's orders: their net spend moves by
     * `deltaFen` (a payment or a change's charge adds, a refund takes away). The customer's row is locked until
     * the commit, so concurrent payments of one customer count one after the other.
     */
    const addSpend = (customerId: CustomerId, deltaFen: FenDelta) =>
      queries.first<{ net_spend_fen: number; invoiced_spend_fen: number }>(
        "UPDATE customers SET net_spend_fen = net_spend_fen + ? WHERE id = ? RETURNING net_spend_fen, invoiced_spend_fen", [deltaFen, customerId])

    /** Inside the transaction that captured `amountFen` for one of `customerId`'s orders: their spend, and an invoice when due. */
    const afterCapture = (customerId: CustomerId, amountFen: FenTotal, nowMs: number) =>
      Effect.gen(function* () {
        const spend = yield* addSpend(customerId, FenDelta.make(amountFen))
        if (!spend) return yield* Effect.dieMessage(`customer ${customerId} paid but has no row`)
        const spendFen = Number(spend.net_spend_fen)
        const coveredFen = Number(spend.invoiced_spend_fen)
        if (spendFen - coveredFen < config.invoiceSpendThresholdFen) return false
        const [last] = yield* sql<{ sequence: number }>`SELECT sequence FROM invoices WHERE customer_id = ${customerId} ORDER BY sequence DESC LIMIT 1`
        const issued = yield* sql`INSERT INTO invoices (customer_id, sequence, amount_fen, covered_spend_fen, issued_at_ms)
          VALUES (${customerId}, ${(last ? Number(last.sequence) : 0) + 1}, ${spendFen - coveredFen}, ${spendFen}, ${nowMs})
          ON CONFLICT DO NOTHING RETURNING sequence`
        yield* sql`UPDATE customers SET invoiced_spend_fen = ${spendFen} WHERE id = ${customerId}`
        return issued.length === 1
      }).pipe(Effect.withSpan("Invoices.afterCapture", spanOptions))

    /** Inside the transaction that returned `amountFen` of an order's price to the customer (a refund, a cheaper change). */
    const afterReturn = (customerId: CustomerId, amountFen: FenTotal) => Effect.asVoid(addSpend(customerId, FenDelta.make(-amountFen)))

    const list = (customerId: CustomerId) =>
      Effect.map(sql<{ sequence: number; amount_fen: number; covered_spend_fen: number; issued_at_ms: number }>`SELECT sequence,
          amount_fen, covered_spend_fen, issued_at_ms FROM invoices WHERE customer_id = ${customerId} ORDER BY sequence`,
        (rows) => rows.map((row): Invoice => ({
          sequence: Number(row.sequence), amountFen: FenTotal.make(Number(row.amount_fen)),
          coveredSpendFen: FenTotal.make(Number(row.covered_spend_fen)), issuedAtMs: Number(row.issued_at_ms)
        })))

    return { afterCapture, afterReturn, addSpend, list } as const
  }),
}) {}
