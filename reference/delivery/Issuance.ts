/**
 * Issuance (seeds 000, 003): exactly one signed ticket per captured payment. The payment transaction
 * writes an outbox row; whoever claims that row issues the ticket in the same transaction as the claim,
 * so never twice. Who claims it is a design choice (`IssuanceSettings.issuance`):
 *
 * - inline (default): the payment transaction itself claims, issues and delivers (one transaction, one commit:
 *   the payment, its ticket and its delivery are stored together or not at all; the signature, about 40 µs,
 *   is made while the payment's rows are locked).
 * - after-commit: the paying request, right after the payment committed, in a transaction of its own; the
 *   sweeper is the backstop after a crash between the two. One more transaction and commit per payment.
 * - worker: only the outbox worker, polling every `outboxSweepIntervalMs` for up to `outboxBatchSize`
 *   rows; the payment answers at once and the phone polls for its ticket.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { Delivery } from "./Delivery.js"
import { OrderNotFound, TicketNotIssued } from "../Domain.js"
import type { CustomerId, OrderId, OrderState, TicketId } from "../Domain.js"
import { FaultPoints } from "../FaultPoints.js"
import { Ids } from "../Ids.js"
import type { Ticket } from "./Issuance/Api.js"
import { TicketKeys } from "./Issuance/Keys.js"
import { bindingTagFor, encodeTicket, signTicket } from "./Issuance/TicketCode.js"
import type { TicketKind, TicketPayload } from "./Issuance/TicketCode.js"
import { CryptoConfig } from "../Settings/Crypto.js"
import { IssuanceConfig } from "../Settings/Issuance.js"
import { FaultConfig } from "../Settings/Faults.js"
import { UpstreamConfig } from "../Settings/Upstream.js"
import { Queries } from "../Store/Queries.js"

/** train_runs.kind → the ticket payload's kind (TicketCode.ts documents what each field carries) */
const ticketKindOfRun: Readonly<Record<string, TicketKind>> = { train: "train", showing: "cinema", event: "event" }
import { enqueueUpstreamPush } from "./Upstream.js"
import { Metrics } from "../operations/Metrics.js"
import { spanOptions } from "../Spans.js"

/** The order as its issue reads it: what the ticket payload, its binding and its SMS notice say. */
interface IssuingOrder {
  readonly state: string
  readonly customer_id: string
  readonly run_kind: string
  readonly train_code: string
  readonly service_date: string
  readonly price_fen: number
  readonly coach: number
  readonly seat_code: string
  readonly from_station: string
  readonly to_station: string
  readonly departure_minute_of_day: number
  readonly holder: string | null
}

/** A ticket signed for an order before the transaction that pays for it (inline issuance): stored if the payment goes through. */
export interface PreparedTicket {
  readonly orderId: OrderId
  readonly ticketId: TicketId
  readonly qr: string
  readonly holder: string
  readonly order: IssuingOrder
}

/** The ticket a prepared ticket became when its payment's transaction stored it at `issuedAtMs` (inline issuance). */
export const storedTicket = (prepared: PreparedTicket, issuedAtMs: number): Ticket =>
  ({ ticketId: prepared.ticketId, orderId: prepared.orderId, qr: prepared.qr, issuedAtMs })

