/**
 * Orders (seeds 000, 004): a hold is "confirmed, pending payment" for `holdTtlMs`; the seat lock is a
 * single conditional write (Orders/Repo.ts claimAnySeat), so the first booking in the store's order wins —
 * except within a tie: a chosen seat held less than `seatClaimTieWindowMs` ago goes to the device whose app was
 * installed earlier (reference/ticketing/Orders/SeatPriority.ts).
 * Expired holds release their seat bits when the sweeper passes, when payment is attempted, or when a new
 * hold on their run finds no free seat. A hold takes any seat, any seat of a class ("any seat in class
 * X"), or the one seat the buyer chose on the seat map (004 [0062]); its price is its seat class's fare.
 * Nothing is held once the boarding stop's sales have closed (`SalesClosed`, reference/ticketing/Orders/SalesClose.ts).
 * An event is not held here: its places are sold as group orders only (reference/ticketing/GroupOrders.ts).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect, FiberRef } from "effect"
import { CalendarConfig } from "../Settings/Calendar.js"
import { HoldConfig } from "../Settings/Holds.js"
import { UnknownSeat, UnknownSeatClass } from "./Catalog/Errors.js"
import { FenTotal, InvalidSegment, OrderNotFound, SalesClosed, SeatTaken, SoldOut, TrainRunNotFound } from "../Domain.js"
import type { CustomerId, OrderId, RunId, StationCode } from "../Domain.js"
import { EventSoldAsGroupOrders } from "./GroupOrders/Api.js"
import { Ids } from "../Ids.js"
import { SeatInventory } from "./Inventory.js"
import { currentClaimStats, noClaimStats } from "./Inventory/Lanes.js"
import type { ClaimStats } from "./Inventory/Lanes.js"
import type { HoldRequest, Order } from "./Orders/Api.js"
import { anySeat, OrdersRepo, segmentMask } from "./Orders/Repo.js"
import type { HoldInput, OrderView, SeatTarget } from "./Orders/Repo.js"
import { journeyPricesOf, RunFactsCache } from "./Orders/Runs.js"
import type { RunFacts } from "./Orders/Runs.js"
import { onSaleAt, salesCloseAtMs } from "./Orders/SalesClose.js"
import { makeSeatPriority } from "./Orders/SeatPriority.js"
import type { TieWon } from "./Orders/SeatPriority.js"
import { LifecycleRepo } from "./Lifecycle/Repo.js"
import { Metrics } from "../operations/Metrics.js"
import { spanOptions } from "../Spans.js"

export const toOrder = (view: OrderView): Order => ({
  orderId: view.id,
  runId: view.run_id,
  trainCode: view.train_code as Order["trainCode"],
  serviceDate: view.service_date as Order["serviceDate"],
  fromStation: view.from_station as StationCode,
  toStation: view.to_station as StationCode,
  coach: view.coach,
  seatCode: view.seat_code,
  seatClass: view.seat_class,
  priceFen: FenTotal.make(Number(view.price_fen)),
  state: view.state,
  heldAtMs: Number(view.held_at_ms),
  holdExpiresAtMs: Number(view.hold_expires_at_ms),
  ticketId: view.ticket_id as Order["ticketId"]
})

/** The hold's answer carries what its claim cost (optional fields: a plain claim shows its attempts only). */
const claimFields = (stats: ClaimStats, tie: TieWon | undefined): Pick<Order, "claimAttempts" | "queuePosition" | "queueWaitMs" | "groupCommitSize" | "displacedHolds"> => ({
  claimAttempts: stats.writeAttempts,
  ...(tie === undefined ? {} : { displacedHolds: tie.displaced }),
  ...(stats.queuePosition === undefined ? {} : { queuePosition: stats.queuePosition }),
  ...(stats.queueWaitMs === undefined ? {} : { queueWaitMs: stats.queueWaitMs }),
  ...(stats.groupSize === undefined ? {} : { groupCommitSize: stats.groupSize })
})

interface Journey {
  readonly run: RunFacts
  readonly fromIndex: number
  readonly toIndex: number
  readonly pricesByClass: ReadonlyMap<string, FenTotal>
  /** from then on the boarding stop sells nothing (reference/ticketing/Orders/SalesClose.ts) */
  readonly salesCloseAtMs: number
}

