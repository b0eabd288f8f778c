/**
 * Orders (seeds 000, 004): a hold is "confirmed, pending payment" for `holdTtlMs`; the seat lock is a
 * single conditional write (Orders/Repo.ts claimAnySeat), so the first booking in the store's order wins.
 * Expired holds release their seat bits when the sweeper passes, when payment is attempted, or when a new
 * hold on their run finds no free seat.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { ServerConfig } from "./Config.js"
import { InvalidSegment, OrderNotFound, SoldOut, TrainRunNotFound } from "./Domain.js"
import type { CustomerId, OrderId, RunId, StationCode } from "./Domain.js"
import { Ids } from "./Ids.js"
import { SeatInventory } from "./Inventory.js"
import type { Order } from "./Orders/Api.js"
import { OrdersRepo, segmentMask } from "./Orders/Repo.js"
import type { OrderView } from "./Orders/Repo.js"

export const toOrder = (view: OrderView): Order => ({
  orderId: view.id,
  runId: view.run_id,
  trainCode: view.train_code as Order["trainCode"],
  serviceDate: view.service_date as Order["serviceDate"],
  fromStation: view.from_station as StationCode,
  toStation: view.to_station as StationCode,
  coach: view.coach,
  seatCode: view.seat_code,
  priceFen: Number(view.price_fen),
  state: view.state,
  heldAtMs: Number(view.held_at_ms),
  holdExpiresAtMs: Number(view.hold_expires_at_ms),
  ticketId: view.ticket_id as Order["ticketId"]
})

interface Journey { readonly fromIndex: number; readonly toIndex: number; readonly priceFen: number }

export class Orders extends Effect.Service<Orders>()("Orders", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* OrdersRepo
    const ids = yield* Ids
    const config = yield* ServerConfig
    const inventory = yield* SeatInventory

    const journey = (runId: RunId, fromStation: StationCode, toStation: StationCode) =>
      Effect.gen(function* () {
        const stops = yield* sql<{ stop_index: number; station_code: string; fare_fen_to_next: number }>`
          SELECT stop_index, station_code, fare_fen_to_next FROM run_stops WHERE run_id = ${runId} ORDER BY stop_index`
        if (stops.length === 0) return yield* new TrainRunNotFound({ runId })
        const fromIndex = stops.findIndex((stop) => stop.station_code === fromStation)
        const toIndex = stops.findIndex((stop) => stop.station_code === toStation)
        if (fromIndex < 0 || toIndex < 0) return yield* new InvalidSegment({ message: `run ${runId} does not stop at ${fromIndex < 0 ? fromStation : toStation}` })
        if (fromIndex >= toIndex) return yield* new InvalidSegment({ message: `${fromStation} is not before ${toStation} on run ${runId}` })
        const priceFen = stops.slice(fromIndex, toIndex).reduce((sum, stop) => sum + Number(stop.fare_fen_to_next), 0)
        const result: Journey = { fromIndex, toIndex, priceFen }
        return result
      })

    const hold = (customerId: CustomerId, request: { runId: RunId; fromStation: StationCode; toStation: StationCode }) =>
      Effect.gen(function* () {
        const trip = yield* journey(request.runId, request.fromStation, request.toStation)
        const mask = segmentMask(trip.fromIndex, trip.toIndex)
        const orderId = yield* ids.orderId
        const nowMs = yield* Clock.currentTimeMillis
        const claim = inventory.claim(request.runId, mask, (seatId) => repo.insert({
          id: orderId, customer_id: customerId, run_id: request.runId, seat_id: seatId,
          from_index: trip.fromIndex, to_index: trip.toIndex, segment_mask: mask, price_fen: trip.priceFen,
          state: "held", held_at_ms: nowMs, hold_expires_at_ms: nowMs + config.holdTtlMs, paid_at_ms: null, issued_at_ms: null
        })).pipe(Effect.flatMap((seatId) => seatId === undefined ? Effect.fail(new SoldOut(request)) : Effect.void))
        // an expired hold keeps its bits until the sweeper passes: release this run's now and try once more
        yield* claim.pipe(Effect.catchTag("SoldOut", (soldOut) =>
          Effect.flatMap(releaseExpiredConflicts(request.runId, mask, nowMs), (released) => released > 0 ? claim : Effect.fail(soldOut))))
        const view = yield* repo.byId(orderId)
        if (!view) return yield* Effect.dieMessage(`order ${orderId} vanished after its hold committed`)
        return toOrder(view)
      }).pipe(Effect.withSpan("Orders.hold"))

    const getOrder = (customerId: CustomerId, orderId: OrderId) =>
      Effect.gen(function* () {
        const view = yield* repo.byIdForCustomer(orderId, customerId)
        if (!view) return yield* new OrderNotFound({ orderId })
        return toOrder(view)
      })

    /** Expire one hold and give its segments back; false when it had already left `held`. Call inside a transaction. */
    const expireHold = (order: { id: OrderId; seat_id: number; segment_mask: number }, nowMs: number) =>
      Effect.gen(function* () {
        const expired = yield* repo.transition(order.id, "held", "expired", { column: "closed_at_ms", atMs: nowMs })
        if (expired) yield* repo.releaseSeat(order.seat_id, Number(order.segment_mask))
        return expired
      })

    /** The run's expired holds on any segment of `mask`, released in a transaction of their own. */
    const releaseExpiredConflicts = (runId: RunId, mask: number, nowMs: number) =>
      sql.withTransaction(Effect.gen(function* () {
        const due = yield* sql<{ id: OrderId; seat_id: number; segment_mask: number }>`SELECT id, seat_id, segment_mask
          FROM orders WHERE run_id = ${runId} AND state = 'held' AND hold_expires_at_ms <= ${nowMs}
            AND (segment_mask & ${mask}) <> 0
          ORDER BY hold_expires_at_ms, id LIMIT ${config.holdSweepBatchSize}`
        let released = 0
        for (const order of due) if (yield* expireHold(order, nowMs)) released++
        return released
      }))

    const releaseExpiredHolds = Effect.gen(function* () {
      const nowMs = yield* Clock.currentTimeMillis
      return yield* sql.withTransaction(Effect.gen(function* () {
        const due = yield* repo.expiredHolds(nowMs, config.holdSweepBatchSize)
        let released = 0
        for (const order of due) if (yield* expireHold(order, nowMs)) released++
        return released
      }))
    }).pipe(Effect.withSpan("Orders.releaseExpiredHolds"))

    return { hold, getOrder, journey, expireHold, releaseExpiredHolds } as const
  }),
  dependencies: [OrdersRepo.Default, Ids.Default]
}) {}
