/**
 * A scaled-down sms-booking in virtual mode: it audits clean (invariant 7 included), is its seed, and does
 * what the scenario is for: texts were lost and sent again, nothing was paid twice, SMS bookings were
 * issued, SIM carriers filled up and the network box migrated tickets down once gates freed slots.
 */
import assert from "node:assert/strict"
import { before, describe, test } from "node:test"
import { Schema } from "effect"
import { Scenario } from "../../scenarios/Scenario.js"
import smsBooking from "../../scenarios/sms-booking.js"
import type { HistoryEvent, HistoryKind } from "../../devices/HistoryEvents.js"
import { runVirtual } from "../Virtual.js"
import type { RunOutcome } from "../Virtual.js"

const seed = 11
export const smallSmsBooking: Scenario = Schema.decodeUnknownSync(Scenario)({
  ...smsBooking,
  name: "sms-booking-small",
  passengers: { ...smsBooking.passengers, count: 100, mix: { sms: 70, carrier: 15, app: 15 } },
  // a harsher SMS centre than the full scenario's, so a hundred passengers meet every path of the loss
  faults: [{ kind: "sms-loss", startAfterOnSaleMs: 0, endAfterOnSaleMs: 10 * 60_000, lossRate: 0.25, maxDelayMs: 20_000 }]
})

const where = (outcome: RunOutcome, kind: HistoryKind, test: (event: HistoryEvent) => boolean = () => true) =>
  outcome.history.toArray().filter((event) => event.kind === kind && test(event))

describe("sms-booking, scaled down", () => {
  let first: RunOutcome
  let second: RunOutcome
  before(async () => {
    first = await runVirtual(smallSmsBooking, seed)
    second = await runVirtual(smallSmsBooking, seed)
  })

  test("audits clean, carriers included, and the same seed gives the same trace", () => {
    assert.deepEqual(first.invariants.filter((invariant) => invariant.violations > 0), [])
    assert.ok(first.invariants.some((invariant) => invariant.name === "carrier-within-capacity"))
    assert.equal(first.history.traceHash(), second.history.traceHash())
  })

  test("texts were lost both ways and sent again, and SMS bookings were issued", () => {
    assert.ok(where(first, "sms-lost", (event) => event.detail?.direction === "to-server").length > 0, "a text to the server was lost")
    assert.ok(where(first, "sms-lost", (event) => event.detail?.direction === "to-phone").length > 0, "a text to a phone was lost")
    const resent = where(first, "sms-sent", (event) => Number(event.detail?.attempt) > 0 && event.detail?.command !== "STATUS")
    assert.ok(resent.length > 0, "a command was sent again after its timeout")
    assert.ok(resent.every((event) => Number(event.detail?.attempt) <= smallSmsBooking.sms!.maxSmsResends))
    const issued = where(first, "ticket-received", (event) => event.detail?.channel === "sms")
    assert.ok(issued.length >= 40, `${issued.length} SMS bookings issued`)
    assert.ok(where(first, "hold", (event) => event.outcome === "ok" && event.detail?.channel === "sms").length >= issued.length)
  })

  test("a PAY sent again was answered from the paid order, never paid twice", () => {
    // an SMS order is known to its phone by its reference, an app order by its ID
    const orderOf = (event: HistoryEvent) => `${event.actor}:${event.detail?.orderId ?? event.detail?.smsRef}`
    const paidOrders = where(first, "pay", (event) => event.outcome === "ok").map(orderOf)
    assert.equal(new Set(paidOrders).size, paidOrders.length, "each order paid once")
    // the second PAY of an order found it paid: the answer repeats, no second payment is recorded
    const repeats = where(first, "sms-pay", (event) => event.outcome === "ok")
    assert.ok(repeats.length > 0, "some PAY was sent again and answered")
    for (const repeat of repeats) assert.ok(paidOrders.includes(orderOf(repeat)))
    const probed = where(first, "sms-sent", (event) => event.detail?.command === "STATUS")
    assert.ok(probed.length > 0, "a phone asked STATUS before buying again, or when its notice was late")
  })

  test("carriers filled up, and the box migrated tickets down after gates freed slots", () => {
    const slotsByPhone = new Map(where(first, "register-carrier").map((event) => [event.actor, Number(event.detail?.capacitySlots)]))
    const full = where(first, "carrier-sync", (event) => Number(event.detail?.onSim) === slotsByPhone.get(event.actor))
    assert.ok(full.length > 0, "some carrier was full")
    const migrated = where(first, "carrier-removed", (event) => Number(event.detail?.migrated) > 0)
    assert.ok(migrated.length > 0, "a freed slot took a ticket from the box")
    assert.ok(where(first, "scan", (event) => event.outcome === "ok" && event.detail?.from === "carrier").length > 0, "tickets were read from SIMs")
  })
})
