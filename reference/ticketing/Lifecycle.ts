/**
 * The order lifecycle after a hold (seed 002 [0020], [0082]: "change or cancel a ticket order"; [0100]: the
 * cancel record is kept; seed 000 [0024], [0035]: the account server moves money between the customer's
 * and the centre's accounts):
 * - cancel: a hold is given up (seat released, no money); a paid or issued order is refunded: seat
 *   released, ticket voided (a gate refuses it), the price less a fee by time before departure returned
 *   by reversing the payments behind it; the fee stays with the centre.
 * - change (改签): an issued train ticket moves to another train run, date or segment (one still on sale) keeping its
 *   payment; the fare difference is charged from the wallet, or returned by reversal less the refund fee of the
 *   cancellation's tier (by time before the old journey's departure, as 12306 charges it on the difference), which
 *   stays with the centre; the old order stays as `changed`. Only trains are changed: a showing's or an event's
 *   ticket is cancelled and bought anew, and a train ticket never becomes a seat at a venue.
 * Each runs in one transaction that first locks the order's row, with an idempotency key as payments have,
 * and writes an `order_events` record.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect, Option } from "effect"
import { centreAccountId, LedgerRepo, walletAccountId } from "../payments/Accounts/Repo.js"
import { departureEpochMs } from "../delivery/Checkin.js"
import { CalendarConfig } from "../Settings/Calendar.js"
import { LifecycleConfig } from "../Settings/Lifecycle.js"
import { WalletConfig } from "../Settings/Wallet.js"
import { Customers } from "../customers/Customers.js"
import { Invoices } from "../customers/Customers/Invoices.js"
import { FenDelta, FenTotal, InsufficientFunds, OrderNotFound, SoldOut } from "../Domain.js"
import type { CustomerId, OrderId, RunId, StationCode, TransferId } from "../Domain.js"
import { Ids } from "../Ids.js"
import { idempotent, lookupKey } from "../Idempotency.js"
import { SeatInventory } from "./Inventory.js"
import { Issuance } from "../delivery/Issuance.js"
import { CancelResult as CancelResultSchema, ChangeResult as ChangeResultSchema } from "./Lifecycle/Api.js"
import type { CancelResult, ChangeResult, OrderEvent, Statement, StatementEntry } from "./Lifecycle/Api.js"
import { UnknownSeatClass } from "./Catalog/Errors.js"
import { ChangeLimitReached, OrderNotCancellable, OrderNotChangeable, PaymentPasswordRequired } from "./Lifecycle/Errors.js"
import { refundFeeFen } from "./Lifecycle/Fees.js"
import { LifecycleRepo } from "./Lifecycle/Repo.js"
import type { ChainPayment, OrderEventRow } from "./Lifecycle/Repo.js"
import { Orders, toOrder } from "./Orders.js"
import { Payments } from "../payments/Payments.js"
import { OrdersRepo, segmentMask } from "./Orders/Repo.js"
import type { OrderView } from "./Orders/Repo.js"
import { spanOptions } from "../Spans.js"

export interface ChangeTarget {
  readonly runId: RunId
  readonly fromStation: StationCode
  readonly toStation: StationCode
  readonly paymentPassword?: string | undefined
  readonly reason?: string | undefined
}

/** The new journey of a change: its segment, its fare in the old order's class, and when its boarding stop stops selling. */
interface ChangeTrip {
  readonly fromIndex: number
  readonly toIndex: number
  readonly priceFen: FenTotal
  readonly seatClass: string
  readonly salesCloseAtMs: number
}

const toEvent = (row: OrderEventRow): OrderEvent => ({
  orderId: row.order_id, kind: row.kind, actor: row.actor, reason: row.reason,
  priceFen: FenTotal.make(Number(row.price_fen)), feeFen: FenTotal.make(Number(row.fee_fen)), refundFen: FenTotal.make(Number(row.refund_fen)),
  chargeFen: FenTotal.make(Number(row.charge_fen)), relatedOrderId: row.related_order_id, atMs: Number(row.at_ms)
})

const customerActor = (customerId: CustomerId) => `customer:${customerId}`

