/**
 * Accounts (seed 000: the account server): wallets, the ticketing centre's account and the bank's
 * clearing account in a double-entry ledger of integer fen. Paying moves the fare from the wallet to the
 * centre, marks the order paid and writes the "issue ticket" outbox row, all in one transaction.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect, Option } from "effect"
import type { PaymentResult, TopUpResult } from "./Accounts/Api.js"
import { PaymentResult as PaymentResultSchema, TopUpResult as TopUpResultSchema } from "./Accounts/Api.js"
import { bankClearingAccountId, centreAccountId, LedgerRepo, walletAccountId } from "./Accounts/Repo.js"
import { ServerConfig } from "./Config.js"
import { Customers } from "./Customers.js"
import { Invoices } from "./Customers/Invoices.js"
import { HoldExpired, InsufficientFunds, OrderNotFound, OrderNotPayable } from "./Domain.js"
import type { CustomerId, OrderId } from "./Domain.js"
import { FaultPoints } from "./FaultPoints.js"
import { Ids } from "./Ids.js"
import { idempotent, lookupKey } from "./Idempotency.js"
import { Issuance } from "./Issuance.js"
import { Orders } from "./Orders.js"
import { OrdersRepo } from "./Orders/Repo.js"
import { forUpdate } from "./Sql.js"

export class Accounts extends Effect.Service<Accounts>()("Accounts", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ledger = yield* LedgerRepo
    const ordersRepo = yield* OrdersRepo
    const orders = yield* Orders
    const customers = yield* Customers
    const invoices = yield* Invoices
    const issuance = yield* Issuance
    const ids = yield* Ids
    const config = yield* ServerConfig
    const faults = yield* FaultPoints

    /** the key's stored answer, or the work done once and its answer stored (skipped by the planted mutation) */
    const keyed: typeof idempotent = (options, work) =>
      config.plantedBug === "no-idempotency-check" ? work : idempotent(options, work)

    const getWallet = (customerId: CustomerId) =>
      Effect.map(ledger.balance(walletAccountId(customerId)), (balance) => ({ balanceFen: Number(balance ?? 0) }))

    /** Money arriving from the customer's bank (simulated): bank clearing → wallet. */
    const topUp = (customerId: CustomerId, key: string, amountFen: number) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const transferId = yield* ids.transferId
        const work = Effect.gen(function* () {
          yield* ledger.transfer({
            id: transferId, debit: bankClearingAccountId, credit: walletAccountId(customerId),
            amountFen, purpose: "top-up", orderId: null, nowMs
          })
          const result: TopUpResult = { transferId, balanceFen: (yield* getWallet(customerId)).balanceFen }
          return result
        })
        const request = { endpoint: "topUp", amountFen }
        return yield* keyed({ scope: customerId, key, request, schema: TopUpResultSchema, nowMs }, work).pipe(sql.withTransaction)
      }).pipe(Effect.withSpan("Accounts.topUp"))

    const capture = (customerId: CustomerId, orderId: OrderId, nowMs: number) =>
      Effect.gen(function* () {
        const order = yield* ordersRepo.byIdForCustomer(orderId, customerId)
        if (!order) return yield* new OrderNotFound({ orderId })
        if (order.state === "held" && Number(order.hold_expires_at_ms) <= nowMs) {
          return yield* new HoldExpired({ orderId, expiredAtMs: Number(order.hold_expires_at_ms) })
        }
        if (order.state !== "held") return yield* new OrderNotPayable({ orderId, state: order.state })
        const amountFen = Number(order.price_fen)
        const transferId = yield* ids.transferId
        const moved = yield* ledger.transfer({
          id: transferId, debit: walletAccountId(customerId), credit: centreAccountId,
          amountFen, purpose: "order-payment", orderId, nowMs
        })
        if (!moved) {
          const balance = yield* getWallet(customerId)
          return yield* new InsufficientFunds({ balanceFen: balance.balanceFen, neededFen: amountFen })
        }
        yield* faults.hit("pay.after-transfer")
        if (!(yield* ordersRepo.transition(orderId, "held", "paid", { column: "paid_at_ms", atMs: nowMs }))) {
          return yield* Effect.dieMessage(`order ${orderId} left 'held' inside its own payment transaction`)
        }
        yield* faults.hit("pay.before-outbox")
        yield* issuance.enqueue(orderId, nowMs)
        yield* invoices.afterCapture(customerId, nowMs)
        yield* faults.hit("pay.before-commit")
        const result: PaymentResult = { orderId, transferId, amountFen, state: "paid", ticketId: null }
        return result
      })

    /**
     * Payments of one order queue on the order's row. Under Read Committed (PostgreSQL) a second payment
     * with the same key then finds the first one's stored answer, and one with another key finds the order
     * paid; a sweeper expiring the hold meanwhile is seen too. SQLite runs one transaction at a time anyway.
     */
    const lockOrder = (orderId: OrderId) => sql`SELECT id FROM orders WHERE id = ${orderId} ${forUpdate(sql)}`

    /** After the payment's transaction rolled back: give an expired hold's seat back in a transaction of its own. */
    const expireDueHold = (orderId: OrderId, nowMs: number) =>
      Effect.gen(function* () {
        const order = yield* ordersRepo.byId(orderId)
        if (order && order.state === "held" && Number(order.hold_expires_at_ms) <= nowMs) yield* orders.expireHold(order, nowMs)
      }).pipe(sql.withTransaction)

    /**
     * Pay a held order from the wallet. A replay of a stored key answers before the password is checked
     * (the stored answer is the customer's own); a new key costs one scrypt verification.
     */
    const pay = (customerId: CustomerId, orderId: OrderId, key: string, paymentPassword: string) =>
      Effect.gen(function* () {
        const request = { endpoint: "pay", orderId }
        const replay = config.plantedBug === "no-idempotency-check" ? Option.none() : yield* lookupKey(customerId, key, request, PaymentResultSchema)
        if (Option.isSome(replay)) return yield* withTicket(replay.value)
        yield* customers.verifyPaymentPassword(customerId, paymentPassword)
        const nowMs = yield* Clock.currentTimeMillis
        yield* faults.hit("pay.before-transaction")
        const paid = yield* lockOrder(orderId).pipe(
          Effect.zipRight(keyed({ scope: customerId, key, request, schema: PaymentResultSchema, nowMs }, capture(customerId, orderId, nowMs))),
          sql.withTransaction, Effect.tapErrorTag("HoldExpired", () => expireDueHold(orderId, nowMs)))
        // issue right after the commit; the outbox sweeper is the backstop if this process dies here
        yield* faults.hit("pay.after-commit")
        yield* issuance.issueAfterCommit(orderId)
        yield* faults.hit("issue.after-commit")
        return yield* withTicket(paid)
      }).pipe(Effect.withSpan("Accounts.pay"))

    const withTicket = (result: PaymentResult) =>
      Effect.map(ordersRepo.byId(result.orderId), (view) => ({
        ...result,
        state: view?.state ?? result.state,
        ticketId: (view?.ticket_id ?? null) as PaymentResult["ticketId"]
      }))

    return { getWallet, topUp, pay, maxTopUpFen: config.maxTopUpFen } as const
  }),
  dependencies: [LedgerRepo.Default, OrdersRepo.Default, Ids.Default]
}) {}
