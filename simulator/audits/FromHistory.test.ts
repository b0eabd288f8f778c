/**
 * The history audit over hand-built histories, no store anywhere: for each invariant a clean history and one that
 * breaks it, whose witness names the orders, tickets or keys and shows the events that prove it.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Effect } from "effect"
import { History } from "../History.js"
import type { HistoryEvent, HistoryKind } from "../../devices/HistoryEvents.js"
import { runCreatedKind } from "../../devices/HistoryEvents.js"
import { admittedOnceOnline, auditHistory, chargedOnceByKey, eventsOf, historyInvariantNames, paidGetsTicket, seatsIssuedOnce } from "./FromHistory.js"
import type { HistoryEvents } from "./FromHistory.js"
import { formatEvent } from "./Witness.js"

/** 2027-01-28 08:00:00 in China Standard Time: witness lines print it as 08:00:00.000 */
const onSaleMs = Date.parse("2027-01-28T08:00:00+08:00")

const event = (afterMs: number, actor: string, kind: HistoryKind, outcome = "ok", detail?: HistoryEvent["detail"]): HistoryEvent =>
  ({ atMs: onSaleMs + afterMs, actor, kind, outcome, ...(detail ? { detail } : {}) })
const historyOf = (...events: ReadonlyArray<HistoryEvent>): HistoryEvents => eventsOf([...events].sort((left, right) => left.atMs - right.atMs))

const route = event(0, "operator", runCreatedKind, "ok", { runId: "G1-20270128", stops: "BJP TJP JNK NJH" })
/** what a phone's hold answer leaves in the history (devices/Phone.ts) */
const hold = (afterMs: number, actor: string, orderId: string, from: string, to: string, seat = "05A") =>
  event(afterMs, actor, "hold", "ok", { orderId, coach: 1, seat, priceFen: 5_450, runId: "G1-20270128", from, to })
const ticket = (afterMs: number, actor: string, orderId: string, ticketId: string) =>
  event(afterMs, actor, "ticket-received", "ok", { orderId, ticketId, paymentToIssuanceMs: 40 })
const pay = (afterMs: number, actor: string, orderId: string, transferId: string, key = `pay-${actor}`) =>
  event(afterMs, actor, "pay", "ok", { key, orderId, state: "issued", transferId })

const only = <A>(items: ReadonlyArray<A>): A => {
  assert.equal(items.length, 1, `expected one, got ${items.length}`)
  return items[0]!
}

describe("history-no-double-booking: two clients issued tickets for one seat on overlapping segments", () => {
  test("segments that only touch (BJP→TJP, TJP→NJH), another seat, a seat given back first: clean", () => {
    const clean = historyOf(
      route,
      hold(10, "phone-1", "O1", "BJP", "TJP"), ticket(20, "phone-1", "O1", "T1"),
      hold(11, "phone-2", "O2", "TJP", "NJH"), ticket(21, "phone-2", "O2", "T2"),
      hold(12, "phone-3", "O3", "BJP", "NJH", "05B"), ticket(22, "phone-3", "O3", "T3"),
      // phone-4 cancels its order (refunded); phone-5 holds the seat after that
      hold(13, "phone-4", "O4", "BJP", "NJH", "06A"), ticket(23, "phone-4", "O4", "T4"),
      event(30, "phone-4", "cancel", "ok", { orderId: "O4", state: "refunded" }),
      hold(40, "phone-5", "O5", "JNK", "NJH", "06A"), ticket(50, "phone-5", "O5", "T5")
    )
    assert.deepEqual(seatsIssuedOnce(clean), [])
  })

  test("BJP→JNK and TJP→NJH on seat 05A, both issued: named with both phones' holds and tickets", () => {
    const events = [route, hold(10, "phone-1", "O1", "BJP", "JNK"), hold(11, "phone-2", "O2", "TJP", "NJH"),
      ticket(20, "phone-1", "O1", "T1"), ticket(21, "phone-2", "O2", "T2")]
    const violation = only(seatsIssuedOnce(historyOf(...events)))
    assert.equal(violation.line, "seat G1-20270128 coach 1 05A: order O1 (phone-1, BJP→JNK) and order O2 (phone-2, TJP→NJH) overlap, and both were issued tickets (T1, T2)")
    assert.deepEqual(violation.events, events.slice(1))
  })

  test("a hold of the seat while another order of it was still live (cancelled only after) is a double booking", () => {
    const violation = only(seatsIssuedOnce(historyOf(route,
      hold(10, "phone-1", "O1", "BJP", "NJH"), hold(11, "phone-2", "O2", "BJP", "TJP"),
      ticket(20, "phone-1", "O1", "T1"), ticket(21, "phone-2", "O2", "T2"),
      event(30, "phone-1", "cancel", "ok", { orderId: "O1", state: "refunded" }))))
    assert.match(violation.line, /order O1 .* and order O2 .* overlap/)
  })

  test("without the run's route only segments sharing a stop are known to overlap; a venue's seat is the whole showing", () => {
    const noRoute = historyOf(hold(10, "phone-1", "O1", "BJP", "JNK"), hold(11, "phone-2", "O2", "TJP", "NJH"),
      ticket(20, "phone-1", "O1", "T1"), ticket(21, "phone-2", "O2", "T2"))
    assert.deepEqual(seatsIssuedOnce(noRoute), [])
    const sharedStart = historyOf(hold(10, "phone-1", "O1", "BJP", "JNK"), hold(11, "phone-2", "O2", "BJP", "TJP"),
      ticket(20, "phone-1", "O1", "T1"), ticket(21, "phone-2", "O2", "T2"))
    assert.equal(seatsIssuedOnce(sharedStart).length, 1)
    const showing = (afterMs: number, actor: string, orderId: string) =>
      event(afterMs, actor, "hold-seat", "ok", { orderId, seat: "05-11", coach: 1, runId: "HALL1-20270128", from: "WDA", to: "WDA" })
    const cinema = historyOf(showing(10, "cinema-1", "O1"), showing(11, "cinema-2", "O2"), ticket(20, "cinema-1", "O1", "T1"), ticket(21, "cinema-2", "O2", "T2"))
    assert.match(only(seatsIssuedOnce(cinema)).line, /^seat HALL1-20270128 coach 1 05-11: order O1 \(cinema-1, WDA→WDA\)/)
  })
})

