/**
 * Scaled-down runs of cinema-premiere and gateway-brownout in virtual mode: each audits clean, gives the same
 * trace twice for one seed, and shows what it is for — cinema: SeatTaken races and ties for a seat happened,
 * no seat was sold twice, anonymous devices bought tickets; brownout: notifications were lost and duplicated,
 * payments were declined, and every charge the gateway took ended in one ticket (the auditor's invariant 3 on
 * the store).
 */
import assert from "node:assert/strict"
import { before, describe, test } from "node:test"
import { Schema } from "effect"
import cinemaPremiere from "../../scenarios/cinema-premiere.js"
import gatewayBrownout from "../../scenarios/gateway-brownout.js"
import { Scenario } from "../../scenarios/Scenario.js"
import { countsOf, latencyOf } from "../../reports/metrics.js"
import { runVirtual } from "../Virtual.js"
import type { RunOutcome } from "../Virtual.js"
import type { HistoryKind } from "../../devices/HistoryEvents.js"

const smallCinema = Schema.decodeUnknownSync(Scenario)({
  ...cinemaPremiere, passengers: { ...cinemaPremiere.passengers, count: 80 },
  cinema: { ...cinemaPremiere.cinema!, showings: [cinemaPremiere.cinema!.showings[1]!] }
})
const smallBrownout = Schema.decodeUnknownSync(Scenario)({
  ...gatewayBrownout, passengers: { ...gatewayBrownout.passengers, count: 150, meanArrivalDelayMs: 180_000 },
  trains: [{ ...gatewayBrownout.trains![0]!, coaches: [{ coach: 1, seatClass: "second", seatCount: 30 }] }],
  // fewer charges fall in the window than in the full run: duplicates made likelier so a small run has some
  faults: gatewayBrownout.faults!.map((fault) => fault.kind === "gateway-callbacks" ? { ...fault, duplicateRate: 0.3 } : fault)
})
const count = (outcome: RunOutcome, kind: HistoryKind, outcomeName = "ok") =>
  outcome.history.toArray().filter((event) => event.kind === kind && event.outcome === outcomeName).length
const assertClean = (outcome: RunOutcome) => {
  for (const invariant of outcome.invariants) assert.equal(invariant.violations, 0, `${invariant.name}: ${invariant.witness?.join("; ")}`)
}

describe("cinema-premiere, scaled down", () => {
  let first: RunOutcome
  let second: RunOutcome
  before(async () => {
    first = await runVirtual(smallCinema, 5)
    second = await runVirtual(smallCinema, 5)
  })
  test("audits clean, same trace twice", () => {
    assertClean(first)
    assert.equal(first.history.traceHash(), second.history.traceHash())
  })
  test("SeatTaken races happened, no seat sold twice, anonymous devices bought tickets", () => {
    assert.ok(count(first, "hold-seat", "SeatTaken") > 0, "some goers lost a seat to another phone")
    const received = first.history.toArray().filter((event) => event.kind === "ticket-received")
    const seats = received.map((event) => String(event.detail?.seat))
    assert.equal(new Set(seats).size, seats.length)
    assert.ok(received.length > 0 && received.length <= 112, `${received.length} tickets for hall 2's 112 seats`)
    assert.ok(received.some((event) => event.detail?.anonymous === true) && received.some((event) => event.detail?.anonymous === false))
    assert.equal(count(first, "voucher"), received.length)
    assert.equal(count(first, "scan"), received.length)
  })
  test("ties happened: phones that sent an earlier install time took seats held a moment before, whose payers were told HoldDisplaced", () => {
    const won = first.history.toArray().filter((event) => event.kind === "hold-seat" && event.detail?.displacedHolds !== undefined)
    const displaced = count(first, "gateway-pay", "HoldDisplaced")
    assert.ok(displaced > 0, "some holds lost their seat to a tie")
    assert.equal(won.reduce((sum, event) => sum + Number(event.detail?.displacedHolds), 0), displaced)
  })
  test("the report counts the seats held and the gateway captures: every issued ticket was held and paid", () => {
    const counts = countsOf(first.history, smallCinema.passengers.count)
    assert.equal(counts.ordersPaid, counts.ticketsIssued)
    assert.ok(counts.ordersHeld >= counts.ordersPaid && counts.ticketsIssued > 0, JSON.stringify(counts))
    assert.ok(latencyOf(first.history).hold.count === counts.ordersHeld)
  })
})

describe("gateway-brownout, scaled down", () => {
  let first: RunOutcome
  let second: RunOutcome
  before(async () => {
    first = await runVirtual(smallBrownout, 5)
    second = await runVirtual(smallBrownout, 5)
  })
  test("audits clean, same trace twice", () => {
    assertClean(first)
    assert.equal(first.history.traceHash(), second.history.traceHash())
  })
  test("notifications lost and duplicated, payments declined, every ticket admitted once", () => {
    const counters = first.history.toArray().find((event) => event.kind === "gateway-counters")?.detail
    assert.ok(counters, "the gateway's counters were recorded")
    assert.ok(Number(counters.callbacksLost) > 0 && Number(counters.callbacksDuplicated) > 0 && Number(counters.declined) > 0, JSON.stringify(counters))
    assert.ok(count(first, "gateway-declined", "PaymentDeclined") > 0)
    const tickets = count(first, "ticket-received")
    assert.ok(tickets > 0)
    assert.equal(count(first, "scan"), tickets)
  })
})