export class Issuance extends Effect.Service<Issuance>()("Issuance", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const queries = yield* Queries
    const keys = yield* TicketKeys
    const ids = yield* Ids
    const cryptoSettings = yield* CryptoConfig
    const issuanceSettings = yield* IssuanceConfig
    const faultSettings = yield* FaultConfig
    const upstreamSettings = yield* UpstreamConfig
    const delivery = yield* Delivery
    const faults = yield* FaultPoints
    const metrics = yield* Metrics

    const insertOutboxRow = (orderId: OrderId, nowMs: number) =>
      queries.run("INSERT INTO outbox (kind, order_id, created_at_ms) VALUES ('issue-ticket', ?, ?)", [orderId, nowMs])

    const issuingColumns = `o.state, o.customer_id, r.kind AS run_kind, r.train_code, r.service_date, o.price_fen, s.coach, s.seat_code,
        fs.station_code AS from_station, ts.station_code AS to_station, fs.departure_minute_of_day,
        COALESCE(c.phone, c.device_id, c.id) AS holder
      FROM orders o
      JOIN train_runs r ON r.id = o.run_id
      JOIN seats s ON s.id = o.seat_id
      JOIN run_stops fs ON fs.run_id = o.run_id AND fs.stop_index = o.from_index
      JOIN run_stops ts ON ts.run_id = o.run_id AND ts.stop_index = o.to_index
      JOIN customers c ON c.id = o.customer_id`
    // locked: a cancel that refunded the paid order before its ticket was issued is seen, not overwritten
    // (only the order's row: the run, seat, stops and customer it joins are read, not locked)
    const lockedIssuingOrder = `SELECT ${issuingColumns} WHERE o.id = ? ${queries.forUpdateOf("o")}`
    const heldIssuingOrder = `SELECT ${issuingColumns} WHERE o.id = ? AND o.customer_id = ? AND o.state = 'held'`

    /** The ticket of `order`: its ID drawn, its payload signed (off the server's thread unless `cryptoWork` is inline). */
    const signFor = (orderId: OrderId, order: IssuingOrder) =>
      Effect.gen(function* () {
        // bound to the phone number, or for an anonymous device's customer to its device ID (seed 004)
        const holder = order.holder
        if (!holder) return yield* Effect.dieMessage(`order ${orderId} lacks its customer`)
        const kind = ticketKindOfRun[order.run_kind]
        if (!kind) return yield* Effect.dieMessage(`order ${orderId} is on a run of unknown kind ${order.run_kind}`)
        const ticketId = yield* ids.ticketId
        const payload: TicketPayload = {
          ticketId, kind, serviceDate: order.service_date,
          departureMinuteOfDay: Number(order.departure_minute_of_day), priceFen: Number(order.price_fen),
          trainCode: order.train_code, coach: order.coach, seatCode: order.seat_code,
          fromStation: order.from_station, toStation: order.to_station,
          bindingTag: bindingTagFor(holder, keys.bindingSalt), keyId: keys.keyId
        }
        const qr = cryptoSettings.cryptoWork === "inline"
          ? encodeTicket(payload, keys.privateKey)
          : yield* Effect.promise(() => signTicket(payload, keys.privateKey))
        const prepared: PreparedTicket = { orderId, ticketId, qr, holder, order }
        return prepared
      })

    /**
     * Before a payment's transaction (inline issuance): the ticket the held order will have if the payment goes
     * through, signed while nothing is locked. What it is made of (run, seat, stops, price, holder) cannot change
     * while the order is held; the transaction checks the order is still held. Undefined when the order is not
     * the customer's held order (the payment's own checks answer why).
     */
    const prepare = (orderId: OrderId, customerId: CustomerId) =>
      Effect.flatMap(queries.first<IssuingOrder>(heldIssuingOrder, [orderId, customerId]), (order) =>
        order === undefined ? Effect.succeed(undefined) : signFor(orderId, order))

    /**
     * In the transaction that claimed the order's outbox row: store and deliver the order's one ticket. The order is
     * paid, or (`orderMarkedIssued`: a payment whose prepared ticket this is) already marked issued by the payment.
     */
    const store = (prepared: PreparedTicket, nowMs: number, orderMarkedIssued = false) =>
      Effect.gen(function* () {
        const { orderId, ticketId, qr, holder } = prepared
        yield* queries.run("INSERT INTO tickets (id, order_id, holder, key_id, qr_text, issued_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
          [ticketId, orderId, holder, keys.keyId, qr, nowMs])
        yield* faults.hit("issue.after-ticket-insert")
        if (!orderMarkedIssued) {
          const issued = yield* queries.all("UPDATE orders SET state = 'issued', issued_at_ms = ? WHERE id = ? AND state = 'paid' RETURNING id", [nowMs, orderId])
          if (issued.length !== 1) return yield* Effect.dieMessage(`order ${orderId} left 'paid' while its ticket was being issued`)
        }
        yield* delivery.deliverIssued({ id: ticketId, holder, issuedAtMs: nowMs }, prepared.order, nowMs)
        yield* enqueueUpstreamPush(sql, upstreamSettings, orderId, nowMs)
        yield* faults.hit("issue.before-commit")
        yield* metrics.ticketIssued
        const ticket: Ticket = { ticketId, orderId, qr, issuedAtMs: nowMs }
        return ticket
      })

    /** In the transaction that claimed the order's outbox row: sign, store and deliver its one ticket. */
    const issueClaimed = (orderId: OrderId, nowMs: number) =>
      Effect.gen(function* () {
        const order = yield* queries.first<IssuingOrder>(lockedIssuingOrder, [orderId])
        if (order?.state === "refunded") return undefined
        if (!order || order.state !== "paid") return yield* Effect.dieMessage(`outbox names order ${orderId} which is not paid`)
        return yield* store(yield* signFor(orderId, order), nowMs)
      })

    /** Claim the order's outbox row and issue; undefined when someone else already did. */
    const issueForOrder = (orderId: OrderId) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        return yield* sql.withTransaction(Effect.gen(function* () {
          const claimed = yield* queries.all("UPDATE outbox SET processed_at_ms = ? WHERE order_id = ? AND processed_at_ms IS NULL RETURNING id", [nowMs, orderId])
          if (claimed.length === 0) return undefined
          yield* faults.hit("issue.after-claim")
          return yield* issueClaimed(orderId, nowMs)
        }))
      }).pipe(Effect.withSpan("Issuance.issueForOrder", spanOptions))

    /** whether a payment's transaction issues the ticket itself (inline); with a prepared ticket it marks the order issued */
    const issuesInline = issuanceSettings.issuance === "inline"

    /**
     * Inside the payment transaction: the outbox row, and the ticket too when issuance is inline. With a prepared
     * ticket the payment has marked the order issued already (Checkout.ts `markPaid`); without one it is paid.
     */
    const enqueue = (orderId: OrderId, nowMs: number, prepared?: PreparedTicket) =>
      Effect.gen(function* () {
        if (!issuesInline) return yield* insertOutboxRow(orderId, nowMs)
        // issued right here: the row is written claimed, for the record of what was owed and when
        yield* queries.run("INSERT INTO outbox (kind, order_id, created_at_ms, processed_at_ms) VALUES ('issue-ticket', ?, ?, ?)", [orderId, nowMs, nowMs])
        yield* faults.hit("issue.after-claim")
        yield* (prepared === undefined ? issueClaimed(orderId, nowMs) : store(prepared, nowMs, true))
      })

    /** The order's live ticket, if it has one. */
    const liveTicket = (orderId: OrderId) =>
      Effect.map(queries.first<{ id: TicketId; qr_text: string; issued_at_ms: number }>(
        "SELECT id, qr_text, issued_at_ms FROM tickets WHERE order_id = ? AND voided_at_ms IS NULL", [orderId]),
      (row): Ticket | undefined => row && { ticketId: row.id, orderId, qr: row.qr_text, issuedAtMs: Number(row.issued_at_ms) })

    /**
     * After the payment's commit: issue (after-commit), or find what the payment issued (inline), or leave it to the
     * worker. The ticket, when the order has one now.
     */
    const issueAfterCommit = (orderId: OrderId) =>
      Effect.gen(function* () {
        if (issuanceSettings.issuance === "after-commit") return (yield* issueForOrder(orderId)) ?? (yield* liveTicket(orderId))
        if (issuanceSettings.issuance === "worker") return undefined
        return yield* liveTicket(orderId)
      })

    /**
     * The backstop: issue what the paying requests did not (a crash between commit and issue); the worker of "worker".
     * A batch is one transaction: it waits for the store's connection once, not once a ticket behind every request
     * queued meanwhile, so under load the worker keeps pace with the payments instead of falling minutes behind.
     */
    const sweepOutbox = Effect.gen(function* () {
      const pending = yield* sql<{ order_id: OrderId }>`SELECT order_id FROM outbox WHERE processed_at_ms IS NULL
        ORDER BY id LIMIT ${issuanceSettings.outboxBatchSize}`
      let issued = 0
      yield* sql.withTransaction(Effect.gen(function* () {
        for (const row of pending) {
          yield* faults.hit("sweep.before-issue")
          if ((yield* issueForOrder(row.order_id)) !== undefined) issued++
          yield* faults.hit("sweep.after-issue")
        }
      }))
      return issued
    }).pipe(Effect.withSpan("Issuance.sweepOutbox", spanOptions))

    /** A ticket voided by a refund or change is no longer shown: the order's state says why. */
    const getTicket = (customerId: CustomerId, orderId: OrderId) =>
      Effect.gen(function* () {
        const order = yield* queries.first<{ state: OrderState }>("SELECT state FROM orders WHERE id = ? AND customer_id = ?", [orderId, customerId])
        if (!order) return yield* new OrderNotFound({ orderId })
        // the mutation test's planted bug (reference/Config.ts plantedBug) keeps every ticket from its phone
        const ticket = faultSettings.plantedBug === "ticket-never-delivered" ? undefined : yield* liveTicket(orderId)
        if (!ticket) return yield* new TicketNotIssued({ orderId, state: order.state })
        return ticket
      })

    return { prepare, enqueue, issuesInline, issueAfterCommit, issueForOrder, sweepOutbox, getTicket, liveTicket, publicKeys: keys.publicKeysRaw } as const
  }),
  dependencies: [Ids.Default]
}) {}
