/**
 * Issuance (seeds 000, 003): exactly one signed ticket per captured payment. The payment transaction
 * writes an outbox row; whoever claims that row issues the ticket in the same transaction as the claim,
 * so never twice. Who claims it is a design choice (issue 7, `ServerSettings.issuance`):
 *
 * - after-commit (default): the paying request, right after the payment committed; the sweeper is the
 *   backstop after a crash between the two.
 * - inline: the payment transaction itself claims and issues (one transaction, one commit; a slow
 *   signature holds the payment's locks longer).
 * - worker: only the outbox worker, polling every `outboxSweepIntervalMs` for up to `outboxBatchSize`
 *   rows; the payment answers at once and the phone polls for its ticket.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { Delivery } from "./Delivery.js"
import { OrderNotFound, TicketNotIssued } from "./Domain.js"
import type { CustomerId, OrderId, TicketId } from "./Domain.js"
import { FaultPoints } from "./FaultPoints.js"
import { Ids } from "./Ids.js"
import type { Ticket } from "./Issuance/Api.js"
import { TicketKeys } from "./Issuance/Keys.js"
import { bindingTagFor, encodeTicket } from "./Issuance/TicketCode.js"
import type { TicketKind } from "./Issuance/TicketCode.js"
import { OrdersRepo } from "./Orders/Repo.js"
import { ServerConfig } from "./Config.js"
import { forUpdate } from "./Sql.js"

/** train_runs.kind → the ticket payload's kind (TicketCode.ts documents what each field carries) */
const ticketKindOfRun: Readonly<Record<string, TicketKind>> = { train: "train", showing: "cinema", event: "event" }
import { enqueueUpstreamPush } from "./Upstream.js"

export const issuanceVariants = ["after-commit", "inline", "worker"] as const
export type IssuanceVariant = typeof issuanceVariants[number]

