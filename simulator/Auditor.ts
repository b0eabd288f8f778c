/**
 * The auditor: DESIGN.md invariants 1–5, checked after a run against the store and the history. Each
 * check is independent of the code it audits (plain SQL over the tables, or the recorded events), and a
 * violation carries a witness: the rows or events that break it.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { InvariantResult } from "../reports/Report.js"
import type { History } from "./History.js"

const maxWitnessLines = 10

const result = (name: string, description: string, witness: ReadonlyArray<string>): InvariantResult =>
  witness.length === 0
    ? { name, description, violations: 0 }
    : { name, description, violations: witness.length, witness: witness.slice(0, maxWitnessLines) }

const liveStates = "('held', 'paid', 'issued')"

const noDoubleBooking = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const overlaps = yield* sql.unsafe<{ a: string; b: string; seat_id: number; a_from: number; a_to: number; b_from: number; b_to: number }>(`
    SELECT a.id AS a, b.id AS b, a.seat_id, a.from_index AS a_from, a.to_index AS a_to, b.from_index AS b_from, b.to_index AS b_to
    FROM orders a JOIN orders b ON a.seat_id = b.seat_id AND a.id < b.id
    WHERE a.state IN ${liveStates} AND b.state IN ${liveStates}
      AND a.from_index < b.to_index AND b.from_index < a.to_index`)
  // the seat's lock bits must equal the union of its live orders' segments (pair assertion); the union
  // is taken here rather than in SQL, where SQLite and PostgreSQL spell a string or bit aggregate differently
  const seats = yield* sql<{ id: number; occupied_mask: number }>`SELECT id, occupied_mask FROM seats ORDER BY id`
  const liveSegments = yield* sql.unsafe<{ seat_id: number; segment_mask: number }>(
    `SELECT seat_id, segment_mask FROM orders WHERE state IN ${liveStates}`)
  // seats an upstream terminal sold (reference/Upstream.ts) hold bits too, and must not overlap a live order or each other
  const upstreamSales = yield* sql<{ sale_id: string; seat_id: number; segment_mask: number }>`SELECT sale_id, seat_id, segment_mask
    FROM upstream_sales WHERE state = 'claimed'`
  const liveUnion = new Map<number, number>()
  for (const order of liveSegments) {
    const seatId = Number(order.seat_id)
    liveUnion.set(seatId, (liveUnion.get(seatId) ?? 0) | Number(order.segment_mask))
  }
  const upstreamOverlaps: Array<string> = []
  for (const sale of upstreamSales) {
    const seatId = Number(sale.seat_id)
    const taken = liveUnion.get(seatId) ?? 0
    if ((taken & Number(sale.segment_mask)) !== 0) upstreamOverlaps.push(`seat ${seatId}: upstream sale ${sale.sale_id} overlaps a live order or another upstream sale`)
    liveUnion.set(seatId, taken | Number(sale.segment_mask))
  }
  const lockMismatches = seats.flatMap((seat) => {
    const union = liveUnion.get(Number(seat.id)) ?? 0
    return union === Number(seat.occupied_mask) ? [] : [`seat ${seat.id}: lock bits ${seat.occupied_mask} but live orders cover ${union}`]
  })
  return result("no-double-booking", "No seat-segment is held or sold to two live orders (1)", [
    ...overlaps.map((row) => `seat ${row.seat_id}: order ${row.a} [${row.a_from},${row.a_to}) overlaps order ${row.b} [${row.b_from},${row.b_to})`),
    ...lockMismatches,
    ...upstreamOverlaps
  ])
})

const moneyConserved = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [total] = yield* sql<{ total: number | null }>`SELECT SUM(balance_fen) AS total FROM accounts`
  const drift = yield* sql<{ id: string; balance_fen: number; ledger: number }>`
    SELECT a.id, a.balance_fen,
      COALESCE((SELECT SUM(amount_fen) FROM transfers t WHERE t.credit_account_id = a.id), 0)
      - COALESCE((SELECT SUM(amount_fen) FROM transfers t WHERE t.debit_account_id = a.id), 0) AS ledger
    FROM accounts a`
  const negative = yield* sql<{ id: string; balance_fen: number }>`SELECT id, balance_fen FROM accounts WHERE kind = 'wallet' AND balance_fen < 0`
  return result("money-conserved", "Every transfer balances, balances equal their entries, no wallet is negative (2)", [
    ...(Number(total?.total ?? 0) === 0 ? [] : [`balances sum to ${total?.total} fen, not 0`]),
    ...drift.filter((row) => Number(row.balance_fen) !== Number(row.ledger)).map((row) => `account ${row.id}: balance ${row.balance_fen} but entries sum to ${row.ledger}`),
    ...negative.map((row) => `wallet ${row.id} is at ${row.balance_fen} fen`)
  ])
})

const paymentEndsInOneTicket = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ order_id: string; tickets: number; state: string }>`
    SELECT t.order_id, (SELECT COUNT(*) FROM tickets k WHERE k.order_id = t.order_id) AS tickets, o.state
    FROM transfers t JOIN orders o ON o.id = t.order_id
    WHERE t.purpose = 'order-payment'`
  const payments = yield* sql<{ order_id: string; payments: number }>`SELECT order_id, COUNT(*) AS payments FROM transfers
    WHERE purpose = 'order-payment' GROUP BY order_id HAVING COUNT(*) > 1`
  return result("payment-ends-in-one-ticket", "Every captured payment ends in exactly one ticket or one refund (3)", [
    ...rows.filter((row) => Number(row.tickets) !== 1 || row.state !== "issued")
      .map((row) => `order ${row.order_id}: paid, state ${row.state}, ${row.tickets} tickets`),
    ...payments.map((row) => `order ${row.order_id}: captured ${row.payments} times`)
  ])
})

const noTicketWithoutPayment = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ id: string; order_id: string }>`SELECT k.id, k.order_id FROM tickets k
    WHERE NOT EXISTS (SELECT 1 FROM transfers t WHERE t.order_id = k.order_id AND t.purpose = 'order-payment')`
  return result("no-ticket-without-payment", "No ticket exists without a captured payment (4)",
    rows.map((row) => `ticket ${row.id} of order ${row.order_id} has no payment`))
})

const admittedOnce = (history: History) => Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const fromStore = yield* sql<{ ticket_id: string; admissions: number }>`SELECT ticket_id, COUNT(*) AS admissions FROM scans
    WHERE outcome = 'admitted' GROUP BY ticket_id HAVING COUNT(*) > 1`
  const seen = new Map<string, number>()
  for (const event of history.events) {
    if (event.kind === "scan" && event.outcome === "ok") {
      const ticketId = String(event.detail?.ticketId)
      seen.set(ticketId, (seen.get(ticketId) ?? 0) + 1)
    }
  }
  return result("admitted-once", "No ticket is admitted twice (5)", [
    ...fromStore.map((row) => `ticket ${row.ticket_id}: ${row.admissions} admissions in the gate log`),
    ...[...seen].filter(([, count]) => count > 1).map(([ticketId, count]) => `ticket ${ticketId}: admitted ${count} times in the history`)
  ])
})

export const audit = (history: History) =>
  Effect.all([noDoubleBooking, moneyConserved, paymentEndsInOneTicket, noTicketWithoutPayment, admittedOnce(history)])