export class Orders extends Effect.Service<Orders>()("Orders", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* OrdersRepo
    const runs = yield* RunFactsCache
    const ids = yield* Ids
    const config = yield* HoldConfig
    const calendar = yield* CalendarConfig
    const inventory = yield* SeatInventory
    const priority = yield* makeSeatPriority
    const metrics = yield* Metrics

    const journey = (runId: RunId, fromStation: StationCode, toStation: StationCode) =>
      Effect.gen(function* () {
        const run = yield* runs.get(runId)
        if (run === undefined) return yield* new TrainRunNotFound({ runId })
        const { stops } = run
        const [fromIndex, toIndex] = run.kind === "train"
          ? [stops.findIndex((stop) => stop.stationCode === fromStation), stops.findIndex((stop) => stop.stationCode === toStation)]
          // a showing or an event: one segment, both of whose stops are the venue
          : [fromStation === stops[0]!.stationCode ? 0 : -1, toStation === stops[1]?.stationCode ? 1 : -1]
        if (fromIndex < 0 || toIndex < 0) return yield* new InvalidSegment({ message: `run ${runId} does not stop at ${fromIndex < 0 ? fromStation : toStation}` })
        if (fromIndex >= toIndex) return yield* new InvalidSegment({ message: `${fromStation} is not before ${toStation} on run ${runId}` })
        const result: Journey = {
          run, fromIndex, toIndex, pricesByClass: journeyPricesOf(run, fromIndex, toIndex),
          salesCloseAtMs: salesCloseAtMs(calendar, run.kind, run.serviceDate, stops[fromIndex]!.departureMinuteOfDay)
        }
        return result
      })

    /** `SalesClosed` once the journey's boarding stop has stopped selling: no seat is taken on a run that has left. */
    const refuseAfterSalesClose = (runId: RunId, fromStation: StationCode, trip: Pick<Journey, "salesCloseAtMs">, nowMs: number) =>
      onSaleAt(nowMs, trip.salesCloseAtMs) ? Effect.void : Effect.fail(new SalesClosed({ runId, fromStation, closedAtMs: trip.salesCloseAtMs }))

    /** What the hold may take: a chosen seat (which must exist, in the class if one is named too), a class, or any seat. */
    const targetOf = (request: HoldRequest, trip: Journey) =>
      Effect.gen(function* () {
        if (request.seatClass !== undefined && !trip.pricesByClass.has(request.seatClass)) {
          return yield* new UnknownSeatClass({ runId: request.runId, seatClass: request.seatClass })
        }
        if (request.seat === undefined) {
          const target: SeatTarget = request.seatClass === undefined ? anySeat : { _tag: "InClass", seatClass: request.seatClass }
          return target
        }
        const { coach, seatCode } = request.seat
        const [seat] = yield* sql<{ id: number; seat_class: string }>`SELECT id, seat_class FROM seats
          WHERE run_id = ${request.runId} AND coach = ${coach} AND seat_code = ${seatCode}`
        if (!seat) return yield* new UnknownSeat({ runId: request.runId, coach, seatCode, message: "no such seat on this run" })
        if (request.seatClass !== undefined && seat.seat_class !== request.seatClass) {
          return yield* new UnknownSeat({ runId: request.runId, coach, seatCode, message: `the seat is ${seat.seat_class}, not ${request.seatClass}` })
        }
        const target: SeatTarget = { _tag: "Chosen", seatId: Number(seat.id) }
        return target
      })

    /**
     * The seat lock. The first booking wins: the store serialises the conditional writes, so a later
     * request for a seat an earlier one holds finds its bits set and is refused — unless it chose that seat
     * within the tie window of the hold that has it and its device was installed earlier (SeatPriority.ts).
     * `holdTtlMs` is the hold's time to pay: `holdTtlMs` of the settings unless the channel has its own (a remote
     * booking paid at a kiosk, `remoteBookingHoldTtlMs`); the hold sweeper expires every hold alike.
     */
    const hold = (customerId: CustomerId, request: HoldRequest, holdTtlMs: number = config.holdTtlMs) =>
      Effect.gen(function* () {
        const trip = yield* journey(request.runId, request.fromStation, request.toStation)
        if (trip.run.kind === "event") {
          return yield* new EventSoldAsGroupOrders({ runId: request.runId, message: "an event's places are sold as group orders only: POST /group-orders" })
        }
        const nowMs = yield* Clock.currentTimeMillis
        yield* refuseAfterSalesClose(request.runId, request.fromStation, trip, nowMs)
        const target = yield* targetOf(request, trip)
        const mask = segmentMask(trip.fromIndex, trip.toIndex)
        const orderId = yield* ids.orderId
        // a hold ends at the sales close at the latest: a seat is not paid for after its run stopped selling
        const holdExpiresAtMs = Math.min(nowMs + holdTtlMs, trip.salesCloseAtMs)
        const input: HoldInput = {
          id: orderId, customerId, runId: request.runId, target, fromIndex: trip.fromIndex, toIndex: trip.toIndex, mask,
          pricesByClass: trip.pricesByClass, heldAtMs: nowMs, holdExpiresAtMs
        }
        const take = inventory.hold(input)
        // built only when a hold is refused: an error value captures a stack trace, which a hold that wins need not pay for
        const refusal = () => request.seat === undefined
          ? new SoldOut({ runId: request.runId, fromStation: request.fromStation, toStation: request.toStation })
          : new SeatTaken({ runId: request.runId, coach: request.seat.coach, seatCode: request.seat.seatCode })
        yield* FiberRef.set(currentClaimStats, noClaimStats)
        // an expired hold keeps its bits until the sweeper passes: release this run's now and try once more
        const claimed = yield* Effect.flatMap(take, (first) => first !== undefined ? Effect.succeed(first)
          : Effect.flatMap(releaseExpiredConflicts(request.runId, mask, nowMs), (released) => released > 0 ? take : Effect.succeed(undefined)))
        // a chosen seat held a moment ago may still be this hold's: a tie goes to the earlier-installed device
        const tie = claimed === undefined && target._tag === "Chosen" ? yield* priority.takeOver(input, target.seatId) : undefined
        const seat = claimed ?? tie?.seat
        if (seat === undefined) return yield* Effect.fail(refusal())
        yield* metrics.holdMade
        const order: Order = {
          orderId, runId: request.runId, trainCode: trip.run.trainCode as Order["trainCode"], serviceDate: trip.run.serviceDate as Order["serviceDate"],
          fromStation: request.fromStation, toStation: request.toStation, coach: seat.coach, seatCode: seat.seatCode, seatClass: seat.seatClass,
          priceFen: seat.priceFen, state: "held", heldAtMs: nowMs, holdExpiresAtMs, ticketId: null
        }
        return { ...order, ...claimFields(yield* FiberRef.get(currentClaimStats), tie) }
      }).pipe(Effect.withSpan("Orders.hold", spanOptions))

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
    }).pipe(Effect.withSpan("Orders.releaseExpiredHolds", spanOptions))

    return { hold, getOrder, journey, refuseAfterSalesClose, expireHold, releaseExpiredHolds } as const
  }),
  dependencies: [OrdersRepo.Default, RunFactsCache.Default, Ids.Default, LifecycleRepo.Default]
}) {}
