/**
 * A phone without the app books by SMS (seed 002): its owner registered and topped up the wallet earlier
 * (at a counter or on the web), and knows the train. It texts BUY, reads the order reference and the seat
 * from the answer, texts PAY with the payment password, and waits for the ticket notice; when the notice
 * does not come it texts STATUS, a bounded number of times. Texts go through the SMS gateway, which may
 * lose or delay them (`sms-loss`): a command with no answer after `replyTimeoutMs` is sent again, at most
 * `maxSmsResends` times. A re-sent PAY is safe (the server pays each order once); a re-sent BUY is answered
 * with the order the first one made while that order awaits payment. Only a BUY that reaches the server after
 * the first order was paid or had expired holds a second one, which the phone cancels when its answer turns up.
 */
import { Clock, Effect } from "effect"
import type { Fen } from "../../reference/Domain.js"
import { outcomeOf } from "../../devices/HistoryEvents.js"
import type { EventDetail, HistoryKind } from "../../devices/HistoryEvents.js"
import { note as noteNow, sent } from "../../devices/Instruments.js"
import { bearer, withCredentials } from "../../devices/Client.js"
import type { ApiClient } from "../../devices/Client.js"
import type { Passenger, Trip } from "../../devices/Phone.js"
import { passwordOf, paymentPasswordOf } from "../../devices/Phone.js"
import type { SmsCallRecord, SmsNetwork } from "../../devices/SmsRelay.js"

/** What every SMS phone of a run shares; its history and network are services (devices/Instruments.ts). */
export interface SmsPhoneEnvironment {
  readonly anonymous: ApiClient
  readonly sms: SmsNetwork
  readonly sleepScenario: (ms: number) => Effect.Effect<void>
  readonly scenarioNowMs: Effect.Effect<number>
  readonly thinkTime: Effect.Effect<void>
  readonly trainCodeOf: (trainIndex: number) => string
  readonly serviceDateOf: (trainIndex: number) => string
  /** what the trip costs at most: the wallet is topped up by this much before the rush */
  readonly fareFenOf: (trip: Trip) => number
  readonly replyTimeoutMs: number
  readonly maxSmsResends: number
  readonly ticketNoticeTimeoutMs: number
  readonly statusPollIntervalMs: number
  readonly maxStatusPolls: number
}

/** how often a waiting phone looks at its inbox (its owner glancing at the screen) */
export const inboxCheckIntervalMs = 1_000

/** an SMS order of one ticket as the phone knows it: from the answer to BUY, or from STATUS (which names no order ID) */
export interface SmsOrder { readonly ref: string; readonly seat: string; readonly journey: string; readonly orderId: string | null }

const orderPattern = /^Chunyun order (\d{6}): (\S+ \S+ \S+), 1 ticket\(s\): (O[0-9a-f]{16}) seat (\d+-\w+)\./
export const orderOf = (text: string): (SmsOrder & { readonly orderId: string }) | undefined => {
  const match = orderPattern.exec(text)
  return match ? { ref: match[1]!, journey: match[2]!, orderId: match[3]!, seat: match[4]! } : undefined
}

type BuyAnswer = { readonly _tag: "Order"; readonly order: SmsOrder } | { readonly _tag: "Refused"; readonly reason: string }
type PayAnswer = { readonly _tag: "Paid" } | { readonly _tag: "Refused"; readonly reason: string }