describe("history-paid-gets-ticket: an order answered paid whose ticket never reached a client", () => {
  test("a ticket in the payment's answer, one polled for later, one picked up by another device, one cancelled, an SMS order: clean", () => {
    const clean = historyOf(
      pay(10, "phone-1", "O1", "X1"), ticket(11, "phone-1", "O1", "T1"),
      pay(10, "phone-2", "O2", "X2"), event(12, "phone-2", "get-ticket", "TicketNotIssued"), ticket(5_000, "phone-2", "O2", "T2"),
      event(10, "phone-3", "pay-remote", "ok", { orderId: "O3", state: "issued" }), ticket(60_000, "kiosk-1", "O3", "T3"),
      event(10, "phone-4", "gateway-captured", "ok", { orderId: "O4", attempt: 1 }), event(20, "phone-4", "cancel", "ok", { orderId: "O4", state: "refunded" }),
      event(5, "phone-5", "hold", "ok", { orderId: "O5", smsRef: "273904", seat: "05A", channel: "sms" }),
      event(10, "phone-5", "pay", "ok", { smsRef: "273904", channel: "sms" }),
      event(30, "phone-5", "ticket-received", "ok", { orderId: null, smsRef: "273904", ticketId: "T5", channel: "sms" }),
      // a payment refused is not a paid answer
      event(10, "phone-6", "pay", "InsufficientFunds")
    )
    assert.deepEqual(paidGetsTicket(clean), [])
  })

  test("paid, polled until the phone gave up: named with the payment and the phone's last events", () => {
    const polls = Array.from({ length: 5 }, (_, index) => event(1_000 * (index + 1), "phone-7", "get-ticket", "TicketNotIssued"))
    const gaveUp = event(6_000, "phone-7", "gave-up", "TicketNeverArrived")
    const payment = pay(10, "phone-7", "O7", "X7")
    const violation = only(paidGetsTicket(historyOf(payment, ...polls, gaveUp, pay(10, "phone-8", "O8", "X8"), ticket(20, "phone-8", "O8", "T8"))))
    assert.equal(violation.line, "order O7: phone-7 was answered paid at 08:00:00.010 (pay), but no ticket reached a client by the end of the run (5 polls after)")
    assert.deepEqual(violation.events, [payment, ...polls.slice(-2), gaveUp])
  })
})

describe("history-admitted-once: a second successful admission of one ticket", () => {
  const scan = (afterMs: number, actor: string, ticketId: string, gate: string, offline?: boolean) =>
    event(afterMs, actor, "scan", "ok", { ticketId, gate, ...(offline === undefined ? {} : { offline }) })

  test("each ticket in once, a replay refused, a double by an offline gate (counted at its sync): clean, the offline double said", () => {
    const clean = historyOf(scan(10, "phone-1", "T1", "BJP-01"), scan(11, "phone-2", "T2", "BJP-02"),
      event(12, "fan-3-friend", "scan", "TicketAlreadyUsed"),
      scan(13, "fan-4", "T4", "GZS-01"), scan(14, "fan-4-friend", "T4", "GZS-40", true))
    assert.deepEqual(admittedOnceOnline(clean), [])
    const result = auditHistory(clean).find((invariant) => invariant.name === "history-admitted-once")
    assert.equal(result?.violations, 0)
    assert.match(result?.description ?? "", /1 double admissions by offline gates seen/)
  })

  test("admitted online at two gates: named with both scans", () => {
    const first = scan(10, "fan-4", "T4", "GZS-01")
    const second = scan(900, "fan-4-friend", "T4", "GZS-03")
    const violation = only(admittedOnceOnline(historyOf(first, second, scan(11, "fan-5", "T5", "GZS-02"))))
    assert.equal(violation.line, "ticket T4: admitted 2 times online (gates GZS-01, GZS-03)")
    assert.deepEqual(violation.events, [first, second])
  })
})