export class Lifecycle extends Effect.Service<Lifecycle>()("Lifecycle", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* LifecycleRepo
    const ordersRepo = yield* OrdersRepo
    const orders = yield* Orders
    const ledger = yield* LedgerRepo
    const customers = yield* Customers
    const invoices = yield* Invoices
    const issuance = yield* Issuance
    const paymentPorts = yield* Payments
    const inventory = yield* SeatInventory
    const ids = yield* Ids
    const calendarSettings = yield* CalendarConfig
    const lifecycleSettings = yield* LifecycleConfig
    const walletSettings = yield* WalletConfig

    const departureMs = (runId: RunId, stopIndex: number) =>
      Effect.gen(function* () {
        const boarding = yield* repo.boarding(runId, stopIndex)
        if (!boarding) return yield* Effect.dieMessage(`run ${runId} has no stop ${stopIndex}`)
        return departureEpochMs(boarding.service_date, Number(boarding.departure_minute_of_day), calendarSettings.utcOffsetMinutes)
      })

    /**
     * The payments behind an order, asserting (pair assertion of the write path) that what they left
     * unreversed is exactly the order's price: every fen of a fare is paid once and returned at most once.
     */
    const paymentsBehind = (order: OrderView, changeCount: number) =>
      Effect.gen(function* () {
        const payments = yield* repo.chainPayments(order.id, changeCount)
        // a change to a cheaper journey kept its fee out of the difference it returned: the payments still hold it
        const feesKeptFen = changeCount > 0 ? yield* repo.chainChangeFees(order.id, changeCount) : FenTotal.make(0)
        const netFen = payments.reduce((sum, payment) => sum + payment.unreversedFen, 0) - feesKeptFen
        if (netFen !== Number(order.price_fen)) {
          return yield* Effect.dieMessage(`order ${order.id} costs ${order.price_fen} fen but its payments hold ${netFen} beyond the fees kept`)
        }
        return payments
      })

    /** Return `amountFen` to the accounts that paid, most recent payment first; one reversal per payment touched. */
    const returnToPayers = (
      payments: ReadonlyArray<ChainPayment>, amountFen: FenTotal, purpose: "order-refund" | "change-refund", orderId: OrderId, nowMs: number
    ) =>
      Effect.gen(function* () {
        const transferIds: Array<TransferId> = []
        let leftFen = amountFen
        for (const payment of payments) {
          if (leftFen <= 0 || payment.unreversedFen <= 0) continue
          const partFen = FenTotal.make(Math.min(leftFen, payment.unreversedFen))
          const id = yield* ids.transferId
          yield* repo.reverse({ id, payment, amountFen: partFen, purpose, orderId, nowMs })
          transferIds.push(id)
          leftFen = FenTotal.make(leftFen - partFen)
        }
        if (leftFen !== 0) return yield* Effect.dieMessage(`order ${orderId}: ${leftFen} fen of a return exceed its payments`)
        return transferIds
      })

    const cancelHold = (order: OrderView, reason: string | null, nowMs: number) =>
      Effect.gen(function* () {
        if (!(yield* ordersRepo.transition(order.id, "held", "cancelled", { column: "closed_at_ms", atMs: nowMs }))) {
          return yield* Effect.dieMessage(`order ${order.id} left 'held' under its own lock`)
        }
        yield* ordersRepo.releaseSeat(order.seat_id, Number(order.segment_mask))
        yield* repo.insertEvent({
          order_id: order.id, customer_id: order.customer_id, kind: "cancelled", actor: customerActor(order.customer_id), reason,
          price_fen: Number(order.price_fen), fee_fen: 0, refund_fen: 0, charge_fen: 0, related_order_id: null, at_ms: nowMs
        })
        const result: CancelResult = {
          orderId: order.id, state: "cancelled", priceFen: FenTotal.make(Number(order.price_fen)), feeFen: FenTotal.make(0), refundFen: FenTotal.make(0),
          refundTransferIds: [], ticketVoided: false, atMs: nowMs
        }
        return result
      })

    const refund = (order: OrderView, reason: string | null, nowMs: number) =>
      Effect.gen(function* () {
        const refusal = (why: string) => new OrderNotCancellable({ orderId: order.id, state: order.state, reason: why })
        const priceFen = FenTotal.make(Number(order.price_fen))
        const feeFen = refundFeeFen(lifecycleSettings, priceFen, (yield* departureMs(order.run_id, order.from_index)) - nowMs)
        if (feeFen === undefined) return yield* refusal("the train has left: no refund after departure")
        // a paid order's ticket is not issued yet; the issuer locks the order and skips it once refunded
        const voiding = order.state === "issued" ? yield* repo.voidTicket(order.id, nowMs) : "no-ticket"
        if (voiding === "admitted") return yield* refusal("the ticket was used at a gate: no refund after admission")
        if (voiding === "already-voided") return yield* Effect.dieMessage(`issued order ${order.id} has a voided ticket`)
        if (!(yield* ordersRepo.transition(order.id, order.state, "refunded", { column: "closed_at_ms", atMs: nowMs }))) {
          return yield* Effect.dieMessage(`order ${order.id} left '${order.state}' under its own lock`)
        }
        yield* ordersRepo.releaseSeat(order.seat_id, Number(order.segment_mask))
        const link = yield* repo.changeLink(order.id)
        const payments = yield* paymentsBehind(order, link?.change_count ?? 0)
        const refundFen = FenTotal.make(priceFen - feeFen)
        const refundTransferIds = yield* returnToPayers(payments, refundFen, "order-refund", order.id, nowMs)
        yield* invoices.afterReturn(order.customer_id, refundFen)
        yield* repo.insertEvent({
          order_id: order.id, customer_id: order.customer_id, kind: "refunded", actor: customerActor(order.customer_id), reason,
          price_fen: priceFen, fee_fen: feeFen, refund_fen: refundFen, charge_fen: 0, related_order_id: null, at_ms: nowMs
        })
        const result: CancelResult = {
          orderId: order.id, state: "refunded", priceFen, feeFen, refundFen, refundTransferIds, ticketVoided: voiding === "voided", atMs: nowMs
        }
        return result
      })

    const cancelLocked = (customerId: CustomerId, orderId: OrderId, reason: string | null, nowMs: number) =>
      Effect.gen(function* () {
        const order = yield* ordersRepo.byIdForCustomer(orderId, customerId)
        if (!order) return yield* new OrderNotFound({ orderId })
        if (order.state === "held") return yield* cancelHold(order, reason, nowMs)
        if (order.state === "paid" || order.state === "issued") return yield* refund(order, reason, nowMs)
        return yield* new OrderNotCancellable({ orderId, state: order.state, reason: `a ${order.state} order cannot be cancelled` })
      })

    /** Cancel the customer's own order: a hold without money, a paid or issued order with a refund. */
    const cancel = (customerId: CustomerId, orderId: OrderId, key: string, reason: string | undefined) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const request = { endpoint: "cancel", orderId, reason: reason ?? null }
        const result = yield* repo.lockOrder(orderId).pipe(
          Effect.zipRight(idempotent({ scope: customerId, key, request, schema: CancelResultSchema, nowMs },
            cancelLocked(customerId, orderId, reason ?? null, nowMs))),
          sql.withTransaction)
        // the outside half of a card or gateway refund, after the ledger's reversal committed (once per payment)
        if (result.state === "refunded") yield* paymentPorts.returnToPayer(orderId)
        return result
      }).pipe(Effect.withSpan("Lifecycle.cancel", spanOptions))

    const newJourneyOrder = (
      customerId: CustomerId, old: OrderView, target: ChangeTarget, trip: ChangeTrip,
      changeCount: number, nowMs: number
    ) =>
      Effect.gen(function* () {
        const newOrderId = yield* ids.orderId
        const mask = segmentMask(trip.fromIndex, trip.toIndex)
        const seatId = yield* inventory.claim(target.runId, mask, (seat) => ordersRepo.insert({
          id: newOrderId, customer_id: customerId, run_id: target.runId, seat_id: seat,
          from_index: trip.fromIndex, to_index: trip.toIndex, segment_mask: mask, price_fen: trip.priceFen,
          state: "paid", held_at_ms: nowMs, hold_expires_at_ms: nowMs, paid_at_ms: nowMs, issued_at_ms: null
        }).pipe(Effect.zipRight(repo.linkChange(newOrderId, old.id, changeCount))), { _tag: "InClass", seatClass: trip.seatClass }).pipe(
          // the change claims inside its own transaction, where no variant waits in line (Inventory/Lanes.ts)
          Effect.catchTag("HoldQueueFull", (full) => Effect.die(full)))
        if (seatId === undefined) {
          return yield* new SoldOut({ runId: target.runId, fromStation: target.fromStation, toStation: target.toStation })
        }
        return newOrderId
      })

    const changeLocked = (
      customerId: CustomerId, orderId: OrderId, target: ChangeTarget, trip: ChangeTrip, nowMs: number
    ) =>
      Effect.gen(function* () {
        const old = yield* ordersRepo.byIdForCustomer(orderId, customerId)
        if (!old) return yield* new OrderNotFound({ orderId })
        const refusal = (why: string) => new OrderNotChangeable({ orderId, state: old.state, reason: why })
        if (old.state !== "issued") return yield* refusal(`only an issued ticket can be changed, this order is ${old.state}`)
        const changes = (yield* repo.changeLink(orderId))?.change_count ?? 0
        if (changes >= lifecycleSettings.maxChangesPerTicket) {
          return yield* new ChangeLimitReached({ orderId, changes, maxChanges: lifecycleSettings.maxChangesPerTicket })
        }
        const oldDepartureMs = yield* departureMs(old.run_id, old.from_index)
        if (nowMs >= oldDepartureMs) return yield* refusal("the train has left")
        // the new journey is a sale like any other: its boarding stop must still sell
        yield* orders.refuseAfterSalesClose(target.runId, target.fromStation, trip, nowMs)
        const voiding = yield* repo.voidTicket(orderId, nowMs)
        if (voiding === "admitted") return yield* refusal("the ticket was used at a gate")
        if (voiding !== "voided") return yield* Effect.dieMessage(`issued order ${orderId} had no live ticket to void (${voiding})`)
        if (!(yield* ordersRepo.transition(orderId, "issued", "changed", { column: "closed_at_ms", atMs: nowMs }))) {
          return yield* Effect.dieMessage(`order ${orderId} left 'issued' under its own lock`)
        }
        // released first, so the new journey may take the same seat on an overlapping segment
        yield* ordersRepo.releaseSeat(old.seat_id, Number(old.segment_mask))
        const newOrderId = yield* newJourneyOrder(customerId, old, target, trip, changes + 1, nowMs)

        const differenceFen = FenDelta.make(trip.priceFen - Number(old.price_fen))
        const chargedFen = FenTotal.make(Math.max(0, differenceFen))
        // a cheaper journey returns the difference less the fee a cancellation would keep on it now
        const feeFen = differenceFen < 0
          ? refundFeeFen(lifecycleSettings, FenTotal.make(-differenceFen), oldDepartureMs - nowMs)
          : FenTotal.make(0)
        if (feeFen === undefined) return yield* refusal("no refund is due this close to departure")
        const refundedFen = FenTotal.make(Math.max(0, -differenceFen) - feeFen)
        const transferIds: Array<TransferId> = []
        if (differenceFen > 0) {
          const id = yield* ids.transferId
          const moved = yield* ledger.transfer({
            id, debit: walletAccountId(customerId), credit: centreAccountId, amountFen: chargedFen,
            purpose: "change-payment", orderId: newOrderId, nowMs
          })
          if (!moved) return yield* new InsufficientFunds({ balanceFen: yield* ledger.walletBalance(customerId), neededFen: chargedFen })
          transferIds.push(id)
          yield* invoices.addSpend(customerId, differenceFen)
        } else if (refundedFen > 0) {
          const payments = yield* paymentsBehind(old, changes)
          transferIds.push(...(yield* returnToPayers(payments, refundedFen, "change-refund", newOrderId, nowMs)))
          yield* invoices.afterReturn(customerId, refundedFen)
        }
        // the fee is on the old order's record: the new order's payments hold it beyond its price (paymentsBehind)
        const common = { customer_id: customerId, actor: customerActor(customerId), reason: target.reason ?? null, refund_fen: refundedFen, charge_fen: chargedFen, at_ms: nowMs }
        yield* repo.insertEvent({ ...common, order_id: orderId, kind: "changed", price_fen: Number(old.price_fen), fee_fen: feeFen, related_order_id: newOrderId })
        yield* repo.insertEvent({ ...common, order_id: newOrderId, kind: "changed-in", price_fen: trip.priceFen, fee_fen: 0, related_order_id: orderId })
        const newOrder = yield* ordersRepo.byId(newOrderId)
        if (!newOrder) return yield* Effect.dieMessage(`order ${newOrderId} vanished inside its own transaction`)
        yield* paymentsBehind(newOrder, changes + 1)
        yield* issuance.enqueue(newOrderId, nowMs)

        const result: ChangeResult = {
          oldOrderId: orderId, newOrder: toOrder(newOrder), fareDifferenceFen: differenceFen, chargedFen, refundedFen, feeFen, transferIds, atMs: nowMs
        }
        return result
      })

    const withCurrentNewOrder = (result: ChangeResult) =>
      Effect.map(ordersRepo.byId(result.newOrder.orderId), (view): ChangeResult => ({ ...result, newOrder: view ? toOrder(view) : result.newOrder }))

    /**
     * Change an issued order to another run, date or segment. A replay of a stored key answers before the
     * password is checked, as a payment does; the password is asked only when the new journey costs more.
     */
    const change = (customerId: CustomerId, orderId: OrderId, key: string, target: ChangeTarget) =>
      Effect.gen(function* () {
        const request = {
          endpoint: "change", orderId, runId: target.runId, fromStation: target.fromStation, toStation: target.toStation,
          reason: target.reason ?? null
        }
        const replay = yield* lookupKey(customerId, key, request, ChangeResultSchema)
        if (Option.isSome(replay)) return yield* withCurrentNewOrder(replay.value)
        const old = yield* ordersRepo.byIdForCustomer(orderId, customerId)
        if (!old) return yield* new OrderNotFound({ orderId })
        const journey = yield* orders.journey(target.runId, target.fromStation, target.toStation)
        // a change stays within trains: seeds 002's change of train or date; no seed changes a showing or an event
        const refusal = (why: string) => new OrderNotChangeable({ orderId, state: old.state, reason: why })
        if (old.run_kind !== "train") return yield* refusal(`a ${old.run_kind}'s ticket is not changed: cancel it and buy another`)
        if (journey.run.kind !== "train") return yield* refusal(`a train ticket changes only to another train, and run ${target.runId} is a ${journey.run.kind}`)
        // a change keeps the seat class (12306 changes class only at a counter)
        const priceFen = journey.pricesByClass.get(old.seat_class)
        if (priceFen === undefined) return yield* new UnknownSeatClass({ runId: target.runId, seatClass: old.seat_class })
        const trip: ChangeTrip = {
          fromIndex: journey.fromIndex, toIndex: journey.toIndex, priceFen, seatClass: old.seat_class, salesCloseAtMs: journey.salesCloseAtMs
        }
        const differenceFen = FenDelta.make(trip.priceFen - Number(old.price_fen))
        if (differenceFen > 0) {
          if (target.paymentPassword === undefined) return yield* new PaymentPasswordRequired({ fareDifferenceFen: differenceFen })
          yield* customers.verifyPaymentPassword(customerId, target.paymentPassword)
        }
        const nowMs = yield* Clock.currentTimeMillis
        const attempt = repo.lockOrder(orderId).pipe(
          Effect.zipRight(idempotent({ scope: customerId, key, request, schema: ChangeResultSchema, nowMs },
            changeLocked(customerId, orderId, target, trip, nowMs))),
          sql.withTransaction)
        // an expired hold keeps its seat until the sweeper passes: release them and try once more
        const changed = yield* attempt.pipe(Effect.catchTag("SoldOut", (soldOut) =>
          Effect.flatMap(orders.releaseExpiredHolds, (released) => released > 0 ? attempt : Effect.fail(soldOut))))
        // issue right after the commit; the outbox sweeper is the backstop if this process dies here
        yield* issuance.issueAfterCommit(changed.newOrder.orderId)
        return yield* withCurrentNewOrder(changed)
      }).pipe(Effect.withSpan("Lifecycle.change", spanOptions))

    const orderEvents = (customerId: CustomerId, orderId: OrderId) =>
      Effect.gen(function* () {
        if (!(yield* ordersRepo.byIdForCustomer(orderId, customerId))) return yield* new OrderNotFound({ orderId })
        return (yield* repo.events(orderId)).map(toEvent)
      })

    const adminOrderEvents = (orderId: OrderId) =>
      Effect.gen(function* () {
        if (!(yield* repo.orderExists(orderId))) return yield* new OrderNotFound({ orderId })
        return (yield* repo.events(orderId)).map(toEvent)
      })

    /** The customer's wallet entries, newest first; a refund's fee is shown once, on its order's newest refund entry. */
    const walletStatement = (customerId: CustomerId) =>
      Effect.gen(function* () {
        const walletId = walletAccountId(customerId)
        const balanceFen = yield* ledger.walletBalance(customerId)
        const rows = yield* repo.statement(walletId, walletSettings.maxStatementEntries)
        const feeShown = new Set<string>()
        const entries = rows.map((row): StatementEntry => {
          const showFee = row.fee_fen !== null && row.order_id !== null && !feeShown.has(row.order_id)
          if (showFee && row.order_id !== null) feeShown.add(row.order_id)
          return {
            transferId: row.id, atMs: Number(row.created_at_ms), purpose: row.purpose, orderId: row.order_id,
            amountFen: FenDelta.make(row.debit_account_id === walletId ? -Number(row.amount_fen) : Number(row.amount_fen)),
            feeFen: showFee ? FenTotal.make(Number(row.fee_fen)) : null
          }
        })
        const statement: Statement = { balanceFen, entries }
        return statement
      })

    return { cancel, change, orderEvents, adminOrderEvents, walletStatement } as const
  }),
  dependencies: [LifecycleRepo.Default]
}) {}
