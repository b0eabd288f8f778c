import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { FenTotal } from "../../Domain.js"
import type { CustomerId, OrderId, RunId, TransferId } from "../../Domain.js"
import { forUpdate } from "../../Store/Dialect.js"
import { LedgerRepo } from "../../payments/Accounts/Repo.js"

/** A payment of an order's chain (its own and those of the orders it was changed from), with what is left of it. */
export interface ChainPayment {
  readonly id: TransferId
  /** the account the payment debited: a refund credits it */
  readonly debit_account_id: string
  /** the account the payment credited (the centre): a refund debits it */
  readonly credit_account_id: string
  readonly amount_fen: number
  readonly created_at_ms: number
  /** amount_fen less what earlier reversals returned */
  readonly unreversedFen: FenTotal
}

export type TicketVoiding = "voided" | "no-ticket" | "admitted" | "already-voided"

/** The actor of the `cancelled` record of a hold whose seat a tie gave to an earlier-installed device (Orders/SeatPriority.ts). */
export const seatPriorityActor = "seat-priority"

export interface OrderEventRow {
  readonly order_id: OrderId
  readonly kind: "cancelled" | "refunded" | "changed" | "changed-in"
  readonly actor: string
  readonly reason: string | null
  readonly price_fen: number
  readonly fee_fen: number
  readonly refund_fen: number
  readonly charge_fen: number
  readonly related_order_id: OrderId | null
  readonly at_ms: number
}

export interface OrderEventInsert extends OrderEventRow {
  readonly customer_id: CustomerId
}

export interface StatementRow {
  readonly id: TransferId
  readonly debit_account_id: string
  readonly amount_fen: number
  readonly purpose: string
  readonly order_id: OrderId | null
  readonly created_at_ms: number
  readonly fee_fen: number | null
}

