/**
 * Tickets: every captured payment ends in one ticket or one refund (3), no ticket without a payment (4), no
 * ticket admitted twice (5), SIM carriers within capacity with every ticket in one place (7).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { History } from "../History.js"
import type { Violation } from "./Witness.js"

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
export const paymentEndsInOneTicket = Effect.gen(function* () {
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

  const witness: Array<Violation> = []
  const about = (orderId: string | null, line: string) => witness.push({ line, orders: orderId === null ? [] : [orderId] })
  const endOf = (rootId: string) => {
    let order = byId.get(rootId)
    const seen = new Set<string>()
    while (order && order.state === "changed" && !seen.has(order.id)) {
      seen.add(order.id)
      if (Number(order.live_tickets) > 0) about(order.id, `order ${order.id}: changed, but its ticket is live`)
      const next = successors.get(order.id)
      if (next === undefined) {
        about(order.id, `order ${order.id}: changed, but no order continues it`)
        return undefined
      }
      order = byId.get(next)
    }
    return order
  }
  for (const payment of captured) {
    if (Number(payment.payments) > 1) about(payment.order_id, `order ${payment.order_id}: captured ${payment.payments} times`)
    const end = endOf(payment.order_id)
    if (!end) continue
    const times = refundTimes.get(end.id) ?? 0
    if (times > 1) about(end.id, `order ${end.id}: refunded ${times} times`)
    if (end.state === "issued" && Number(end.tickets) === 1 && Number(end.live_tickets) === 1) {
      if (times > 0) about(end.id, `order ${end.id}: issued and refunded`)
    } else if (end.state === "refunded") {
      if (Number(end.live_tickets) > 0) about(end.id, `order ${end.id}: refunded, but its ticket is live`)
      if (times === 0 && !refundedWithoutMoney.has(end.id)) about(end.id, `order ${end.id}: refunded, but no refund was paid`)
    } else {
      about(end.id, `order ${end.id}: paid, state ${end.state}, ${end.tickets} tickets`)
    }
  }
  for (const row of overReversed) {
    about(row.order_id, `payment ${row.id} of order ${row.order_id}: ${row.reversed_fen} fen reversed of ${row.amount_fen}`)
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
      about(orderId, `order ${orderId}: ${entry.captures} late captures (${entry.capturedFen} fen) but ${entry.refunds} refunds (${entry.refundedFen} fen)`)
    }
  }
  return witness
})

/** (4) A ticket's payment is its order's own, or that of the order it was changed from (followed back). */
export const noTicketWithoutPayment = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const unpaid = yield* sql<{ id: string; order_id: string }>`SELECT k.id, k.order_id FROM tickets k
    WHERE NOT EXISTS (SELECT 1 FROM transfers t WHERE t.order_id = k.order_id AND t.purpose = 'order-payment')`
  if (unpaid.length === 0) return []
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
  return unpaid.filter((row) => !paidThroughChanges(row.order_id))
    .map((row): Violation => ({ line: `ticket ${row.id} of order ${row.order_id} has no payment`, orders: [row.order_id], tickets: [row.id] }))
})

/**
 * (5) No ticket is admitted twice online: the gate log and the history agree. An offline gate cannot see the
 * others, so a ticket it admits may be admitted again elsewhere; that is not hidden but counted when the gate
 * syncs. So every offline admission of the history must be in the server's `offline_admissions`, and a ticket
 * let in n > 1 times in all (online and offline) must have exactly n − 1 of them counted as doubles there.
 */
export const admittedOnce = (history: History) => Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const fromStore = yield* sql<{ ticket_id: string; admissions: number }>`SELECT ticket_id, COUNT(*) AS admissions FROM scans
    WHERE outcome = 'admitted' GROUP BY ticket_id HAVING COUNT(*) > 1`
  const online = new Map<string, number>()
  const offline = new Map<string, number>()
  for (const event of history.read()) {
    if (event.kind === "scan" && event.outcome === "ok") {
      const ticketId = String(event.detail?.ticketId)
      const tally = event.detail?.offline === true ? offline : online
      tally.set(ticketId, (tally.get(ticketId) ?? 0) + 1)
    }
  }
  const synced = offline.size === 0 ? [] : yield* sql<{ ticket_id: string; records: number; doubles: number }>`SELECT ticket_id,
      COUNT(*) AS records, SUM(CASE WHEN outcome = 'double' THEN 1 ELSE 0 END) AS doubles
    FROM offline_admissions GROUP BY ticket_id`
  const syncedOf = new Map(synced.map((row) => [row.ticket_id, { records: Number(row.records), doubles: Number(row.doubles) }]))
  const offlineViolations = [...offline].flatMap(([ticketId, count]): Array<Violation> => {
    const records = syncedOf.get(ticketId) ?? { records: 0, doubles: 0 }
    const total = count + (online.get(ticketId) ?? 0)
    if (records.records !== count) return [{ line: `ticket ${ticketId}: admitted ${count} times offline, ${records.records} reached the server`, tickets: [ticketId] }]
    if (records.doubles !== total - 1) return [{ line: `ticket ${ticketId}: let in ${total} times (${count} offline), ${records.doubles} counted as doubles`, tickets: [ticketId] }]
    return []
  })
  const violations: Array<Violation> = [
    ...fromStore.map((row) => ({ line: `ticket ${row.ticket_id}: ${row.admissions} admissions in the gate log`, tickets: [row.ticket_id] })),
    ...[...online].filter(([, count]) => count > 1).map(([ticketId, count]) => ({ line: `ticket ${ticketId}: admitted ${count} times in the history`, tickets: [ticketId] })),
    ...offlineViolations
  ]
  return violations
})

/**
 * Offline gates admit on their own and a second admission of a ticket is found only at sync (reference/delivery/GateSync.ts):
 * those are not violations of (5), which the gate could not prevent, but they are counted and reported beside it.
 */
export const offlineDoubleAdmissions = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ doubles: number }>`SELECT COUNT(*) AS doubles FROM offline_admissions WHERE outcome = 'double'`
  return Number(row?.doubles ?? 0)
})

/**
 * SIM carriers (seed 003): a carrier never holds more tickets than its slots, and its slot count agrees with
 * the tickets on it; every live ticket of a phone with a carrier whose delivery is not pending is in exactly one
 * place (carrier, network box, or removed from the carrier), filed under its holder's MSISDN. A place is the
 * ticket's primary key, so "two places" cannot be stored; "no place" and "the wrong phone's place" can.
 */
export const carriersWithinCapacity = Effect.gen(function* () {
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
  const violations: Array<Violation> = [
    ...carriers.filter((row) => Number(row.held) > Number(row.capacity_slots))
      .map((row) => ({ line: `carrier ${row.msisdn}: holds ${row.held} tickets, capacity ${row.capacity_slots}` })),
    ...carriers.filter((row) => Number(row.held) !== Number(row.used_slots))
      .map((row) => ({ line: `carrier ${row.msisdn}: ${row.used_slots} slots counted used but ${row.held} tickets on it` })),
    ...unplaced.map((row) => ({ line: `ticket ${row.id} of carrier ${row.holder} is in no place`, tickets: [row.id] })),
    ...misfiled.map((row) => ({ line: `ticket ${row.ticket_id} of ${row.holder} is filed under carrier ${row.msisdn}`, tickets: [row.ticket_id] }))
  ]
  return violations
})

