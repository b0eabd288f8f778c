/**
 * The upstream port (seed 002: ticket storage synced from the ticket terminals; seed 004: paid seats synced
 * to the cinema chain's system). Two directions, both through the store's own guarantees:
 *
 * - inbound: a seat an upstream terminal sold is claimed here with the same conditional write a hold uses
 *   (`occupied_mask & m = 0`); a seat already held or sold here is a conflict, recorded and answered 409 —
 *   never a second sale. A sale sent again is found by the upstream's sale ID.
 * - outbound: issuing a ticket writes an `upstream_outbox` row in the issue transaction; a sweeper pushes it,
 *   at least once (a push whose acknowledgement was lost, or a process killed after the push, pushes again),
 *   and the upstream drops duplicates by the push ID (the order ID).
 *
 * `Upstream` (Upstream/Port.ts) is the port; the stand-in every test and `chunyun serve` use is
 * reference/Simulated/Upstream.ts.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import type { UpstreamSettings } from "../Settings/Upstream.js"
import { UpstreamConfig } from "../Settings/Upstream.js"
import { FenTotal, InvalidSegment, TrainRunNotFound } from "../Domain.js"
import type { OrderId } from "../Domain.js"
import { Orders } from "../ticketing/Orders.js"
import { OrdersRepo, segmentMask } from "../ticketing/Orders/Repo.js"
import { UpstreamSaleMismatch, UpstreamSeatConflict, UpstreamSeatUnknown } from "./Upstream/Api.js"
import type { UpstreamReport, UpstreamSale } from "./Upstream/Api.js"
import { forUpdate } from "../Store/Dialect.js"
import { Upstream } from "./Upstream/Port.js"
import { spanOptions } from "../Spans.js"

/** Inside the issue transaction: the issued seat joins the outbound queue, when upstream sync is on. */
export const enqueueUpstreamPush = (sql: SqlClient.SqlClient, settings: UpstreamSettings, orderId: OrderId, nowMs: number) =>
  settings.upstreamSync
    ? sql`INSERT INTO upstream_outbox (order_id, created_at_ms, next_attempt_at_ms) VALUES (${orderId}, ${nowMs}, ${nowMs})`
    : Effect.void

type ClaimOutcome =
  | { readonly kind: "claimed"; readonly firstReceipt: boolean }
  | { readonly kind: "conflict" }
  | { readonly kind: "mismatch" }