class NoSmsAnswer {
  readonly _tag = "NoSmsAnswer"
  constructor(readonly command: string) {}
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

export const smsJourney = (env: SmsPhoneEnvironment, passenger: Passenger, afterPurchase: Effect.Effect<void> = Effect.void) => {
  const trip = passenger.trip
  if (!trip) return Effect.dieMessage(`passenger ${passenger.index} has no train trip: the SMS journey needs one`)
  const actor = `phone-${passenger.index}`
  const journey = `${env.trainCodeOf(trip.train)} ${env.serviceDateOf(trip.train)} ${trip.fromStation}-${trip.toStation}`
  const call = <A, E, R>(kind: HistoryKind, effect: Effect.Effect<A, E, R>) => sent(actor, kind, effect)
  const note = (kind: HistoryKind, outcome: string, detail?: EventDetail) => noteNow(actor, kind, outcome, detail)

  /** The owner's setup before texting: an account with a payment password and money in the wallet. */
  const registered = Effect.gen(function* () {
    yield* call("register", env.anonymous.customers.register({
      payload: { phone: passenger.phone, password: passwordOf(passenger), paymentPassword: paymentPasswordOf(passenger), residentId: passenger.residentId }
    }))
    const session = yield* call("login", env.anonymous.customers.login({ payload: { phone: passenger.phone, password: passwordOf(passenger) } }))
    yield* call("top-up", env.anonymous.accounts.topUp({
      headers: { "idempotency-key": `sms-topup-${String(passenger.index).padStart(8, "0")}` },
      payload: { amountFen: env.fareFenOf(trip) as Fen }
    })).pipe(withCredentials(bearer(session.token)))
  })

  /** The first text since `since` (an inbox position) that `read` understands, within `timeoutMs`. */
  const awaitText = <A>(since: number, read: (text: string) => A | undefined, timeoutMs: number) =>
    env.sms.awaiting(Effect.gen(function* () {
      const deadlineMs = (yield* env.scenarioNowMs) + timeoutMs
      for (;;) {
        const inbox = yield* env.sms.received(passenger.phone)
        for (let index = since; index < inbox.length; index++) {
          const understood = read(inbox[index]!)
          if (understood !== undefined) return understood
        }
        const nowMs = yield* env.scenarioNowMs
        if (nowMs >= deadlineMs) return undefined
        yield* env.sleepScenario(Math.min(inboxCheckIntervalMs, deadlineMs - nowMs))
      }
    }))

  /** Text `command` and await an answer `read` understands; with none in time, text it again (bounded). */
  const ask = <A>(command: string, read: (text: string) => A | undefined, record: (reply: string) => SmsCallRecord) =>
    Effect.gen(function* () {
      const since = (yield* env.sms.received(passenger.phone)).length
      const keyword = command.split(" ")[0]!
      for (let attempt = 0; attempt <= env.maxSmsResends; attempt++) {
        yield* note("sms-sent", "ok", { command: keyword, attempt })
        yield* env.sms.submit(actor, passenger.phone, command, record)
        const answer = yield* awaitText(since, read, env.replyTimeoutMs)
        if (answer !== undefined) return answer
      }
      return yield* Effect.fail(new NoSmsAnswer(keyword))
    })

  /** the answer to STATUS: the order of this journey still held (the lost answer was to a BUY that held), or none */
  const heldPattern = new RegExp(`(\\d{6}) ${escape(journey)}: (\\d+-\\w+) held`)
  const readHeld = (text: string): { readonly held: SmsOrder | undefined } | undefined => {
    if (text === "Chunyun: you have no SMS orders.") return { held: undefined }
    if (!text.startsWith("Chunyun: ") || !/^Chunyun: \d{6} /.test(text)) return undefined
    const match = heldPattern.exec(text)
    return { held: match ? { ref: match[1]!, seat: match[2]!, journey, orderId: null } : undefined }
  }

  /**
   * BUY, answered by an order or a refusal. Before sending it again the phone asks STATUS: when the answer
   * lost was to a BUY that held, the order is taken from there rather than held twice.
   */
  const buy = (command: string) =>
    Effect.gen(function* () {
      const since = (yield* env.sms.received(passenger.phone)).length
      for (let attempt = 0; attempt <= env.maxSmsResends; attempt++) {
        if (attempt > 0) {
          yield* note("sms-sent", "ok", { command: "STATUS", attempt })
          yield* env.sms.submit(actor, passenger.phone, "STATUS", () => ({ kind: "sms-status", outcome: "ok" }))
          const probed = yield* awaitText(since, (text) => {
            const answered = readBuy(text)
            if (answered) return answered
            const status = readHeld(text)
            return status?.held ? { _tag: "Order" as const, order: status.held } : status ? { _tag: "NotHeld" as const } : undefined
          }, env.replyTimeoutMs)
          if (probed !== undefined && probed._tag !== "NotHeld") return probed
          if (attempt === env.maxSmsResends) break
        }
        yield* note("sms-sent", "ok", { command: "BUY", attempt })
        yield* env.sms.submit(actor, passenger.phone, command, recordBuy)
        const answer = yield* awaitText(since, readBuy, env.replyTimeoutMs)
        if (answer !== undefined) return answer
      }
      return yield* Effect.fail(new NoSmsAnswer("BUY"))
    })

  const readBuy = (text: string): BuyAnswer | undefined => {
    const order = orderOf(text)
    if (order && order.journey === journey) return { _tag: "Order", order }
    if (text.startsWith(`Chunyun: ${journey} has fewer than`)) return { _tag: "Refused", reason: "SoldOut" }
    if (text.startsWith(`Chunyun: ${journey} is no longer sold`)) return { _tag: "Refused", reason: "SalesClosed" }
    if (text.startsWith("Chunyun: could not read") || text.startsWith("Chunyun: there is no train")) return { _tag: "Refused", reason: "SmsRefused" }
    return undefined
  }
  /** orders whose hold is on record: a BUY sent again is answered with the same order, which is not a second hold */
  const heldOrderIds = new Set<string>()
  const recordBuy = (reply: string): SmsCallRecord => {
    const order = orderOf(reply)
    if (order && heldOrderIds.has(order.orderId)) {
      return { kind: "sms-buy", outcome: "ok", detail: { answer: "repeat", orderId: order.orderId, smsRef: order.ref } }
    }
    if (order) {
      heldOrderIds.add(order.orderId)
      return { kind: "hold", outcome: "ok", detail: { orderId: order.orderId, smsRef: order.ref, seat: order.seat, channel: "sms" } }
    }
    // the same BUY sent earlier is still holding: its own answer brings the order
    if (reply.startsWith("Chunyun: your BUY ")) return { kind: "sms-buy", outcome: "ok", detail: { answer: "in-progress" } }
    const outcome = reply.includes("fewer than") ? "SoldOut" : reply.includes("is no longer sold") ? "SalesClosed" : "SmsRefused"
    return { kind: "hold", outcome, detail: { channel: "sms" } }
  }

  let payRecorded = false
  const payAnswerOf = (ref: string, order: SmsOrder) => (text: string): PayAnswer | undefined => {
    if (text.startsWith(`Chunyun: order ${ref} is paid`)) return { _tag: "Paid" }
    // the notice can overtake the answer to PAY (or the answer is lost): it says the order was paid
    if (noticeOf(order)(text) !== undefined) return { _tag: "Paid" }
    const refused = new RegExp(`^Chunyun: order ${ref} (not fully paid|can no longer be paid): (.*)$`).exec(text)
    return refused ? { _tag: "Refused", reason: refused[2]! } : undefined
  }
  /** the first answer "is paid" the gateway sees is the PAY that paid (the phone sends one at a time); a repeat is not a payment */
  const recordPay = (ref: string, order: SmsOrder) => (reply: string): SmsCallRecord => {
    if (reply.startsWith(`Chunyun: order ${ref} is paid`) && !payRecorded) {
      payRecorded = true
      return { kind: "pay", outcome: "ok", detail: { smsRef: ref, channel: "sms" } }
    }
    return { kind: "sms-pay", outcome: reply.includes("is paid") ? "ok" : "PaymentRefused", detail: { smsRef: ref } }
  }
  const noticeOf = (order: SmsOrder) => {
    const [coach, seat] = order.seat.split("-")
    const pattern = new RegExp(`^Chunyun: ticket ([0-9a-f]{20}) issued\\. ${escape(journey)}, coach ${coach} seat ${seat},`)
    return (text: string) => pattern.exec(text)?.[1]
  }
  const statusOf = (ref: string, order: SmsOrder) => {
    const pattern = new RegExp(`${ref} ${escape(journey)}: ${escape(order.seat)} (\\w+)`)
    return (text: string) => text.startsWith("Chunyun: ") ? pattern.exec(text)?.[1] : undefined
  }

  return Effect.gen(function* () {
    yield* registered
    yield* env.thinkTime
    const bought = yield* buy(`BUY ${journey.split(" ")[0]} ${env.serviceDateOf(trip.train).replaceAll("-", "")} ${trip.fromStation}-${trip.toStation}`)
    if (bought._tag === "Refused") return yield* note("gave-up", bought.reason)
    const order = bought.order
    yield* env.thinkTime
    const payStartMs = yield* Clock.currentTimeMillis
    const sincePay = (yield* env.sms.received(passenger.phone)).length
    const paid = yield* ask(`PAY ${order.ref} ${paymentPasswordOf(passenger)}`, payAnswerOf(order.ref, order), recordPay(order.ref, order))
    if (paid._tag === "Refused") return yield* note("gave-up", "PaymentRefused", { reason: paid.reason })
    const noticed = yield* awaitText(sincePay, noticeOf(order), env.ticketNoticeTimeoutMs)
    const via = noticed !== undefined ? "notice" : yield* pollStatus(order)
    if (via === undefined) return yield* note("gave-up", "TicketNeverArrived")
    const receivedMs = yield* Clock.currentTimeMillis
    yield* note("ticket-received", "ok", {
      orderId: order.orderId, smsRef: order.ref, ticketId: noticed ?? null, paymentToIssuanceMs: receivedMs - payStartMs, channel: "sms", via
    })
    yield* cancelExtraOrders(order)
  }).pipe(
    Effect.catchAll((error) => note("gave-up", outcomeOf(error))),
    Effect.ensuring(afterPurchase)
  )

  /** No notice: STATUS every `statusPollIntervalMs`, at most `maxStatusPolls` times, until it says issued. */
  function pollStatus(order: SmsOrder) {
    return Effect.gen(function* () {
      const read = statusOf(order.ref, order)
      for (let poll = 0; poll < env.maxStatusPolls; poll++) {
        const since = (yield* env.sms.received(passenger.phone)).length
        yield* note("sms-sent", "ok", { command: "STATUS", attempt: poll })
        yield* env.sms.submit(actor, passenger.phone, `STATUS ${order.ref}`, () => ({ kind: "sms-status", outcome: "ok" }))
        const state = yield* awaitText(since, read, env.statusPollIntervalMs)
        if (state === "issued") return "status" as const
        if (state !== undefined && state !== "paid") return undefined
        const noticed = (yield* env.sms.received(passenger.phone)).slice(since).some((text) => noticeOf(order)(text) !== undefined)
        if (noticed) return "notice" as const
      }
      return undefined
    })
  }

  /** A BUY sent twice may have held twice: the orders answered besides the one paid are cancelled (once, unanswered). */
  function cancelExtraOrders(kept: SmsOrder) {
    return Effect.gen(function* () {
      const extra = new Set((yield* env.sms.received(passenger.phone)).flatMap((text) => {
        const order = orderOf(text)
        return order !== undefined && order.ref !== kept.ref ? [order.ref] : []
      }))
      for (const ref of extra) {
        yield* note("sms-sent", "ok", { command: "CANCEL", attempt: 0 })
        yield* env.sms.submit(actor, passenger.phone, `CANCEL ${ref}`, () => ({ kind: "sms-cancel", outcome: "ok", detail: { smsRef: ref } }))
      }
    })
  }
}