export class LifecycleRepo extends Effect.Service<LifecycleRepo>()("LifecycleRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const accounts = yield* LedgerRepo

    const changeLink = (orderId: OrderId) =>
      sql<{ changed_from_order_id: OrderId | null; change_count: number }>`SELECT changed_from_order_id, change_count
        FROM orders WHERE id = ${orderId}`.pipe(Effect.map((rows) => rows[0]))

    /** The order and every order it was changed from, newest first; `maxHops` bounds the walk. */
    const chain = (orderId: OrderId, maxHops: number) =>
      Effect.gen(function* () {
        const ids: Array<OrderId> = [orderId]
        for (let hop = 0; hop < maxHops; hop++) {
          const link = yield* changeLink(ids[ids.length - 1]!)
          if (!link?.changed_from_order_id) break
          ids.push(link.changed_from_order_id)
        }
        return ids
      })

    return {
      /** Serialises every payment, cancel, change and issue of one order on the order's row. */
      lockOrder: (orderId: OrderId) => sql`SELECT id FROM orders WHERE id = ${orderId} ${forUpdate(sql)}`,
      changeLink,
      /** The service date and departure minute of a run's stop: where and when a journey boards. */
      boarding: (runId: RunId, stopIndex: number) =>
        sql<{ service_date: string; departure_minute_of_day: number }>`SELECT r.service_date, s.departure_minute_of_day
          FROM run_stops s JOIN train_runs r ON r.id = s.run_id
          WHERE s.run_id = ${runId} AND s.stop_index = ${stopIndex}`.pipe(Effect.map((rows) => rows[0])),
      /**
       * Void the order's ticket unless a gate admitted it: one conditional write on the ticket row, which a
       * concurrent scan also writes, so exactly one of the two wins.
       */
      voidTicket: (orderId: OrderId, nowMs: number) =>
        Effect.gen(function* () {
          const voided = yield* sql`UPDATE tickets SET voided_at_ms = ${nowMs}
            WHERE order_id = ${orderId} AND admitted_at_ms IS NULL AND voided_at_ms IS NULL RETURNING id`
          if (voided.length === 1) return "voided" satisfies TicketVoiding
          const [ticket] = yield* sql<{ admitted_at_ms: number | null }>`SELECT admitted_at_ms FROM tickets WHERE order_id = ${orderId}`
          const outcome: TicketVoiding = !ticket ? "no-ticket" : ticket.admitted_at_ms !== null ? "admitted" : "already-voided"
          return outcome
        }),
      linkChange: (newOrderId: OrderId, oldOrderId: OrderId, changeCount: number) =>
        sql`UPDATE orders SET changed_from_order_id = ${oldOrderId}, change_count = ${changeCount} WHERE id = ${newOrderId}`,
      /** The payments behind `orderId`, most recent first, each with what earlier reversals left of it. */
      chainPayments: (orderId: OrderId, maxHops: number) =>
        Effect.gen(function* () {
          const orderIds = yield* chain(orderId, maxHops)
          const payments = yield* sql<Omit<ChainPayment, "unreversedFen">>`SELECT id, debit_account_id, credit_account_id, amount_fen, created_at_ms
            FROM transfers WHERE order_id IN ${sql.in(orderIds)} AND purpose IN ('order-payment', 'change-payment')
            ORDER BY created_at_ms DESC, id DESC`
          if (payments.length === 0) return []
          const reversed = yield* sql<{ reverses_transfer_id: TransferId; reversed_fen: number }>`
            SELECT reverses_transfer_id, SUM(amount_fen) AS reversed_fen FROM transfers
            WHERE reverses_transfer_id IN ${sql.in(payments.map((payment) => payment.id))} GROUP BY reverses_transfer_id`
          const reversedOf = new Map(reversed.map((row) => [row.reverses_transfer_id, Number(row.reversed_fen)]))
          return payments.map((payment): ChainPayment => ({
            ...payment, amount_fen: Number(payment.amount_fen), created_at_ms: Number(payment.created_at_ms),
            unreversedFen: FenTotal.make(Number(payment.amount_fen) - (reversedOf.get(payment.id) ?? 0))
          }))
        }),
      /**
       * The fees the centre kept when the orders behind `orderId` were changed to a cheaper journey (each on
       * its `changed` record): what the chain's payments hold beyond the order's price.
       */
      chainChangeFees: (orderId: OrderId, maxHops: number) =>
        Effect.gen(function* () {
          const orderIds = (yield* chain(orderId, maxHops)).slice(1)
          if (orderIds.length === 0) return FenTotal.make(0)
          const [kept] = yield* sql<{ fees: number | null }>`SELECT SUM(fee_fen) AS fees FROM order_events
            WHERE order_id IN ${sql.in(orderIds)} AND kind = 'changed'`
          return FenTotal.make(Number(kept?.fees ?? 0))
        }),
      /**
       * The reversal of (part of) a payment: debit the account it credited, credit the one it debited (a
       * wallet's row moves; a system account's balance is its entries).
       */
      reverse: (reversal: {
        id: TransferId; payment: ChainPayment; amountFen: FenTotal; purpose: "order-refund" | "change-refund"; orderId: OrderId; nowMs: number
      }) =>
        Effect.gen(function* () {
          yield* accounts.credit(reversal.payment.debit_account_id, reversal.amountFen)
          if (!(yield* accounts.debit(reversal.payment.credit_account_id, reversal.amountFen))) {
            return yield* Effect.dieMessage(`payment ${reversal.payment.id}: its credit account cannot give ${reversal.amountFen} fen back`)
          }
          yield* sql`INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms, reverses_transfer_id)
            VALUES (${reversal.id}, ${reversal.payment.credit_account_id}, ${reversal.payment.debit_account_id}, ${reversal.amountFen},
                    ${reversal.purpose}, ${reversal.orderId}, ${reversal.nowMs}, ${reversal.payment.id})`
        }),
      insertEvent: (event: OrderEventInsert) => sql`INSERT INTO order_events ${sql.insert(event as any)}`,
      /** When a tie took the order's seat (its `seat-priority` cancel record), or undefined when none did. */
      displacedAtMs: (orderId: OrderId) =>
        sql<{ at_ms: number }>`SELECT at_ms FROM order_events
          WHERE order_id = ${orderId} AND kind = 'cancelled' AND actor = ${seatPriorityActor}`.pipe(
          Effect.map((rows) => rows[0] === undefined ? undefined : Number(rows[0].at_ms))),
      events: (orderId: OrderId) =>
        sql<OrderEventRow>`SELECT order_id, kind, actor, reason, price_fen, fee_fen, refund_fen, charge_fen, related_order_id, at_ms
          FROM order_events WHERE order_id = ${orderId} ORDER BY id`,
      orderExists: (orderId: OrderId) =>
        sql<{ id: OrderId }>`SELECT id FROM orders WHERE id = ${orderId}`.pipe(Effect.map((rows) => rows.length === 1)),
      /** The account's newest transfers; a refund carries the fee its cancel withheld. */
      statement: (accountId: string, limit: number) =>
        sql<StatementRow>`SELECT t.id, t.debit_account_id, t.amount_fen, t.purpose, t.order_id, t.created_at_ms,
            CASE WHEN t.purpose = 'order-refund'
              THEN (SELECT e.fee_fen FROM order_events e WHERE e.order_id = t.order_id AND e.kind = 'refunded') END AS fee_fen
          FROM transfers t WHERE t.debit_account_id = ${accountId} OR t.credit_account_id = ${accountId}
          ORDER BY t.created_at_ms DESC, t.id DESC LIMIT ${limit}`
    }
  }),
  dependencies: [LedgerRepo.Default]
}) {}
