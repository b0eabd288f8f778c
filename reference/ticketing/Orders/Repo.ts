import * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import { Effect } from "effect"
import { maxStopsPerTrain } from "../../Domain.js"
import type { FenTotal } from "../../Domain.js"
import type { CustomerId, OrderId, OrderState, RunId } from "../../Domain.js"
import { forUpdate } from "../../Store/Dialect.js"
import { Queries } from "../../Store/Queries.js"

export interface OrderRow {
  readonly id: OrderId
  readonly customer_id: CustomerId
  readonly run_id: RunId
  readonly seat_id: number
  readonly from_index: number
  readonly to_index: number
  readonly segment_mask: number
  readonly price_fen: number
  readonly state: OrderState
  readonly held_at_ms: number
  readonly hold_expires_at_ms: number
  readonly paid_at_ms: number | null
  readonly issued_at_ms: number | null
}

export interface OrderView extends OrderRow {
  readonly train_code: string
  readonly service_date: string
  readonly coach: number
  readonly seat_code: string
  readonly seat_class: string
  /** train_runs.kind: 'train', 'showing' or 'event' */
  readonly run_kind: string
  readonly from_station: string
  readonly to_station: string
  readonly ticket_id: string | null
}

/** Which seats a hold may take: any seat, any seat of one class, or one chosen seat. */
export type SeatTarget =
  | { readonly _tag: "AnySeat" }
  | { readonly _tag: "InClass"; readonly seatClass: string }
  | { readonly _tag: "Chosen"; readonly seatId: number }
export const anySeat: SeatTarget = { _tag: "AnySeat" }

export interface ClaimedSeat { readonly id: number; readonly seat_class: string }

/** What a hold asks the inventory for: a seat `target` allows, free on `mask`, and the held order written with it. */
export interface HoldInput {
  readonly id: OrderId
  readonly customerId: CustomerId
  readonly runId: RunId
  readonly target: SeatTarget
  readonly fromIndex: number
  readonly toIndex: number
  readonly mask: number
  /** the journey's price in each seat class: the order costs its seat's */
  readonly pricesByClass: ReadonlyMap<string, FenTotal>
  readonly heldAtMs: number
  readonly holdExpiresAtMs: number
}

/** The seat a hold took, and what its order costs. */
export interface HeldSeat {
  readonly seatId: number
  readonly seatClass: string
  readonly coach: number
  readonly seatCode: string
  readonly priceFen: FenTotal
}

/** The seats of `runId` that `target` allows, as a WHERE condition on `seats`. */
export const seatTargetFilter = (sql: SqlClient.SqlClient, runId: RunId, target: SeatTarget): Statement.Fragment => {
  switch (target._tag) {
    case "AnySeat": return sql`run_id = ${runId}`
    case "InClass": return sql`run_id = ${runId} AND seat_class = ${target.seatClass}`
    case "Chosen": return sql`run_id = ${runId} AND id = ${target.seatId}`
  }
}

/** The same condition as SQL text with `?` placeholders (Store/Queries.ts), and its parameters. */
export const seatTargetCondition = (runId: RunId, target: SeatTarget): readonly [string, ReadonlyArray<string | number>] => {
  switch (target._tag) {
    case "AnySeat": return ["run_id = ?", [runId]]
    case "InClass": return ["run_id = ? AND seat_class = ?", [runId, target.seatClass]]
    case "Chosen": return ["run_id = ? AND id = ?", [runId, target.seatId]]
  }
}

/** Bits [fromIndex, toIndex) set: segment i joins stop i to stop i + 1. */
export const segmentMask = (fromIndex: number, toIndex: number) => {
  let mask = 0
  for (let segment = fromIndex; segment < toIndex; segment++) mask += 2 ** segment
  return mask
}

/** A live order on a seat a tie is decided over (Orders/SeatPriority.ts), as `liveOwnersOn` reads it. */
export interface SeatOwnerRow {
  readonly id: OrderId
  readonly state: OrderState
  readonly customer_id: CustomerId
  readonly segment_mask: number
  readonly price_fen: number
  readonly held_at_ms: number
  readonly hold_expires_at_ms: number
  /** the owner's app install time ("HH:MM:SS"), NULL for a phone customer or a device that sent none */
  readonly device_install_time: string | null
  /** payment reservations of the order still pending (a card or gateway payment under way) */
  readonly live_payments: number
}

/** A hold's order row, as `insertHeld` writes it. */
export interface NewHold {
  readonly id: OrderId
  readonly customerId: CustomerId
  readonly runId: RunId
  readonly seatId: number
  readonly fromIndex: number
  readonly toIndex: number
  readonly mask: number
  readonly priceFen: FenTotal
  readonly heldAtMs: number
  readonly holdExpiresAtMs: number
}

