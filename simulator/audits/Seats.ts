/**
 * Seats: no seat-segment sold twice (1), and every expired hold gave its seat back (6). Plain SQL over the
 * tables the server writes, and the history's holds, never the server's own code.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { History } from "../History.js"
import type { HistoryKind } from "../../devices/HistoryEvents.js"
import { timeOfDay } from "./Witness.js"
import type { Violation } from "./Witness.js"

/** cancelled, expired, refunded and changed orders hold no seat: they gave their segments back */
export const liveStates = "('held', 'paid', 'issued')"

/**
 * The segments each seat's owners hold: the union of its live orders' masks, and those of the seats an upstream
 * terminal sold (reference/delivery/Upstream.ts), with the upstream sales that overlap one of them. The union is taken
 * here rather than in SQL, where SQLite and PostgreSQL spell a string or bit aggregate differently.
 */
const liveLocks = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const liveSegments = yield* sql.unsafe<{ seat_id: number; segment_mask: number }>(
    `SELECT seat_id, segment_mask FROM orders WHERE state IN ${liveStates}`)
  const upstreamSales = yield* sql<{ sale_id: string; seat_id: number; segment_mask: number }>`SELECT sale_id, seat_id, segment_mask
    FROM upstream_sales WHERE state = 'claimed'`
  const union = new Map<number, number>()
  for (const order of liveSegments) {
    const seatId = Number(order.seat_id)
    union.set(seatId, (union.get(seatId) ?? 0) | Number(order.segment_mask))
  }
  const upstreamOverlaps: Array<Violation> = []
  for (const sale of upstreamSales) {
    const seatId = Number(sale.seat_id)
    const taken = union.get(seatId) ?? 0
    if ((taken & Number(sale.segment_mask)) !== 0) {
      upstreamOverlaps.push({ line: `seat ${seatId}: upstream sale ${sale.sale_id} overlaps a live order or another upstream sale` })
    }
    union.set(seatId, taken | Number(sale.segment_mask))
  }
  return { union, upstreamOverlaps }
})

/** (1) No two live orders overlap on a seat, and each seat's lock bits equal its owners' segments (pair assertion). */
export const noDoubleBooking = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const overlaps = yield* sql.unsafe<{ a: string; b: string; seat_id: number; a_from: number; a_to: number; b_from: number; b_to: number }>(`
    SELECT a.id AS a, b.id AS b, a.seat_id, a.from_index AS a_from, a.to_index AS a_to, b.from_index AS b_from, b.to_index AS b_to
    FROM orders a JOIN orders b ON a.seat_id = b.seat_id AND a.id < b.id
    WHERE a.state IN ${liveStates} AND b.state IN ${liveStates}
      AND a.from_index < b.to_index AND b.from_index < a.to_index`)
  const seats = yield* sql<{ id: number; occupied_mask: number }>`SELECT id, occupied_mask FROM seats ORDER BY id`
  const { union, upstreamOverlaps } = yield* liveLocks
  const lockMismatches = seats.flatMap((seat): Array<Violation> => {
    const covered = union.get(Number(seat.id)) ?? 0
    return covered === Number(seat.occupied_mask) ? [] : [{ line: `seat ${seat.id}: lock bits ${seat.occupied_mask} but live orders cover ${covered}` }]
  })
  const violations: Array<Violation> = [
    ...overlaps.map((row) => ({
      line: `seat ${row.seat_id}: order ${row.a} [${row.a_from},${row.a_to}) overlaps order ${row.b} [${row.b_from},${row.b_to})`,
      orders: [row.a, row.b]
    })),
    ...lockMismatches,
    ...upstreamOverlaps
  ]
  return violations
})

export interface HoldAuditOptions {
  /** when the run ended on the server's clock; without it, holds still `held` are not judged */
  readonly endMs?: number
  /** how long after its expiry a hold may still be `held`: the sweeper's longest wait */
  readonly holdReleaseGraceMs?: number
}

interface ExpiredHold {
  readonly id: string; readonly seat_id: number; readonly segment_mask: number; readonly from_index: number; readonly to_index: number
  readonly occupied_mask: number; readonly ended_at_ms: number
}

/**
 * A seat's lock bit that no live owner holds, blamed on the expired order that covered it last: earlier ones
 * were released before the seat was taken again, or the later one could not have been held.
 */
