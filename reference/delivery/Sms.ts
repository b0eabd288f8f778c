/**
 * Ordering by SMS (seed 002 [0082], [0084], [0092], [0100]): a registered customer who knows the train
 * texts BUY; the server holds the seats and texts the order back for confirmation (order IDs, seats,
 * total, how to pay, when the hold expires); PAY confirms it and pays from the wallet through the same
 * Accounts service the app uses; CANCEL drops it (the texts stay on record); STATUS reports.
 * The gateway may deliver a text twice: its message ID is claimed first, and a repeat gets the stored reply.
 *
 * A phone whose answer was lost texts BUY again, under a new message ID. The order a BUY made is the answer
 * to the same BUY (same customer, train, date, journey and count) for as long as it awaits confirmation
 * ([0100]: the order is texted back for the customer to confirm or cancel): while any of its tickets is
 * held and unexpired, a repeated BUY gets that order's text and holds nothing. Once it was paid, cancelled
 * or has expired, the same BUY is a new order: a BUY names no traveller, so a second one after paying may
 * be for someone else (the one-ticket-per-ID-per-train rule of 12306 needs the travellers' IDs, which an SMS
 * BUY does not carry), and after a cancellation or an expiry ("text BUY again") it is what the customer asks.
 * The store decides who holds: a BUY first claims its request's row in `sms_buy_requests` (a conditional
 * insert on its primary key); a copy handled at the same moment finds the claim and waits for its order.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect, Either, Random } from "effect"
import { Accounts } from "../payments/Accounts.js"
import { runIdOf } from "../ticketing/Catalog.js"
import { SmsConfig } from "../Settings/Sms.js"
import { CalendarConfig } from "../Settings/Calendar.js"
import type { CustomerId, OrderId, RunId, StationCode } from "../Domain.js"
import { minuteOfDayText } from "../Domain.js"
import type { AuthenticatedDevice } from "./Delivery/Devices.js"
import { Orders } from "../ticketing/Orders.js"
import { OrdersRepo } from "../ticketing/Orders/Repo.js"
import type { OrderView } from "../ticketing/Orders/Repo.js"
import type { OutboundSms, SmsReply } from "./Sms/Api.js"
import { parseSmsCommand, smsOrderRefDigits, usage } from "./Sms/Command.js"
import type { SmsCommand } from "./Sms/Command.js"
import { SmsInboundInProgress, SmsMessageIdReused } from "./Sms/Errors.js"
import { fitText, SmsGateway } from "./Sms/GatewayPort.js"
import { spanOptions } from "../Spans.js"

const yuan = (fen: number) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`
const minutesPerDay = 1_440

/** `HH:MM` of an epoch time in the server's UTC offset. */
export const clockTimeOf = (epochMs: number, utcOffsetMinutes: number) => {
  const minuteOfDay = ((Math.floor(epochMs / 60_000) + utcOffsetMinutes) % minutesPerDay + minutesPerDay) % minutesPerDay
  return minuteOfDayText(minuteOfDay)
}

export const notRegisteredReply =
  "Chunyun: this number is not registered. Register in the Chunyun app first, then text BUY <train> <yyyymmdd> <FROM>-<TO> [count]."

const seatOf = (order: OrderView) => `${order.coach}-${order.seat_code}`
const journeyOf = (order: OrderView) => `${order.train_code} ${order.service_date} ${order.from_station}-${order.to_station}`
const bySeat = (a: OrderView, b: OrderView) => a.coach - b.coach || a.seat_code.localeCompare(b.seat_code)

/** What a BUY asks for: the same customer texting the same BUY again asks for the same thing. */
interface BuyRequest {
  readonly customerId: CustomerId
  readonly runId: RunId
  readonly fromStation: string
  readonly toStation: string
  readonly ticketCount: number
}

/**
 * A BUY's claim on its request: this BUY holds the seats (its claim is known by when it was made), the
 * same BUY's order awaits confirmation, or another copy of it was still holding when the wait ran out.
 */