describe("history-charged-once: one idempotency key, two charges", () => {
  const topUp = (afterMs: number, outcome: string, detail: HistoryEvent["detail"]) => event(afterMs, "phone-12", "top-up", outcome, detail)

  test("a lost answer retried and answered with the same transfer, keys of other phones, two gateway attempts: clean", () => {
    const clean = historyOf(
      topUp(10, "ResponseLost", { attempt: 0, key: "topup-00000012", answer: "ok", transferId: "X1" }),
      topUp(6_000, "ok", { key: "topup-00000012", transferId: "X1" }),
      event(10, "phone-13", "top-up", "ok", { key: "topup-00000013", transferId: "X2" }),
      event(10, "cinema-1", "gateway-pay", "ok", { orderId: "O1", chargeId: "C1", attempt: 1 }),
      event(900, "cinema-1", "gateway-pay", "ok", { orderId: "O1", chargeId: "C2", attempt: 2 })
    )
    assert.deepEqual(chargedOnceByKey(clean), [])
  })

  test("a retried top-up answered with a second transfer: the key, both transfers and every attempt", () => {
    const attempts = [
      topUp(10, "ResponseLost", { attempt: 0, key: "topup-00000012", answer: "ok", transferId: "X1" }),
      topUp(6_000, "ok", { key: "topup-00000012", transferId: "X9" })
    ]
    const violation = only(chargedOnceByKey(historyOf(...attempts)))
    assert.equal(violation.line, "key topup-00000012 (phone-12 top-up): 2 attempts, 1 answers lost; the answers name 2 different charges X1, X9")
    assert.deepEqual(violation.events, attempts)
  })

  test("one gateway attempt sent twice and answered with two charges", () => {
    const violation = only(chargedOnceByKey(historyOf(
      event(10, "cinema-1", "gateway-pay", "ok", { orderId: "O1", chargeId: "C1", attempt: 1 }),
      event(30, "cinema-1", "gateway-pay", "ok", { orderId: "O1", chargeId: "C2", attempt: 1 }))))
    assert.match(violation.line, /^gateway payment of order O1, attempt 1 \(cinema-1\): 2 attempts, 0 answers lost; the answers name 2 different charges C1, C2$/)
  })
})

describe("the history audit's results", () => {
  test("every invariant, in order, from the history alone; a violation's witness is its statement then its events", () => {
    const events = [route, hold(10, "phone-1", "O1", "BJP", "JNK"), hold(11, "phone-2", "O2", "TJP", "NJH"),
      ticket(20, "phone-1", "O1", "T1"), ticket(21, "phone-2", "O2", "T2")]
    const results = auditHistory(historyOf(...events))
    assert.deepEqual(results.map((result) => result.name), historyInvariantNames)
    assert.ok(results.every((result) => result.source === "history"))
    const broken = results.find((result) => result.name === "history-no-double-booking")!
    assert.equal(broken.violations, 1)
    assert.deepEqual(broken.witness?.slice(1), events.slice(1).map(formatEvent))
    assert.deepEqual(broken.actors, ["phone-1", "phone-2"])
    assert.ok(results.filter((result) => result !== broken).every((result) => result.violations === 0 && result.witness === undefined))
  })
})

describe("the history audit of a history kept in its file", () => {
  test("finds the same violations with the same witnesses as from memory, though every read gives new event objects", () => {
    const polls = Array.from({ length: 4 }, (_, index) => event(1_000 * (index + 1), "phone-7", "get-ticket", "TicketNotIssued"))
    const events = [route, hold(10, "phone-1", "O1", "BJP", "JNK"), hold(11, "phone-2", "O2", "TJP", "NJH"),
      ticket(20, "phone-1", "O1", "T1"), ticket(21, "phone-2", "O2", "T2"),
      pay(30, "phone-7", "O7", "X7"), ...polls, event(6_000, "phone-7", "gave-up", "TicketNeverArrived")].sort((left, right) => left.atMs - right.atMs)
    const onDisk = new History(Effect.succeed(0), undefined, { maxEventsInMemory: 0 })
    for (const recorded of events) onDisk.add(recorded)
    assert.equal(onDisk.onDisk, true)
    const fromFile = auditHistory(onDisk)
    assert.deepEqual(fromFile, auditHistory(eventsOf(events)))
    assert.deepEqual(fromFile.filter((result) => result.violations > 0).map((result) => result.name), ["history-no-double-booking", "history-paid-gets-ticket"])
    onDisk.close()
  })
})