const staleBitsByOrder = (expired: ReadonlyArray<ExpiredHold>, liveUnion: ReadonlyMap<number, number>) => {
  const blamed = new Map<ExpiredHold, number>()
  const bySeat = new Map<number, Array<ExpiredHold>>()
  for (const order of expired) bySeat.set(Number(order.seat_id), [...(bySeat.get(Number(order.seat_id)) ?? []), order])
  for (const [seatId, orders] of bySeat) {
    const stale = Number(orders[0]!.occupied_mask) & ~(liveUnion.get(seatId) ?? 0)
    for (let bit = 1; bit !== 0 && bit <= stale; bit *= 2) {
      if ((stale & bit) === 0) continue
      const last = orders.filter((order) => (Number(order.segment_mask) & bit) !== 0)
        .reduce<ExpiredHold | undefined>((latest, order) => latest && Number(latest.ended_at_ms) >= Number(order.ended_at_ms) ? latest : order, undefined)
      if (last) blamed.set(last, (blamed.get(last) ?? 0) | bit)
    }
  }
  return blamed
}

/** The order each `HoldExpired` answer was about: its own `orderId`, else the one its actor held last. */
const holdsSeenExpiring = (history: History) => {
  const lastOrderOf = new Map<string, string>()
  const seen: Array<{ orderId: string; actor: string; atMs: number; kind: HistoryKind }> = []
  for (const event of history.read()) {
    const orderId = typeof event.detail?.orderId === "string" ? event.detail.orderId : lastOrderOf.get(event.actor)
    if (event.outcome === "HoldExpired" && orderId !== undefined) seen.push({ orderId, actor: event.actor, atMs: event.atMs, kind: event.kind })
    if (typeof event.detail?.orderId === "string") lastOrderOf.set(event.actor, event.detail.orderId)
  }
  return seen
}

/**
 * (6) Every expired hold releases its seats: an `expired` order's segments are locked only where a live owner
 * holds them now; no order is still `held` long after its expiry when the run ends; and every order a device was
 * told had expired is `expired` in the store (not still held, and never paid after all).
 */
export const holdsReleased = (history: History, options: HoldAuditOptions) => Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const { union } = yield* liveLocks
  const expired = yield* sql<ExpiredHold>`
    SELECT o.id, o.seat_id, o.segment_mask, o.from_index, o.to_index, s.occupied_mask, COALESCE(o.closed_at_ms, o.hold_expires_at_ms) AS ended_at_ms
    FROM orders o JOIN seats s ON s.id = o.seat_id
    WHERE o.state = 'expired' AND (s.occupied_mask & o.segment_mask) <> 0 ORDER BY o.seat_id, o.id`
  const violations: Array<Violation> = [...staleBitsByOrder(expired, union)].map(([order, stale]) => ({
    line: `order ${order.id}: expired, but seat ${order.seat_id} still locks its segments [${order.from_index},${order.to_index}) (bits ${stale}) for no live order`,
    orders: [order.id]
  }))
  if (options.endMs !== undefined) {
    const dueBeforeMs = options.endMs - (options.holdReleaseGraceMs ?? 0)
    const stuck = yield* sql<{ id: string; hold_expires_at_ms: number }>`SELECT id, hold_expires_at_ms FROM orders
      WHERE state = 'held' AND hold_expires_at_ms <= ${dueBeforeMs} ORDER BY hold_expires_at_ms, id`
    violations.push(...stuck.map((order) => ({
      line: `order ${order.id}: hold expired at ${timeOfDay(Number(order.hold_expires_at_ms))} but still held when the run ended at ${timeOfDay(options.endMs!)}`,
      orders: [order.id]
    })))
  }
  const told = holdsSeenExpiring(history)
  if (told.length > 0) {
    // every order not given back, rather than a list of IDs as long as the run's (SQLite caps bound parameters)
    const kept = new Map<string, string>()
    for (const row of yield* sql<{ id: string; state: string }>`SELECT id, state FROM orders WHERE state NOT IN ('expired', 'cancelled')`) {
      kept.set(row.id, row.state)
    }
    for (const hold of told) {
      const state = kept.get(hold.orderId)
      if (state === undefined) continue
      violations.push({
        line: `order ${hold.orderId}: ${hold.actor} was told at ${timeOfDay(hold.atMs)} (${hold.kind}) its hold had expired, but the order is ${state}`,
        orders: [hold.orderId], actors: [hold.actor]
      })
    }
  }
  return violations
})