export class UpstreamSync extends Effect.Service<UpstreamSync>()("UpstreamSync", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* UpstreamConfig
    const upstream = yield* Upstream
    const orders = yield* Orders
    const ordersRepo = yield* OrdersRepo

    const locate = (sale: UpstreamSale) =>
      Effect.gen(function* () {
        const stops = yield* sql<{ stop_index: number; station_code: string }>`SELECT stop_index, station_code FROM run_stops
          WHERE run_id = ${sale.runId} ORDER BY stop_index`
        if (stops.length === 0) return yield* new TrainRunNotFound({ runId: sale.runId })
        const fromIndex = stops.findIndex((stop) => stop.station_code === sale.fromStation)
        const toIndex = stops.findIndex((stop) => stop.station_code === sale.toStation)
        if (fromIndex < 0 || toIndex < 0 || fromIndex >= toIndex) {
          return yield* new InvalidSegment({ message: `run ${sale.runId} has no journey ${sale.fromStation} → ${sale.toStation}` })
        }
        const [seat] = yield* sql<{ id: number }>`SELECT id FROM seats WHERE run_id = ${sale.runId} AND coach = ${sale.coach}
          AND seat_code = ${sale.seatCode}`
        if (!seat) return yield* new UpstreamSeatUnknown({ runId: sale.runId, coach: sale.coach, seatCode: sale.seatCode })
        return { seatId: Number(seat.id), fromIndex, toIndex, mask: segmentMask(fromIndex, toIndex) }
      })

    /** One transaction: a replay answers as before; otherwise the conditional write decides, and a conflict is kept. */
    const claim = (sale: UpstreamSale, nowMs: number) =>
      sql.withTransaction(Effect.gen(function* () {
        const place = yield* locate(sale)
        const [known] = yield* sql<{ state: string; seat_id: number; segment_mask: number }>`SELECT state, seat_id, segment_mask
          FROM upstream_sales WHERE sale_id = ${sale.saleId} ${forUpdate(sql)}`
        if (known) {
          if (Number(known.seat_id) !== place.seatId || Number(known.segment_mask) !== place.mask) return { kind: "mismatch" } as ClaimOutcome
          return (known.state === "claimed" ? { kind: "claimed", firstReceipt: false } : { kind: "conflict" }) as ClaimOutcome
        }
        // an expired hold on this seat still has its bits until the sweeper passes: give them back first
        const expired = yield* sql<{ id: OrderId; seat_id: number; segment_mask: number }>`SELECT id, seat_id, segment_mask FROM orders
          WHERE seat_id = ${place.seatId} AND state = 'held' AND hold_expires_at_ms <= ${nowMs} AND (segment_mask & ${place.mask}) <> 0`
        for (const order of expired) yield* orders.expireHold(order, nowMs)
        const won = yield* sql`UPDATE seats SET occupied_mask = occupied_mask | ${place.mask}, version = version + 1
          WHERE id = ${place.seatId} AND (occupied_mask & ${place.mask}) = 0 RETURNING id`
        const state = won.length === 1 ? "claimed" : "conflict"
        yield* sql`INSERT INTO upstream_sales (sale_id, run_id, seat_id, from_index, to_index, segment_mask, state, received_at_ms)
          VALUES (${sale.saleId}, ${sale.runId}, ${place.seatId}, ${place.fromIndex}, ${place.toIndex}, ${place.mask}, ${state}, ${nowMs})`
        return (state === "claimed" ? { kind: "claimed", firstReceipt: true } : { kind: "conflict" }) as ClaimOutcome
      }))

    const receiveSale = (sale: UpstreamSale) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const outcome = yield* claim(sale, nowMs)
        if (outcome.kind === "mismatch") return yield* new UpstreamSaleMismatch({ saleId: sale.saleId })
        if (outcome.kind === "conflict") {
          return yield* new UpstreamSeatConflict({ saleId: sale.saleId, runId: sale.runId, coach: sale.coach, seatCode: sale.seatCode })
        }
        return { saleId: sale.saleId, state: "claimed" as const, firstReceipt: outcome.firstReceipt }
      }).pipe(Effect.withSpan("UpstreamSync.receiveSale", spanOptions))

    /** Take the row for `upstreamPushLeaseMs`, so another process does not push it meanwhile; false if someone else has it. */
    const lease = (orderId: OrderId, nowMs: number) =>
      Effect.map(sql`UPDATE upstream_outbox SET attempts = attempts + 1, next_attempt_at_ms = ${nowMs + config.upstreamPushLeaseMs}
        WHERE order_id = ${orderId} AND pushed_at_ms IS NULL AND abandoned_at_ms IS NULL AND next_attempt_at_ms <= ${nowMs}
        RETURNING attempts`, (rows) => rows.length === 1 ? Number((rows[0] as { attempts: number }).attempts) : undefined)

    const pushOne = (orderId: OrderId, nowMs: number) =>
      Effect.gen(function* () {
        const attempts = yield* lease(orderId, nowMs)
        if (attempts === undefined) return false
        const order = yield* ordersRepo.byId(orderId)
        if (!order) return yield* Effect.dieMessage(`upstream outbox names order ${orderId}, which does not exist`)
        const pushed = yield* Effect.either(upstream.push({
          pushId: orderId, runId: order.run_id, trainCode: order.train_code, serviceDate: order.service_date,
          coach: order.coach, seatCode: order.seat_code, fromStation: order.from_station, toStation: order.to_station,
          priceFen: FenTotal.make(Number(order.price_fen))
        }))
        if (pushed._tag === "Right") {
          yield* sql`UPDATE upstream_outbox SET pushed_at_ms = ${nowMs} WHERE order_id = ${orderId}`
          return true
        }
        if (attempts >= config.maxUpstreamPushAttempts) {
          yield* sql`UPDATE upstream_outbox SET abandoned_at_ms = ${nowMs} WHERE order_id = ${orderId}`
          yield* Effect.logError(`upstream push of order ${orderId} abandoned after ${attempts} attempts: ${pushed.left.reason}`)
        } else {
          yield* sql`UPDATE upstream_outbox SET next_attempt_at_ms = ${nowMs + config.upstreamRetryBackoffMs} WHERE order_id = ${orderId}`
        }
        return false
      })

    /** The outbound sweeper's pass: push every due row of one batch; returns how many the upstream acknowledged. */
    const pushDue = Effect.gen(function* () {
      const nowMs = yield* Clock.currentTimeMillis
      const due = yield* sql<{ order_id: OrderId }>`SELECT order_id FROM upstream_outbox
        WHERE pushed_at_ms IS NULL AND abandoned_at_ms IS NULL AND next_attempt_at_ms <= ${nowMs}
        ORDER BY next_attempt_at_ms, order_id LIMIT ${config.upstreamPushBatchSize}`
      let acknowledged = 0
      for (const row of due) if (yield* pushOne(row.order_id, nowMs)) acknowledged++
      return acknowledged
    }).pipe(Effect.withSpan("UpstreamSync.pushDue", spanOptions))

    const report = Effect.gen(function* () {
      const [claimed] = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM upstream_sales WHERE state = 'claimed'`
      const conflicts = yield* sql<{ sale_id: string; run_id: string; seat_id: number; received_at_ms: number }>`SELECT sale_id, run_id, seat_id, received_at_ms
        FROM upstream_sales WHERE state = 'conflict' ORDER BY received_at_ms, sale_id`
      const [outbox] = yield* sql<{ pending: number | null; pushed: number | null; abandoned: number | null }>`SELECT
          SUM(CASE WHEN pushed_at_ms IS NULL AND abandoned_at_ms IS NULL THEN 1 ELSE 0 END) AS pending,
          SUM(CASE WHEN pushed_at_ms IS NOT NULL THEN 1 ELSE 0 END) AS pushed,
          SUM(CASE WHEN abandoned_at_ms IS NOT NULL THEN 1 ELSE 0 END) AS abandoned
        FROM upstream_outbox`
      const result: UpstreamReport = {
        claimedSales: Number(claimed?.n ?? 0),
        conflicts: conflicts.map((row) => ({ saleId: row.sale_id, runId: row.run_id, seatId: Number(row.seat_id), receivedAtMs: Number(row.received_at_ms) })),
        pendingPushes: Number(outbox?.pending ?? 0),
        pushedSeats: Number(outbox?.pushed ?? 0),
        abandonedPushes: Number(outbox?.abandoned ?? 0)
      }
      return result
    })

    return { receiveSale, pushDue, report } as const
  })
}) {}