export class OrdersRepo extends Effect.Service<OrdersRepo>()("OrdersRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const queries = yield* Queries
    const view = (where: Statement.Fragment) => sql<OrderView>`
      SELECT o.*, r.train_code, r.service_date, r.kind AS run_kind, s.coach, s.seat_code, s.seat_class,
             fs.station_code AS from_station, ts.station_code AS to_station, t.id AS ticket_id
      FROM orders o
      JOIN train_runs r ON r.id = o.run_id
      JOIN seats s ON s.id = o.seat_id
      JOIN run_stops fs ON fs.run_id = o.run_id AND fs.stop_index = o.from_index
      JOIN run_stops ts ON ts.run_id = o.run_id AND ts.stop_index = o.to_index
      LEFT JOIN tickets t ON t.order_id = o.id
      WHERE ${where}`
    return {
      /**
       * The seat lock: one conditional write takes the first seat of the run, among those `target` allows,
       * that is free on every segment of the journey. Two orders can never both set an overlapping bit. On
       * PostgreSQL the candidate is read `FOR UPDATE`: a claim that queued behind a concurrent one re-checks
       * that seat after its commit and moves on to the next free seat, rather than answering SoldOut.
       */
      claimAnySeat: (runId: RunId, mask: number, target: SeatTarget = anySeat) => {
        const [filter, parameters] = seatTargetCondition(runId, target)
        return queries.first<ClaimedSeat & { readonly coach: number; readonly seat_code: string }>(`UPDATE seats
          SET occupied_mask = occupied_mask | ?, version = version + 1
          WHERE id = (SELECT id FROM seats WHERE ${filter} AND (occupied_mask & ?) = 0 ORDER BY id LIMIT 1 ${queries.forUpdate})
            AND (occupied_mask & ?) = 0
          RETURNING id, seat_class, coach, seat_code`, [mask, ...parameters, mask, mask])
      },
      /**
       * Locks the rows of the seat's held orders on any segment of `mask` (PostgreSQL; in ID order, as every contest
       * for the seat takes them): no payment, cancel or expiry of them starts until the commit. Their IDs. At most
       * one order per segment is live on a seat, so `maxStopsPerTrain` bounds the list.
       */
      lockHeldOn: (seatId: number, mask: number) =>
        sql<{ id: OrderId }>`SELECT id FROM orders
          WHERE seat_id = ${seatId} AND state = 'held' AND (segment_mask & ${mask}) <> 0
          ORDER BY id LIMIT ${maxStopsPerTrain} ${forUpdate(sql)}`.pipe(Effect.map((rows) => rows.map((row) => row.id))),
      /**
       * The seat's live orders on any segment of `mask` with what a tie is decided by. Read in a statement of its own
       * after `lockHeldOn`: under Read Committed it sees every hold and payment that committed while a lock was awaited.
       */
      liveOwnersOn: (seatId: number, mask: number) =>
        sql<SeatOwnerRow>`SELECT o.id, o.state, o.customer_id, o.segment_mask, o.price_fen, o.held_at_ms, o.hold_expires_at_ms,
            c.device_install_time,
            (SELECT COUNT(*) FROM pending_transfers p WHERE p.order_id = o.id AND p.state = 'pending') AS live_payments
          FROM orders o JOIN customers c ON c.id = o.customer_id
          WHERE o.seat_id = ${seatId} AND o.state IN ('held', 'paid', 'issued') AND (o.segment_mask & ${mask}) <> 0
          ORDER BY o.id LIMIT ${maxStopsPerTrain}`,
      /**
       * A tie's winner takes the seat: the displaced holds' segments (`releasedMask`) given back and the journey's
       * taken in one conditional write, which changes no row when any other owner still holds a segment of `mask`.
       */
      takeOverSeat: (seatId: number, releasedMask: number, mask: number) =>
        queries.first<ClaimedSeat & { readonly coach: number; readonly seat_code: string }>(`UPDATE seats
          SET occupied_mask = (occupied_mask & ~CAST(? AS BIGINT)) | ?, version = version + 1
          WHERE id = ? AND ((occupied_mask & ~CAST(? AS BIGINT)) & ?) = 0
          RETURNING id, seat_class, coach, seat_code`, [releasedMask, mask, seatId, releasedMask, mask]),
      releaseSeat: (seatId: number, mask: number) =>
        sql`UPDATE seats SET occupied_mask = occupied_mask & ~CAST(${mask} AS BIGINT), version = version + 1 WHERE id = ${seatId}`,
      insert: (order: OrderRow) => sql`INSERT INTO orders ${sql.insert(order as any)}`,
      insertHeld: (hold: NewHold) =>
        queries.run(`INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state,
            held_at_ms, hold_expires_at_ms, paid_at_ms, issued_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'held', ?, ?, NULL, NULL)`,
          [hold.id, hold.customerId, hold.runId, hold.seatId, hold.fromIndex, hold.toIndex, hold.mask, hold.priceFen, hold.heldAtMs, hold.holdExpiresAtMs]),
      seat: (seatId: number) =>
        queries.first<{ coach: number; seat_code: string; seat_class: string }>("SELECT coach, seat_code, seat_class FROM seats WHERE id = ?", [seatId]),
      byIdForCustomer: (orderId: OrderId, customerId: CustomerId) =>
        view(sql`o.id = ${orderId} AND o.customer_id = ${customerId}`).pipe(Effect.map((rows) => rows[0])),
      byId: (orderId: OrderId) =>
        view(sql`o.id = ${orderId}`).pipe(Effect.map((rows) => rows[0])),
      /** Conditional state change: returns false when the order was not in `from` any more. */
      transition: (orderId: OrderId, from: OrderState, to: OrderState, stamp: { column: "paid_at_ms" | "issued_at_ms" | "closed_at_ms"; atMs: number }) =>
        sql`UPDATE orders SET state = ${to}, ${sql(stamp.column)} = ${stamp.atMs}
          WHERE id = ${orderId} AND state = ${from} RETURNING id`.pipe(Effect.map((rows) => rows.length === 1)),
      expiredHolds: (nowMs: number, limit: number) =>
        sql<{ id: OrderId; seat_id: number; segment_mask: number }>`SELECT id, seat_id, segment_mask FROM orders
          WHERE state = 'held' AND hold_expires_at_ms <= ${nowMs} ORDER BY hold_expires_at_ms, id LIMIT ${limit}`
    }
  })
}) {}
