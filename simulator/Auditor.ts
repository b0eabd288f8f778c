/**
 * The auditor: DESIGN.md invariants 1–5 and 7, checked after a run against the store and the history. Each
 * check is independent of the code it audits (plain SQL over the tables, or the recorded events), and a
 * violation carries a witness: the rows or events that break it.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { InvariantResult } from "../reports/Report.js"
import type { History } from "./History.js"
import { printJobsPrintedOnce } from "./audits/PrintJobs.js"

const maxWitnessLines = 10

const result = (name: string, description: string, witness: ReadonlyArray<string>): InvariantResult =>
  witness.length === 0
    ? { name, description, violations: 0 }
    : { name, description, violations: witness.length, witness: witness.slice(0, maxWitnessLines) }

/** cancelled, expired, refunded and changed orders hold no seat: they gave their segments back */
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

interface PaidOrderFacts {
  readonly id: string
  readonly state: string
  readonly changed_from_order_id: string | null
  readonly tickets: number
  readonly live_tickets: number
}

/** Each changed order's successor (the order changed into), from the orders' `changed_from_order_id`. */
const successorsOf = (orders: ReadonlyArray<PaidOrderFacts>) => {
  const successors = new Map<string, string>()
  for (const order of orders) if (order.changed_from_order_id !== null) successors.set(order.changed_from_order_id, order.id)
  return successors
}

/**
 * (3) A captured payment is followed along its changes (改签: the old order `changed`, its ticket voided,
 * the payment carried into the new order) to the order it ends in, which must be issued with one live
 * ticket and no refund, or refunded once with no live ticket. A payment is never reversed beyond its amount.
 */