export class Issuance extends Effect.Service<Issuance>()("Issuance", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const orders = yield* OrdersRepo
    const keys = yield* TicketKeys
    const ids = yield* Ids
    const config = yield* ServerConfig
    const delivery = yield* Delivery
    const faults = yield* FaultPoints

    const insertOutboxRow = (orderId: OrderId, nowMs: number) =>
      sql`INSERT INTO outbox (kind, order_id, created_at_ms) VALUES ('issue-ticket', ${orderId}, ${nowMs})`

    const issueClaimed = (orderId: OrderId, nowMs: number) =>
      Effect.gen(function* () {
        // locked: a cancel that refunded the paid order before its ticket was issued is seen, not overwritten
        yield* sql`SELECT id FROM orders WHERE id = ${orderId} ${forUpdate(sql)}`
        const order = yield* orders.byId(orderId)
        if (order?.state === "refunded") return undefined
        if (!order || order.state !== "paid") return yield* Effect.dieMessage(`outbox names order ${orderId} which is not paid`)
        // bound to the phone number, or for an anonymous device's customer to its device ID (seed 004)
        const [holder] = yield* sql<{ holder: string | null }>`SELECT COALESCE(phone, device_id, id) AS holder
          FROM customers WHERE id = ${order.customer_id}`
        const [stop] = yield* sql<{ departure_minute_of_day: number }>`SELECT departure_minute_of_day FROM run_stops
          WHERE run_id = ${order.run_id} AND stop_index = ${order.from_index}`
        if (!holder?.holder || !stop) return yield* Effect.dieMessage(`order ${orderId} lacks its customer or boarding stop`)
        const kind = ticketKindOfRun[order.run_kind]
        if (!kind) return yield* Effect.dieMessage(`order ${orderId} is on a run of unknown kind ${order.run_kind}`)
        const ticketId = yield* ids.ticketId
        const qr = encodeTicket({
          ticketId, kind, serviceDate: order.service_date,
          departureMinuteOfDay: Number(stop.departure_minute_of_day), priceFen: Number(order.price_fen),
          trainCode: order.train_code, coach: order.coach, seatCode: order.seat_code,
          fromStation: order.from_station, toStation: order.to_station,
          bindingTag: bindingTagFor(holder.holder, keys.bindingSalt), keyId: keys.keyId
        }, keys.privateKey)
        yield* sql`INSERT INTO tickets (id, order_id, holder, key_id, qr_text, issued_at_ms)
          VALUES (${ticketId}, ${orderId}, ${holder.holder}, ${keys.keyId}, ${qr}, ${nowMs})`
        yield* delivery.enqueue(ticketId, nowMs)
        yield* faults.hit("issue.after-ticket-insert")
        if (!(yield* orders.transition(orderId, "paid", "issued", { column: "issued_at_ms", atMs: nowMs }))) {
          return yield* Effect.dieMessage(`order ${orderId} left 'paid' while its ticket was being issued`)
        }
        yield* enqueueUpstreamPush(sql, config, orderId, nowMs)
        yield* faults.hit("issue.before-commit")
        return ticketId
      })

    /** Claim the order's outbox row and issue; undefined when someone else already did. */
    const issueForOrder = (orderId: OrderId) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        return yield* sql.withTransaction(Effect.gen(function* () {
          const claimed = yield* sql`UPDATE outbox SET processed_at_ms = ${nowMs}
            WHERE order_id = ${orderId} AND processed_at_ms IS NULL RETURNING id`
          if (claimed.length === 0) return undefined
          yield* faults.hit("issue.after-claim")
          return yield* issueClaimed(orderId, nowMs)
        }))
      }).pipe(
        // deliver after the commit; a failure here leaves the job to the delivery sweeper
        Effect.tap((ticketId) => ticketId === undefined ? Effect.void : delivery.deliver(ticketId).pipe(Effect.catchAllCause(Effect.logWarning))),
        Effect.withSpan("Issuance.issueForOrder"))

    /** Inside the payment transaction: the outbox row, and the ticket too when issuance is inline. */
    const enqueue = (orderId: OrderId, nowMs: number) =>
      Effect.gen(function* () {
        yield* insertOutboxRow(orderId, nowMs)
        if (config.issuance !== "inline") return
        yield* sql`UPDATE outbox SET processed_at_ms = ${nowMs} WHERE order_id = ${orderId} AND processed_at_ms IS NULL`
        yield* issueClaimed(orderId, nowMs)
      })

    /** After the payment's commit: issue (after-commit), deliver what the payment issued (inline), or leave it to the worker. */
    const issueAfterCommit = (orderId: OrderId) =>
      Effect.gen(function* () {
        if (config.issuance === "after-commit") return yield* issueForOrder(orderId)
        if (config.issuance === "worker") return undefined
        const [ticket] = yield* sql<{ id: TicketId }>`SELECT id FROM tickets WHERE order_id = ${orderId} AND voided_at_ms IS NULL`
        if (ticket) yield* delivery.deliver(ticket.id).pipe(Effect.catchAllCause(Effect.logWarning))
        return ticket?.id
      })

    /** The backstop: issue what the paying requests did not (a crash between commit and issue); the worker of "worker". */
    const sweepOutbox = Effect.gen(function* () {
      const pending = yield* sql<{ order_id: OrderId }>`SELECT order_id FROM outbox WHERE processed_at_ms IS NULL
        ORDER BY id LIMIT ${config.outboxBatchSize}`
      let issued = 0
      for (const row of pending) {
        yield* faults.hit("sweep.before-issue")
        if ((yield* issueForOrder(row.order_id)) !== undefined) issued++
        yield* faults.hit("sweep.after-issue")
      }
      return issued
    }).pipe(Effect.withSpan("Issuance.sweepOutbox"))

    /** A ticket voided by a refund or change is no longer shown: the order's state says why. */
    const getTicket = (customerId: CustomerId, orderId: OrderId) =>
      Effect.gen(function* () {
        const order = yield* orders.byIdForCustomer(orderId, customerId)
        if (!order) return yield* new OrderNotFound({ orderId })
        const [ticket] = yield* sql<{ id: TicketId; qr_text: string; issued_at_ms: number }>`SELECT id, qr_text, issued_at_ms
          FROM tickets WHERE order_id = ${orderId} AND voided_at_ms IS NULL`
        if (!ticket) return yield* new TicketNotIssued({ orderId, state: order.state })
        const result: Ticket = { ticketId: ticket.id, orderId, qr: ticket.qr_text, issuedAtMs: Number(ticket.issued_at_ms) }
        return result
      })

    return { enqueue, issueAfterCommit, issueForOrder, sweepOutbox, getTicket, publicKeys: keys.publicKeysRaw } as const
  }),
  dependencies: [OrdersRepo.Default, Ids.Default]
}) {}
