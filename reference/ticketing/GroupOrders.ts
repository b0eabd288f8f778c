/**
 * Group orders (reference/ticketing/GroupOrders/Api.ts): one transaction takes a place for every holder, writes one
 * issued order per holder (owned by the organiser, who paid), one `order-payment` transfer per order from the
 * organiser's wallet to the centre, and one signed ticket per order bound to its holder's phone, with its
 * delivery job (SMS notice, SIM carrier). Nothing waits in the outbox: payment and issuance commit together,
 * so a crash leaves either the whole group or none of it. The ledger, the seats and the tickets are the same
 * rows a single purchase writes, so every invariant of the auditor covers group tickets as they are.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect, Option } from "effect"
import { centreAccountId, walletAccountId } from "../payments/Accounts/Repo.js"
import { UnknownSeatClass } from "./Catalog/Errors.js"
import { CalendarConfig } from "../Settings/Calendar.js"
import { UpstreamConfig } from "../Settings/Upstream.js"
import { Customers } from "../customers/Customers.js"
import { Invoices } from "../customers/Customers/Invoices.js"
import { Delivery } from "../delivery/Delivery.js"
import { Fen, FenTotal, InsufficientFunds, SalesClosed, SoldOut, TrainRunNotFound } from "../Domain.js"
import type { CustomerId, OrderId, PhoneNumber, RunId, TicketId, TransferId } from "../Domain.js"
import { GroupOrderNotAllowed, GroupOrderResult as GroupOrderResultSchema } from "./GroupOrders/Api.js"
import type { GroupOrderRequest, GroupOrderResult, GroupTicket } from "./GroupOrders/Api.js"
import { idempotent, lookupKey } from "../Idempotency.js"
import { Ids } from "../Ids.js"
import { TicketKeys } from "../delivery/Issuance/Keys.js"
import { bindingTagFor, encodeTicket } from "../delivery/Issuance/TicketCode.js"
import { onSaleAt, salesCloseAtMs } from "./Orders/SalesClose.js"
import { forUpdate } from "../Store/Dialect.js"
import { enqueueUpstreamPush } from "../delivery/Upstream.js"
import { Metrics } from "../operations/Metrics.js"
import { spanOptions } from "../Spans.js"

/** an event has one segment: its places are taken on bit 0 */
const eventSegmentMask = 1
/** rows per multi-row INSERT: 13 columns × 250 stays far below both stores' parameter limits */
const insertBatchRows = 250
/** rounds of claiming places when a concurrent hold took some of the candidates (PostgreSQL) */
const maxClaimRounds = 4

interface EventRun {
  readonly train_code: string; readonly service_date: string; readonly kind: string
  readonly venue: string; readonly start_minute_of_day: number
}

const chunks = <A>(rows: ReadonlyArray<A>) =>
  Array.from({ length: Math.ceil(rows.length / insertBatchRows) }, (_, index) => rows.slice(index * insertBatchRows, (index + 1) * insertBatchRows))