const paymentEndsInOneTicket = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const captured = yield* sql<{ order_id: string; payments: number }>`SELECT order_id, COUNT(*) AS payments FROM transfers
    WHERE purpose = 'order-payment' GROUP BY order_id`
  const orders = yield* sql<PaidOrderFacts>`SELECT o.id, o.state, o.changed_from_order_id,
      (SELECT COUNT(*) FROM tickets k WHERE k.order_id = o.id) AS tickets,
      (SELECT COUNT(*) FROM tickets k WHERE k.order_id = o.id AND k.voided_at_ms IS NULL) AS live_tickets
    FROM orders o
    WHERE o.state IN ('paid', 'issued', 'refunded', 'changed') OR o.changed_from_order_id IS NOT NULL
      OR EXISTS (SELECT 1 FROM transfers t WHERE t.order_id = o.id AND t.purpose = 'order-payment')`
  const refunds = yield* sql<{ order_id: string; reverses_transfer_id: string | null; refunds: number }>`
    SELECT order_id, reverses_transfer_id, COUNT(*) AS refunds FROM transfers WHERE purpose = 'order-refund'
    GROUP BY order_id, reverses_transfer_id`
  const zeroRefunds = yield* sql<{ order_id: string }>`SELECT order_id FROM order_events WHERE kind = 'refunded' AND refund_fen = 0`
  const overReversed = yield* sql<{ id: string; order_id: string | null; amount_fen: number; reversed_fen: number }>`
    SELECT p.id, p.order_id, p.amount_fen, SUM(r.amount_fen) AS reversed_fen FROM transfers p JOIN transfers r ON r.reverses_transfer_id = p.id
    GROUP BY p.id, p.order_id, p.amount_fen HAVING SUM(r.amount_fen) > p.amount_fen`

  const byId = new Map(orders.map((order) => [order.id, order]))
  const successors = successorsOf(orders)
  /** the most refund transfers reversing one payment of the order: one refund reverses each payment once */
  const refundTimes = new Map<string, number>()
  for (const row of refunds) refundTimes.set(row.order_id, Math.max(refundTimes.get(row.order_id) ?? 0, Number(row.refunds)))
  const refundedWithoutMoney = new Set(zeroRefunds.map((row) => row.order_id))

  const witness: Array<string> = []
  const endOf = (rootId: string) => {
    let order = byId.get(rootId)
    const seen = new Set<string>()
    while (order && order.state === "changed" && !seen.has(order.id)) {
      seen.add(order.id)
      if (Number(order.live_tickets) > 0) witness.push(`order ${order.id}: changed, but its ticket is live`)
      const next = successors.get(order.id)
      if (next === undefined) {
        witness.push(`order ${order.id}: changed, but no order continues it`)
        return undefined
      }
      order = byId.get(next)
    }
    return order
  }
  for (const payment of captured) {
    if (Number(payment.payments) > 1) witness.push(`order ${payment.order_id}: captured ${payment.payments} times`)
    const end = endOf(payment.order_id)
    if (!end) continue
    const times = refundTimes.get(end.id) ?? 0
    if (times > 1) witness.push(`order ${end.id}: refunded ${times} times`)
    if (end.state === "issued" && Number(end.tickets) === 1 && Number(end.live_tickets) === 1) {
      if (times > 0) witness.push(`order ${end.id}: issued and refunded`)
    } else if (end.state === "refunded") {
      if (Number(end.live_tickets) > 0) witness.push(`order ${end.id}: refunded, but its ticket is live`)
      if (times === 0 && !refundedWithoutMoney.has(end.id)) witness.push(`order ${end.id}: refunded, but no refund was paid`)
    } else {
      witness.push(`order ${end.id}: paid, state ${end.state}, ${end.tickets} tickets`)
    }
  }
  for (const row of overReversed) {
    witness.push(`payment ${row.id} of order ${row.order_id}: ${row.reversed_fen} fen reversed of ${row.amount_fen}`)
  }
  // a gateway success that came after its order lost the seat is captured and refunded whole, once
  const late = yield* sql<{ order_id: string; purpose: string; transfers: number; amount_fen: number }>`SELECT order_id, purpose,
      COUNT(*) AS transfers, SUM(amount_fen) AS amount_fen
    FROM transfers WHERE purpose IN ('late-capture', 'refund') GROUP BY order_id, purpose ORDER BY order_id, purpose`
  const lateByOrder = new Map<string, { captures: number; capturedFen: number; refunds: number; refundedFen: number }>()
  for (const row of late) {
    const entry = lateByOrder.get(row.order_id) ?? { captures: 0, capturedFen: 0, refunds: 0, refundedFen: 0 }
    if (row.purpose === "late-capture") lateByOrder.set(row.order_id, { ...entry, captures: Number(row.transfers), capturedFen: Number(row.amount_fen) })
    else lateByOrder.set(row.order_id, { ...entry, refunds: Number(row.transfers), refundedFen: Number(row.amount_fen) })
  }
  for (const [orderId, entry] of lateByOrder) {
    if (entry.captures !== entry.refunds || entry.capturedFen !== entry.refundedFen) {
      witness.push(`order ${orderId}: ${entry.captures} late captures (${entry.capturedFen} fen) but ${entry.refunds} refunds (${entry.refundedFen} fen)`)
    }
  }
  return result("payment-ends-in-one-ticket", "Every captured payment ends in exactly one ticket or one refund (3)", witness)
})

