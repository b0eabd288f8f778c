/**
 * Checkout: where a held order is paid for. Every way of paying ends here — the wallet (an app's payment, an
 * SMS PAY), a bank card at a kiosk, the third-party gateway (Payments.ts): in one transaction the order's row
 * is locked and checked payable, the money moves into the centre's account as the order's `order-payment`
 * transfer, the order becomes `paid`, the outbox row that owes its ticket is written and the buyer's invoice is
 * checked; after the commit the ticket is issued (Issuance.ts) and the answer carries it.
 *
 * The wallet's way is the rush's hot path, so it is kept short: one transaction of a few prepared statements
 * (Store/Queries.ts), then one more that issues and delivers the ticket.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect, Option } from "effect"
import type { PaymentResult } from "./Accounts/Api.js"
import { PaymentResult as PaymentResultSchema } from "./Accounts/Api.js"
import { centreAccountId, LedgerRepo, walletAccountId } from "./Accounts/Repo.js"
import { FaultConfig } from "../Settings/Faults.js"
import { IssuanceConfig } from "../Settings/Issuance.js"
import { Customers } from "../customers/Customers.js"
import { Invoices } from "../customers/Customers/Invoices.js"
import { FenTotal, HoldDisplaced, HoldExpired, InsufficientFunds, OrderNotFound, OrderNotPayable } from "../Domain.js"
import type { CustomerId, OrderId, OrderState, TransferId } from "../Domain.js"
import { FaultPoints } from "../FaultPoints.js"
import { Ids } from "../Ids.js"
import { idempotent, lookupKey } from "../Idempotency.js"
import { Issuance, storedTicket } from "../delivery/Issuance.js"
import type { PreparedTicket } from "../delivery/Issuance.js"
import type { Ticket } from "../delivery/Issuance/Api.js"
import { LifecycleRepo } from "../ticketing/Lifecycle/Repo.js"
import { Orders } from "../ticketing/Orders.js"
import { Queries } from "../Store/Queries.js"
import { Metrics } from "../operations/Metrics.js"
import { spanOptions } from "../Spans.js"

/** The order as a payment reads it (its row, locked until the commit on PostgreSQL). */
export interface PayableOrder {
  readonly id: OrderId
  readonly customer_id: CustomerId
  readonly state: OrderState
  readonly price_fen: number
  readonly hold_expires_at_ms: number
  readonly seat_id: number
  readonly segment_mask: number
  /** 1 for a remote booking (reference/ticketing/RemoteBookings.ts): only the card it was booked with, swiped at a kiosk, pays it */
  readonly booked_card_only: number
}

/** How a payment pays: the booked card of a remote booking at a kiosk, or any other way (wallet, walk-up card, gateway). */
export type PaymentWay = "booked-card" | "other"