export class GroupOrders extends Effect.Service<GroupOrders>()("GroupOrders", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const calendar = yield* CalendarConfig
    const upstreamSettings = yield* UpstreamConfig
    const customers = yield* Customers
    const invoices = yield* Invoices
    const delivery = yield* Delivery
    const keys = yield* TicketKeys
    const metrics = yield* Metrics
    const ids = yield* Ids

    /** The event, still on sale at `nowMs`: a group takes no place once the event's sales have closed. */
    const eventOf = (runId: RunId, nowMs: number) =>
      Effect.gen(function* () {
        const [run] = yield* sql<EventRun>`SELECT r.train_code, r.service_date, r.kind, s.station_code AS venue,
            s.departure_minute_of_day AS start_minute_of_day
          FROM train_runs r JOIN run_stops s ON s.run_id = r.id AND s.stop_index = 0 WHERE r.id = ${runId}`
        if (!run) return yield* new TrainRunNotFound({ runId })
        if (run.kind !== "event") return yield* new GroupOrderNotAllowed({ runId, reason: `group orders are sold for events, this run is a ${run.kind}` })
        const closedAtMs = salesCloseAtMs(calendar, "event", run.service_date, Number(run.start_minute_of_day))
        if (!onSaleAt(nowMs, closedAtMs)) return yield* new SalesClosed({ runId, fromStation: run.venue, closedAtMs })
        return run
      })

    /** Takes `count` free places of the class, lowest IDs first, with the conditional write of a single hold. */
    const claimPlaces = (runId: RunId, seatClass: string, count: number) =>
      Effect.gen(function* () {
        const claimed: Array<{ id: number; coach: number; seat_code: string }> = []
        for (let round = 0; round < maxClaimRounds && claimed.length < count; round++) {
          const rows = yield* sql<{ id: number; coach: number; seat_code: string }>`UPDATE seats
            SET occupied_mask = occupied_mask | ${eventSegmentMask}, version = version + 1
            WHERE id IN (SELECT id FROM seats WHERE run_id = ${runId} AND seat_class = ${seatClass}
                           AND (occupied_mask & ${eventSegmentMask}) = 0 ORDER BY id LIMIT ${count - claimed.length} ${forUpdate(sql)})
              AND (occupied_mask & ${eventSegmentMask}) = 0
            RETURNING id, coach, seat_code`
          if (rows.length === 0) break
          claimed.push(...rows)
        }
        // RETURNING gives no order: sort, so the same request on the same store gives the same places to the same holders
        return claimed.map((row) => ({ id: Number(row.id), coach: Number(row.coach), seatCode: row.seat_code })).sort((a, b) => a.id - b.id)
      })

    /** Inside the transaction: the whole group, or (by failing) nothing. */
    const buyInTransaction = (organiser: CustomerId, request: GroupOrderRequest, nowMs: number) =>
      Effect.gen(function* () {
        const run = yield* eventOf(request.runId, nowMs)
        const [fare] = yield* sql<{ fare_fen: number }>`SELECT fare_fen FROM run_fares
          WHERE run_id = ${request.runId} AND seat_class = ${request.seatClass} AND stop_index = 0`
        if (!fare) return yield* new UnknownSeatClass({ runId: request.runId, seatClass: request.seatClass })
        const priceFen = Fen.make(Number(fare.fare_fen))
        const amountFen = FenTotal.make(priceFen * request.holders.length)
        // the wallet first: a group the organiser cannot pay for takes no place
        const debited = yield* sql`UPDATE accounts SET balance_fen = balance_fen - ${amountFen}
          WHERE id = ${walletAccountId(organiser)} AND balance_fen >= ${amountFen} RETURNING id`
        if (debited.length !== 1) {
          const [wallet] = yield* sql<{ balance_fen: number }>`SELECT balance_fen FROM accounts WHERE id = ${walletAccountId(organiser)}`
          return yield* new InsufficientFunds({ balanceFen: FenTotal.make(Number(wallet?.balance_fen ?? 0)), neededFen: amountFen })
        }
        const places = yield* claimPlaces(request.runId, request.seatClass, request.holders.length)
        if (places.length < request.holders.length) {
          return yield* new SoldOut({ runId: request.runId, fromStation: run.venue, toStation: run.venue })
        }
        const tickets = yield* Effect.forEach(request.holders, (holder, index) =>
          issueOne(run, holder, places[index]!, priceFen))
        yield* insertRows(organiser, request.runId, tickets, priceFen, nowMs)
        yield* invoices.afterCapture(organiser, amountFen, nowMs)
        const result: GroupOrderResult = { runId: request.runId, amountFen, tickets: tickets.map((ticket) => ticket.ticket) }
        return result
      })

    const issueOne = (run: EventRun, holder: PhoneNumber, place: { id: number; coach: number; seatCode: string }, priceFen: Fen) =>
      Effect.gen(function* () {
        const orderId = yield* ids.orderId
        const transferId = yield* ids.transferId
        const ticketId = yield* ids.ticketId
        const qr = encodeTicket({
          ticketId, kind: "event", serviceDate: run.service_date, departureMinuteOfDay: Number(run.start_minute_of_day), priceFen,
          trainCode: run.train_code, coach: place.coach, seatCode: place.seatCode, fromStation: run.venue, toStation: run.venue,
          bindingTag: bindingTagFor(holder, keys.bindingSalt), keyId: keys.keyId
        }, keys.privateKey)
        const ticket: GroupTicket = { holder, orderId, ticketId, coach: place.coach, seatCode: place.seatCode, qr }
        return { ticket, transferId, seatId: place.id }
      })

    const insertRows = (
      organiser: CustomerId, runId: RunId,
      issued: ReadonlyArray<{ ticket: GroupTicket; transferId: TransferId; seatId: number }>, priceFen: Fen, nowMs: number
    ) =>
      Effect.gen(function* () {
        for (const chunk of chunks(issued)) {
          yield* sql`INSERT INTO orders ${sql.insert(chunk.map(({ ticket, seatId }) => ({
            id: ticket.orderId, customer_id: organiser, run_id: runId, seat_id: seatId, from_index: 0, to_index: 1,
            segment_mask: eventSegmentMask, price_fen: priceFen, state: "issued", held_at_ms: nowMs, hold_expires_at_ms: nowMs,
            paid_at_ms: nowMs, issued_at_ms: nowMs
          })))}`
          yield* sql`INSERT INTO transfers ${sql.insert(chunk.map(({ ticket, transferId }) => ({
            id: transferId, debit_account_id: walletAccountId(organiser), credit_account_id: centreAccountId, amount_fen: priceFen,
            purpose: "order-payment", order_id: ticket.orderId, created_at_ms: nowMs
          })))}`
          yield* sql`INSERT INTO tickets ${sql.insert(chunk.map(({ ticket }) => ({
            id: ticket.ticketId, order_id: ticket.orderId, holder: ticket.holder, key_id: keys.keyId, qr_text: ticket.qr, issued_at_ms: nowMs
          })))}`
        }
        for (const { ticket } of issued) {
          yield* delivery.enqueue(ticket.ticketId as TicketId, nowMs)
          yield* enqueueUpstreamPush(sql, upstreamSettings, ticket.orderId as OrderId, nowMs)
        }
        yield* metrics.groupOrderSold(issued.length)
      })

    /**
     * Buy for a group. A replay of a stored key answers before the password is checked (as a single payment
     * does); a new key costs one payment-password check for the whole group.
     */
    const buy = (organiser: CustomerId, key: string, request: GroupOrderRequest) =>
      Effect.gen(function* () {
        const { paymentPassword, ...order } = request
        const fingerprint = { endpoint: "groupOrder", ...order }
        const replay = yield* lookupKey(organiser, key, fingerprint, GroupOrderResultSchema)
        if (Option.isSome(replay)) return replay.value
        yield* customers.verifyPaymentPassword(organiser, paymentPassword)
        const nowMs = yield* Clock.currentTimeMillis
        const result = yield* idempotent({ scope: organiser, key, request: fingerprint, schema: GroupOrderResultSchema, nowMs },
          buyInTransaction(organiser, request, nowMs)).pipe(sql.withTransaction)
        // deliver after the commit, as issuance does; a failure leaves the jobs to the delivery sweeper
        yield* Effect.forEach(result.tickets, (ticket) => delivery.deliver(ticket.ticketId).pipe(Effect.catchAllCause(Effect.logWarning)), { discard: true })
        return result
      }).pipe(Effect.withSpan("GroupOrders.buy", spanOptions))

    return { buy } as const
  })
}) {}