/** (4) A ticket's payment is its order's own, or that of the order it was changed from (followed back). */
const noTicketWithoutPayment = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const unpaid = yield* sql<{ id: string; order_id: string }>`SELECT k.id, k.order_id FROM tickets k
    WHERE NOT EXISTS (SELECT 1 FROM transfers t WHERE t.order_id = k.order_id AND t.purpose = 'order-payment')`
  if (unpaid.length === 0) return result("no-ticket-without-payment", "No ticket exists without a captured payment (4)", [])
  const links = yield* sql<{ id: string; changed_from_order_id: string }>`SELECT id, changed_from_order_id FROM orders
    WHERE changed_from_order_id IS NOT NULL`
  const paidAncestors = yield* sql<{ order_id: string }>`SELECT DISTINCT order_id FROM transfers WHERE purpose = 'order-payment'
    AND order_id IN (SELECT changed_from_order_id FROM orders WHERE changed_from_order_id IS NOT NULL)`
  const changedFrom = new Map(links.map((link) => [link.id, link.changed_from_order_id]))
  const paid = new Set(paidAncestors.map((row) => row.order_id))
  const paidThroughChanges = (orderId: string) => {
    const seen = new Set<string>()
    for (let at = changedFrom.get(orderId); at !== undefined && !seen.has(at); at = changedFrom.get(at)) {
      if (paid.has(at)) return true
      seen.add(at)
    }
    return false
  }
  return result("no-ticket-without-payment", "No ticket exists without a captured payment (4)",
    unpaid.filter((row) => !paidThroughChanges(row.order_id)).map((row) => `ticket ${row.id} of order ${row.order_id} has no payment`))
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

/**
 * SIM carriers (seed 003): a carrier never holds more tickets than its slots, and its slot count agrees with
 * the tickets on it; every live ticket of a phone with a carrier whose delivery is not pending is in exactly one
 * place (carrier, network box, or removed from the carrier), filed under its holder's MSISDN. A place is the
 * ticket's primary key, so "two places" cannot be stored; "no place" and "the wrong phone's place" can.
 */
const carriersWithinCapacity = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const carriers = yield* sql<{ msisdn: string; capacity_slots: number; used_slots: number; held: number }>`
    SELECT c.msisdn, c.capacity_slots, c.used_slots,
      (SELECT COUNT(*) FROM ticket_places p WHERE p.msisdn = c.msisdn AND p.place = 'carrier') AS held
    FROM sim_carriers c ORDER BY c.msisdn`
  // live tickets only: one used at a gate or refunded before its phone had a carrier is never put on one
  const unplaced = yield* sql<{ id: string; holder: string }>`SELECT t.id, t.holder FROM tickets t JOIN orders o ON o.id = t.order_id
    WHERE o.state = 'issued' AND t.admitted_at_ms IS NULL AND t.voided_at_ms IS NULL
      AND EXISTS (SELECT 1 FROM sim_carriers c WHERE c.msisdn = t.holder)
      AND NOT EXISTS (SELECT 1 FROM ticket_places p WHERE p.ticket_id = t.id)
      AND NOT EXISTS (SELECT 1 FROM delivery_jobs j WHERE j.ticket_id = t.id AND j.done_at_ms IS NULL)
    ORDER BY t.id`
  const misfiled = yield* sql<{ ticket_id: string; msisdn: string; holder: string }>`SELECT p.ticket_id, p.msisdn, t.holder
    FROM ticket_places p JOIN tickets t ON t.id = p.ticket_id WHERE p.msisdn <> t.holder ORDER BY p.ticket_id`
  return result("carrier-within-capacity", "No SIM carrier holds more than its capacity; every ticket is in exactly one place (7)", [
    ...carriers.filter((row) => Number(row.held) > Number(row.capacity_slots))
      .map((row) => `carrier ${row.msisdn}: holds ${row.held} tickets, capacity ${row.capacity_slots}`),
    ...carriers.filter((row) => Number(row.held) !== Number(row.used_slots))
      .map((row) => `carrier ${row.msisdn}: ${row.used_slots} slots counted used but ${row.held} tickets on it`),
    ...unplaced.map((row) => `ticket ${row.id} of carrier ${row.holder} is in no place`),
    ...misfiled.map((row) => `ticket ${row.ticket_id} of ${row.holder} is filed under carrier ${row.msisdn}`)
  ])
})

export const audit = (history: History) =>
  Effect.all([
    noDoubleBooking, moneyConserved, paymentEndsInOneTicket, noTicketWithoutPayment, admittedOnce(history), carriersWithinCapacity,
    printJobsPrintedOnce(history)
  ])