export class Checkout extends Effect.Service<Checkout>()("Checkout", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const queries = yield* Queries
    const ledger = yield* LedgerRepo
    const orders = yield* Orders
    const customers = yield* Customers
    const invoices = yield* Invoices
    const issuance = yield* Issuance
    const ids = yield* Ids
    const faultSettings = yield* FaultConfig
    const issuanceSettings = yield* IssuanceConfig
    const faults = yield* FaultPoints
    const lifecycle = yield* LifecycleRepo
    const metrics = yield* Metrics

    /**
     * Payments of one order queue on the order's row. Under Read Committed (PostgreSQL) a second payment with
     * the same key then finds the first one's stored answer, and one with another key finds the order paid; a
     * sweeper expiring the hold meanwhile is seen too. SQLite runs one transaction at a time anyway.
     */
    const lockOrder = (orderId: OrderId) =>
      queries.first<PayableOrder>(`SELECT id, customer_id, state, price_fen, hold_expires_at_ms, seat_id, segment_mask,
          CASE WHEN EXISTS (SELECT 1 FROM remote_bookings r WHERE r.order_id = orders.id) THEN 1 ELSE 0 END AS booked_card_only
        FROM orders WHERE id = ? ${queries.forUpdate}`, [orderId])

    /**
     * The checks every payment makes on the locked order before money moves: the amount it costs. A remote booking
     * is refused to every way but its booked card (`OrderNotPayable` in state `held-for-booked-card`).
     */
    const payableAmount = (
      order: Pick<PayableOrder, "id" | "state" | "hold_expires_at_ms" | "price_fen" | "booked_card_only">, nowMs: number, way: PaymentWay = "other"
    ) => {
      if (order.state === "held" && Number(order.hold_expires_at_ms) <= nowMs) {
        return Effect.fail(new HoldExpired({ orderId: order.id, expiredAtMs: Number(order.hold_expires_at_ms) }))
      }
      if (order.state !== "held") return Effect.fail(new OrderNotPayable({ orderId: order.id, state: order.state }))
      if (Number(order.booked_card_only) === 1 && way !== "booked-card") {
        return Effect.fail(new OrderNotPayable({ orderId: order.id, state: "held-for-booked-card" }))
      }
      return Effect.succeed(FenTotal.make(Number(order.price_fen)))
    }

    /**
     * A payment refused because the order is no longer held says why when a tie gave its seat to an
     * earlier-installed device (Orders/SeatPriority.ts): `HoldDisplaced` rather than "the order is cancelled".
     */
    const explainNotPayable = (refused: OrderNotPayable) =>
      refused.state !== "cancelled" ? Effect.fail(refused) : Effect.flatMap(lifecycle.displacedAtMs(refused.orderId as OrderId), (atMs) =>
        Effect.fail(atMs === undefined ? refused : new HoldDisplaced({ orderId: refused.orderId, displacedAtMs: atMs })))

    /**
     * Inside the payment's transaction, once the order's payment transfer is written: the order becomes paid, its
     * ticket is owed (the outbox row) and the buyer's invoice is checked. Every way of paying passes here.
     */
    const markPaid = (order: Pick<PayableOrder, "id" | "customer_id">, amountFen: FenTotal, nowMs: number, prepared?: PreparedTicket) =>
      Effect.gen(function* () {
        // with its ticket signed beforehand and issued in this transaction, the order goes from held to issued in one write
        const issuedHere = prepared !== undefined && issuance.issuesInline
        const paid = yield* (issuedHere
          ? queries.all("UPDATE orders SET state = 'issued', paid_at_ms = ?, issued_at_ms = ? WHERE id = ? AND state = 'held' RETURNING id", [nowMs, nowMs, order.id])
          : queries.all("UPDATE orders SET state = 'paid', paid_at_ms = ? WHERE id = ? AND state = 'held' RETURNING id", [nowMs, order.id]))
        if (paid.length !== 1) return yield* Effect.dieMessage(`order ${order.id} left 'held' inside its own payment transaction`)
        yield* faults.hit("pay.before-outbox")
        yield* issuance.enqueue(order.id, nowMs, prepared)
        yield* invoices.afterCapture(order.customer_id, amountFen, nowMs)
        yield* metrics.paymentCaptured
      })

    /** After a transaction refused an expired hold: give its seat back in a transaction of its own. */
    const expireDueHold = (orderId: OrderId, nowMs: number) =>
      Effect.gen(function* () {
        const order = yield* lockOrder(orderId)
        if (order && order.state === "held" && Number(order.hold_expires_at_ms) <= nowMs) yield* orders.expireHold(order, nowMs)
      }).pipe(sql.withTransaction)

    /** The wallet payment's transaction, on the locked order: wallet → centre, then `markPaid`. */
    const captureFromWallet = (
      customerId: CustomerId, order: PayableOrder | undefined, orderId: OrderId, transferId: TransferId, nowMs: number, prepared: PreparedTicket | undefined
    ) =>
      Effect.gen(function* () {
        if (!order || order.customer_id !== customerId) return yield* new OrderNotFound({ orderId })
        const amountFen = yield* payableAmount(order, nowMs)
        const moved = yield* ledger.transfer({
          id: transferId, debit: walletAccountId(customerId), credit: centreAccountId, amountFen, purpose: "order-payment", orderId, nowMs
        })
        if (!moved) {
          return yield* new InsufficientFunds({ balanceFen: yield* ledger.walletBalance(customerId), neededFen: amountFen })
        }
        yield* faults.hit("pay.after-transfer")
        yield* markPaid(order, amountFen, nowMs, prepared)
        yield* faults.hit("pay.before-commit")
        const result: PaymentResult = { orderId, transferId, amountFen, state: "paid", ticketId: null }
        return result
      })

    /** the ticket left out of a payment's answer by the planted `ticket-never-delivered`, as `GET …/ticket` withholds it */
    const delivered = (answer: PaymentResult): PaymentResult => {
      if (faultSettings.plantedBug !== "ticket-never-delivered") return answer
      const { ticket: _withheld, ...withheld } = answer
      return withheld
    }

    /** The answer to a payment: the order's state and ticket as they are now (a replay's stored answer, refreshed). */
    const withTicket = (result: PaymentResult, ticket: Ticket | undefined) =>
      Effect.gen(function* () {
        if (ticket !== undefined) return delivered({ ...result, state: "issued" as const, ticketId: ticket.ticketId, ticket })
        const current = yield* queries.first<{ state: OrderState }>("SELECT state FROM orders WHERE id = ?", [result.orderId])
        const live = yield* issuance.liveTicket(result.orderId)
        return delivered({
          ...result, state: current?.state ?? result.state, ticketId: live?.ticketId ?? null, ...(live === undefined ? {} : { ticket: live })
        })
      })

    /** the key's stored answer, or the work done once and its answer stored (skipped by the planted mutation) */
    const keyed: typeof idempotent = (options, work) =>
      faultSettings.plantedBug === "no-idempotency-check" ? work : idempotent(options, work)

    /**
     * Pay a held order from the wallet. A replay of a stored key answers before the password is checked (the
     * stored answer is the customer's own); a new key costs one payment-password check.
     */
    const payFromWallet = (customerId: CustomerId, orderId: OrderId, key: string, paymentPassword: string) =>
      Effect.gen(function* () {
        const request = { endpoint: "pay", orderId }
        const replay = faultSettings.plantedBug === "no-idempotency-check" ? Option.none() : yield* lookupKey(customerId, key, request, PaymentResultSchema)
        if (Option.isSome(replay)) return yield* withTicket(replay.value, undefined)
        const { forgive } = yield* customers.checkPaymentPassword(customerId, paymentPassword)
        const transferId = yield* ids.transferId
        // issued inline, the ticket is signed before the transaction opens: no lock waits for the signature
        const prepared = issuanceSettings.issuance === "inline" ? yield* issuance.prepare(orderId, customerId) : undefined
        const nowMs = yield* Clock.currentTimeMillis
        yield* faults.hit("pay.before-transaction")
        // whether this request's own work stored the prepared ticket (not a concurrent payment's stored answer)
        let storedHere = false
        const capture = (order: PayableOrder | undefined) =>
          Effect.tap(captureFromWallet(customerId, order, orderId, transferId, nowMs, prepared), () => { storedHere = prepared !== undefined })
        // the right password's attempts are given back in the payment's transaction, or after it when it did not commit
        const paid = yield* Effect.flatMap(lockOrder(orderId), (order) =>
          Effect.zipRight(forgive, keyed({ scope: customerId, key, request, schema: PaymentResultSchema, nowMs }, capture(order)))).pipe(
          sql.withTransaction, Effect.tapErrorCause(() => forgive),
          Effect.tapErrorTag("HoldExpired", () => expireDueHold(orderId, nowMs)), Effect.catchTag("OrderNotPayable", explainNotPayable))
        // issue right after the commit; the outbox sweeper is the backstop if this process dies here
        yield* faults.hit("pay.after-commit")
        const ticket = storedHere && prepared !== undefined ? storedTicket(prepared, nowMs) : yield* issuance.issueAfterCommit(orderId)
        yield* faults.hit("issue.after-commit")
        return yield* withTicket(paid, ticket)
      }).pipe(Effect.withSpan("Checkout.payFromWallet", spanOptions))

    return { lockOrder, payableAmount, explainNotPayable, markPaid, expireDueHold, payFromWallet, withTicket } as const
  }),
  dependencies: [LedgerRepo.Default, Ids.Default, LifecycleRepo.Default]
}) {}