type BuyClaim =
  | { readonly _tag: "Claimed"; readonly claimedAtMs: number }
  | { readonly _tag: "Ordered"; readonly ref: string; readonly items: ReadonlyArray<OrderView> }
  | { readonly _tag: "Busy" }

/** an SMS order awaits confirmation while any of its tickets is held and the hold has not run out */
const awaitingConfirmation = (items: ReadonlyArray<OrderView>, nowMs: number) =>
  items.some((order) => order.state === "held" && Number(order.hold_expires_at_ms) > nowMs)

export class Sms extends Effect.Service<Sms>()("Sms", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const smsSettings = yield* SmsConfig
    const calendarSettings = yield* CalendarConfig
    const gateway = yield* SmsGateway
    const orders = yield* Orders
    const ordersRepo = yield* OrdersRepo
    const accounts = yield* Accounts

    const drawRef = Effect.map(
      Effect.all(Array.from({ length: smsOrderRefDigits }, () => Random.nextIntBetween(0, 10))), (digits) => digits.join(""))

    const itemsOf = (customerId: CustomerId, ref: string) =>
      Effect.gen(function* () {
        const rows = yield* sql<{ order_id: OrderId }>`SELECT order_id FROM sms_order_items
          WHERE customer_id = ${customerId} AND ref = ${ref} ORDER BY order_id`
        const views = yield* Effect.forEach(rows, (row) => ordersRepo.byId(row.order_id))
        return views.filter((view): view is OrderView => view !== undefined).sort(bySeat)
      })

    /** A held order given back (held → cancelled, its seat bits released); false when it was no longer held. */
    const cancelHeld = (order: OrderView, nowMs: number) =>
      Effect.gen(function* () {
        const cancelled = yield* ordersRepo.transition(order.id, "held", "cancelled", { column: "closed_at_ms", atMs: nowMs })
        if (cancelled) yield* ordersRepo.releaseSeat(order.seat_id, Number(order.segment_mask))
        return cancelled
      }).pipe(sql.withTransaction)

    const requestIs = (request: BuyRequest) => sql`customer_id = ${request.customerId} AND run_id = ${request.runId}
      AND from_station = ${request.fromStation} AND to_station = ${request.toStation} AND ticket_count = ${request.ticketCount}`

    /**
     * Claims `request` for this BUY, or finds the order the same BUY made that still awaits confirmation.
     * Every change is one conditional write, so of two copies handled at once one claims and the other
     * waits (at most `maxSmsBuyWaitMs`) for its order; a claim left unfiled by a server that died is taken
     * over after `smsBuyClaimTimeoutMs`.
     */
    const claimBuy = (request: BuyRequest) =>
      Effect.gen(function* () {
        const startMs = yield* Clock.currentTimeMillis
        const maxLooks = Math.ceil(smsSettings.maxSmsBuyWaitMs / smsSettings.smsBuyWaitPollMs) + 1
        for (let look = 0; look < maxLooks; look++) {
          const nowMs = yield* Clock.currentTimeMillis
          const claimed: BuyClaim = { _tag: "Claimed", claimedAtMs: nowMs }
          const inserted = yield* sql`INSERT INTO sms_buy_requests (customer_id, run_id, from_station, to_station, ticket_count, claimed_at_ms)
            VALUES (${request.customerId}, ${request.runId}, ${request.fromStation}, ${request.toStation}, ${request.ticketCount}, ${nowMs})
            ON CONFLICT DO NOTHING RETURNING claimed_at_ms`
          if (inserted.length > 0) return claimed
          const [earlier] = yield* sql<{ ref: string | null; claimed_at_ms: number }>`SELECT ref, claimed_at_ms FROM sms_buy_requests
            WHERE ${requestIs(request)}`
          // let go since the insert (the other copy was refused): claim it afresh
          if (!earlier) continue
          if (earlier.ref !== null) {
            const items = yield* itemsOf(request.customerId, earlier.ref)
            if (awaitingConfirmation(items, nowMs)) return { _tag: "Ordered", ref: earlier.ref, items } satisfies BuyClaim
            // that order was paid, cancelled or has expired: this BUY is a new order
            const taken = yield* sql`UPDATE sms_buy_requests SET ref = NULL, claimed_at_ms = ${nowMs}
              WHERE ${requestIs(request)} AND ref = ${earlier.ref} RETURNING claimed_at_ms`
            if (taken.length > 0) return claimed
            continue
          }
          if (Number(earlier.claimed_at_ms) <= nowMs - smsSettings.smsBuyClaimTimeoutMs) {
            const taken = yield* sql`UPDATE sms_buy_requests SET claimed_at_ms = ${nowMs}
              WHERE ${requestIs(request)} AND ref IS NULL AND claimed_at_ms = ${earlier.claimed_at_ms} RETURNING claimed_at_ms`
            if (taken.length > 0) return claimed
            continue
          }
          if (nowMs - startMs >= smsSettings.maxSmsBuyWaitMs) break
          yield* Effect.sleep(smsSettings.smsBuyWaitPollMs)
        }
        return { _tag: "Busy" } satisfies BuyClaim
      })

    /** Lets an unfiled claim go (the BUY was refused, or died), so the same BUY sent again is handled afresh. */
    const letGo = (request: BuyRequest, claimedAtMs: number) =>
      sql`DELETE FROM sms_buy_requests WHERE ${requestIs(request)} AND ref IS NULL AND claimed_at_ms = ${claimedAtMs}`

    /** Files the held orders under a fresh reference of the customer's, and under the BUY request that claimed them. */
    const fileOrder = (request: BuyRequest, claimedAtMs: number, orderIds: ReadonlyArray<OrderId>, nowMs: number) =>
      Effect.gen(function* () {
        const customerId = request.customerId
        for (let attempt = 0; attempt < smsSettings.maxSmsOrderRefAttempts; attempt++) {
          const ref = yield* drawRef
          const filed = yield* sql`INSERT INTO sms_orders (customer_id, ref, created_at_ms) VALUES (${customerId}, ${ref}, ${nowMs})
            ON CONFLICT DO NOTHING RETURNING ref`
          if (filed.length === 0) continue
          yield* sql`INSERT INTO sms_order_items ${sql.insert(orderIds.map((orderId) => ({ order_id: orderId, customer_id: customerId, ref })))}`
          // no row when a stale claim was taken over meanwhile: this order stands, the later claim's BUY answers its own
          yield* sql`UPDATE sms_buy_requests SET ref = ${ref} WHERE ${requestIs(request)} AND ref IS NULL AND claimed_at_ms = ${claimedAtMs}`
          return ref
        }
        return yield* Effect.dieMessage(`no free SMS order reference for ${customerId} in ${smsSettings.maxSmsOrderRefAttempts} draws`)
      }).pipe(sql.withTransaction)

    /** The order texted back for confirmation: order IDs, seats, total, how to pay and by when, how to cancel. */
    const orderReply = (ref: string, items: ReadonlyArray<OrderView>) => {
      const sorted = [...items].sort(bySeat)
      const totalFen = sorted.reduce((sum, order) => sum + Number(order.price_fen), 0)
      const expiresAtMs = Math.min(...sorted.map((order) => Number(order.hold_expires_at_ms)))
      return `Chunyun order ${ref}: ${journeyOf(sorted[0]!)}, ${sorted.length} ticket(s): ` +
        `${sorted.map((order) => `${order.id} seat ${seatOf(order)}`).join("; ")}. Total ${yuan(totalFen)} yuan. ` +
        `To pay from your wallet text PAY ${ref} <payment password> before ${clockTimeOf(expiresAtMs, calendarSettings.utcOffsetMinutes)}; ` +
        `to cancel text CANCEL ${ref}.`
    }

    /** Holds the BUY's seats, all or nothing: a party of two does not want one seat. The held orders, or the refusal to text. */
    const holdAll = (customerId: CustomerId, command: Extract<SmsCommand, { _tag: "Buy" }>, runId: RunId) =>
      Effect.gen(function* () {
        const request = { runId, fromStation: command.fromStation as StationCode, toStation: command.toStation as StationCode }
        const held: Array<OrderView> = []
        for (let ticket = 0; ticket < command.count; ticket++) {
          const outcome = yield* Effect.either(orders.hold(customerId, request))
          if (Either.isRight(outcome)) {
            const view = yield* ordersRepo.byId(outcome.right.orderId)
            if (view) held.push(view)
            continue
          }
          const nowMs = yield* Clock.currentTimeMillis
          for (const order of held) yield* cancelHeld(order, nowMs)
          const error = outcome.left
          const journey = `${command.trainCode} ${command.serviceDate} ${command.fromStation}-${command.toStation}`
          switch (error._tag) {
            case "TrainRunNotFound": return Either.left(`Chunyun: there is no train ${command.trainCode} on ${command.serviceDate}.`)
            case "InvalidSegment": return Either.left(`Chunyun: ${error.message}.`)
            case "SalesClosed": return Either.left(`Chunyun: ${journey} is no longer sold: sales closed at ${clockTimeOf(error.closedAtMs, calendarSettings.utcOffsetMinutes)}. Nothing was held.`)
            case "SoldOut": return Either.left(`Chunyun: ${journey} has fewer than ${command.count} free seats. Nothing was held.`)
            // a BUY names neither a class nor a seat; a full waiting queue (inventory "queue") is worth another try
            default: return Either.left(`Chunyun: ${journey} could not be held (${error._tag}). Nothing was held; text BUY again.`)
          }
        }
        return Either.right(held)
      })

    const buy = (customerId: CustomerId, command: Extract<SmsCommand, { _tag: "Buy" }>) =>
      Effect.gen(function* () {
        const runId = runIdOf(command.trainCode, command.serviceDate)
        const request: BuyRequest = { customerId, runId, fromStation: command.fromStation, toStation: command.toStation, ticketCount: command.count }
        const claim = yield* claimBuy(request)
        if (claim._tag === "Ordered") return orderReply(claim.ref, claim.items)
        if (claim._tag === "Busy") {
          return `Chunyun: your BUY ${command.trainCode} ${command.serviceDate} ${command.fromStation}-${command.toStation} is still being handled; ` +
            "its order follows by SMS. Text STATUS if it does not come."
        }
        return yield* Effect.gen(function* () {
          const held = yield* holdAll(customerId, command, runId)
          if (Either.isLeft(held)) {
            yield* letGo(request, claim.claimedAtMs)
            return held.left
          }
          const ref = yield* fileOrder(request, claim.claimedAtMs, held.right.map((order) => order.id), yield* Clock.currentTimeMillis)
          return orderReply(ref, held.right)
        }).pipe(Effect.onError(() => letGo(request, claim.claimedAtMs).pipe(Effect.ignore)))
      })

    const pay = (customerId: CustomerId, ref: string, paymentPassword: string) =>
      Effect.gen(function* () {
        const items = yield* itemsOf(customerId, ref)
        if (items.length === 0) return `Chunyun: no SMS order ${ref} for this number. Text STATUS for your orders.`
        let paidFen = 0
        let paidCount = 0
        for (const order of items) {
          if (order.state === "paid" || order.state === "issued") continue
          if (order.state !== "held") return `Chunyun: order ${ref} can no longer be paid: ${order.id} is ${order.state}.`
          const outcome = yield* Effect.either(accounts.pay(customerId, order.id, `sms-${ref}-${order.id}`, paymentPassword))
          if (Either.isRight(outcome)) {
            paidFen += outcome.right.amountFen
            paidCount++
            continue
          }
          const error = outcome.left
          const reason =
            error._tag === "PaymentPasswordWrong" ? `wrong payment password (${error.attemptsLeft} tries left)`
            : error._tag === "PaymentLocked" ? "payments are locked after too many wrong payment passwords"
            : error._tag === "InsufficientFunds" ? `your wallet holds ${yuan(error.balanceFen)} yuan, ${yuan(error.neededFen)} needed`
            : error._tag === "HoldExpired" ? `the hold expired at ${clockTimeOf(error.expiredAtMs, calendarSettings.utcOffsetMinutes)}; text BUY again`
            : error._tag === "OrderNotPayable" ? `${order.id} is ${error.state}`
            : error._tag === "HoldDisplaced" ? `the seat of ${order.id} went to a device installed earlier that chose it at the same moment; text BUY again`
            : `${order.id} could not be paid (${error._tag})`
          const sofar = paidCount === 0 ? "Nothing was paid" : `${paidCount} ticket(s) were paid (${yuan(paidFen)} yuan)`
          return `Chunyun: order ${ref} not fully paid: ${reason}. ${sofar}.`
        }
        const totalFen = items.reduce((sum, order) => sum + Number(order.price_fen), 0)
        return `Chunyun: order ${ref} is paid: ${items.length} ticket(s), ${yuan(totalFen)} yuan from your wallet. Ticket notices follow by SMS.`
      })

    const cancel = (customerId: CustomerId, ref: string) =>
      Effect.gen(function* () {
        const items = yield* itemsOf(customerId, ref)
        if (items.length === 0) return `Chunyun: no SMS order ${ref} for this number. Text STATUS for your orders.`
        const nowMs = yield* Clock.currentTimeMillis
        let cancelled = 0
        for (const order of items) if (order.state === "held" && (yield* cancelHeld(order, nowMs))) cancelled++
        const paid = items.filter((order) => order.state === "paid" || order.state === "issued").length
        return `Chunyun: order ${ref}: ${cancelled} held ticket(s) cancelled.` +
          (paid > 0 ? ` ${paid} paid ticket(s) stay valid; refunds are made in the app.` : "")
      })

    const describe = (ref: string, items: ReadonlyArray<OrderView>) =>
      `${ref} ${journeyOf(items[0]!)}: ${items.map((order) => `${seatOf(order)} ${order.state}` +
        (order.state === "held" ? ` until ${clockTimeOf(Number(order.hold_expires_at_ms), calendarSettings.utcOffsetMinutes)}` : "")).join(", ")}`

    const status = (customerId: CustomerId, ref: string | undefined) =>
      Effect.gen(function* () {
        const refs = ref !== undefined ? [ref] : (yield* sql<{ ref: string }>`SELECT ref FROM sms_orders WHERE customer_id = ${customerId}
          ORDER BY created_at_ms DESC, ref LIMIT ${smsSettings.smsStatusOrderCount}`).map((row) => row.ref)
        const described: Array<string> = []
        for (const each of refs) {
          const items = yield* itemsOf(customerId, each)
          if (items.length > 0) described.push(describe(each, items))
        }
        if (described.length === 0) return ref !== undefined ? `Chunyun: no SMS order ${ref} for this number.` : "Chunyun: you have no SMS orders."
        return `Chunyun: ${described.join("; ")}.`
      })

    const answer = (from: string, text: string) =>
      Effect.gen(function* () {
        const [customer] = yield* sql<{ id: CustomerId }>`SELECT id FROM customers WHERE phone = ${from}`
        if (!customer) return notRegisteredReply
        if (text.length > smsSettings.maxInboundSmsChars) {
          return `Chunyun: could not read your message: it has ${text.length} characters, at most ${smsSettings.maxInboundSmsChars}. ${usage}`
        }
        const parsed = parseSmsCommand(text, smsSettings.maxTicketsPerSmsOrder)
        if (!parsed.ok) return `Chunyun: could not read your message: ${parsed.problem}`
        const command = parsed.command
        switch (command._tag) {
          case "Buy": return yield* buy(customer.id, command)
          case "Pay": return yield* pay(customer.id, command.ref, command.paymentPassword)
          case "Cancel": return yield* cancel(customer.id, command.ref)
          case "Status": return yield* status(customer.id, command.ref)
        }
      })

    /** The stored reply to a repeated delivery, or nothing when this delivery may answer it (a stale claim taken over). */
    const repeated = (smsGateway: AuthenticatedDevice, inbound: { messageId: string; from: string; text: string }, nowMs: number) =>
      Effect.gen(function* () {
        const [earlier] = yield* sql<{ from_phone: string; text: string; reply_id: number | null; reply_text: string | null }>`
          SELECT from_phone, text, reply_id, reply_text FROM sms_inbound WHERE gateway_id = ${smsGateway.id} AND message_id = ${inbound.messageId}`
        if (!earlier || earlier.from_phone !== inbound.from || earlier.text !== inbound.text) {
          return yield* new SmsMessageIdReused({ messageId: inbound.messageId })
        }
        if (earlier.reply_id !== null && earlier.reply_text !== null) {
          const replay: SmsReply = { messageId: inbound.messageId, reply: earlier.reply_text, replyOutboundId: Number(earlier.reply_id) }
          return replay
        }
        const takenOver = yield* sql`UPDATE sms_inbound SET received_at_ms = ${nowMs}
          WHERE gateway_id = ${smsGateway.id} AND message_id = ${inbound.messageId} AND reply_id IS NULL
            AND received_at_ms <= ${nowMs - smsSettings.smsInboundClaimTimeoutMs}
          RETURNING message_id`
        if (takenOver.length === 0) return yield* new SmsInboundInProgress({ messageId: inbound.messageId })
        return undefined
      })

    /** A text delivered by an SMS gateway: claim its message ID, answer it, send and store the reply. */
    const receive = (smsGateway: AuthenticatedDevice, inbound: { messageId: string; from: string; text: string }) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const claimed = yield* sql`INSERT INTO sms_inbound (gateway_id, message_id, from_phone, text, received_at_ms)
          VALUES (${smsGateway.id}, ${inbound.messageId}, ${inbound.from}, ${inbound.text}, ${nowMs})
          ON CONFLICT DO NOTHING RETURNING message_id`
        if (claimed.length === 0) {
          const replay = yield* repeated(smsGateway, inbound, nowMs)
          if (replay) return replay
        }
        // a defect while answering frees the claim, so the gateway's retry is answered afresh
        const replyText = fitText(yield* answer(inbound.from, inbound.text).pipe(Effect.onError(() =>
          sql`DELETE FROM sms_inbound WHERE gateway_id = ${smsGateway.id} AND message_id = ${inbound.messageId}`.pipe(Effect.ignore))),
          gateway.maxTextChars)
        const sent = yield* gateway.send({
          to: inbound.from, text: replyText, purpose: "reply", dedupeKey: `sms-reply:${smsGateway.id}:${inbound.messageId}`
        })
        // a server that died after sending already answered: the phone has that text, so it is the reply on record
        const [onRecord] = sent.duplicate ? yield* sql<{ text: string }>`SELECT text FROM sms_outbound WHERE id = ${sent.outboundId}` : []
        const replyOnRecord = onRecord?.text ?? replyText
        yield* sql`UPDATE sms_inbound SET reply_id = ${sent.outboundId}, reply_text = ${replyOnRecord}
          WHERE gateway_id = ${smsGateway.id} AND message_id = ${inbound.messageId}`
        const reply: SmsReply = { messageId: inbound.messageId, reply: replyOnRecord, replyOutboundId: sent.outboundId }
        return reply
      }).pipe(Effect.withSpan("Sms.receive", spanOptions))

    /** Texts to send, for a gateway device to pull in order of their IDs. */
    const outbound = (afterId: number, limit: number | undefined) =>
      Effect.gen(function* () {
        const pageSize = Math.min(limit ?? smsSettings.smsOutboundPageSize, smsSettings.smsOutboundPageSize)
        const rows = yield* sql<{ id: number; to_phone: string; text: string; purpose: OutboundSms["purpose"]; created_at_ms: number }>`
          SELECT id, to_phone, text, purpose, created_at_ms FROM sms_outbound WHERE id > ${afterId} ORDER BY id LIMIT ${pageSize}`
        const texts: Array<OutboundSms> = rows.map((row) => ({
          id: Number(row.id), to: row.to_phone, text: row.text, purpose: row.purpose, createdAtMs: Number(row.created_at_ms)
        }))
        return { texts, nextAfterId: texts.at(-1)?.id ?? afterId }
      })

    return { receive, outbound } as const
  }),
  dependencies: [OrdersRepo.Default]
}) {}
