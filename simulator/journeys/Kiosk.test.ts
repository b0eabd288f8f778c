/**
 * A scaled-down kiosk-pickup in virtual mode: it audits clean (print jobs and remote bookings included), the same
 * seed gives the same trace, the printers did fail (paper out, jams, slow prints, rolls run out) and still every
 * paid kiosk order, every remote booking paid at a kiosk and every pickup came out exactly once; remote bookings
 * were made in the app and through the call centre, a wrong card was refused; no PAN or PIN is in any reader log
 * line or history event; the report's endpoints split by journey credit a kiosk's calls to the passenger it served.
 */
import assert from "node:assert/strict"
import { before, describe, test } from "node:test"
import { Schema } from "effect"
import kioskPickup from "../../scenarios/kiosk-pickup.js"
import { Scenario } from "../../scenarios/Scenario.js"
import { backgroundJourney } from "../../reports/Report.js"
import { endpointsOf } from "../../reports/metrics.js"
import { runVirtual } from "../Virtual.js"
import type { RunOutcome } from "../Virtual.js"
import { cardSecretsOf, readerLogOf } from "./Kiosk.js"
import type { HistoryKind } from "../../devices/HistoryEvents.js"

const minute = 60_000
const seed = 11

/** two trains, one kiosk per station, short rolls and frequent faults: every fault kind shows in 150 passengers */
const small = Schema.decodeUnknownSync(Scenario)({
  ...kioskPickup,
  name: "kiosk-pickup-small",
  passengers: { ...kioskPickup.passengers, count: 150, meanArrivalDelayMs: 40 * minute },
  kiosks: {
    ...kioskPickup.kiosks!, perStation: 1, printers: { ...kioskPickup.kiosks!.printers, paperCapacitySheets: 15 },
    remoteCard: { ...kioskPickup.kiosks!.remoteCard!, noShowRate: 0.1, wrongCardRate: 0.25 }
  },
  faults: [
    { kind: "printer", startAfterOnSaleMs: 0, endAfterOnSaleMs: 60 * minute, paperOutRate: 0.05, jamRate: 0.1, slowPrintMs: 3_000 },
    { kind: "bank-slowdown", startAfterOnSaleMs: 10 * minute, endAfterOnSaleMs: 30 * minute, extraLatencyMs: 6_000, declineRate: 0.3 },
    { kind: "client-timeouts", startAfterOnSaleMs: 0, endAfterOnSaleMs: 40 * minute, responseLossRate: 0.1, timeoutMs: 5_000, backoffMs: 500, maxRetries: 3 }
  ]
})

const events = (outcome: RunOutcome, kind: HistoryKind, outcomeTag = "ok") =>
  outcome.history.toArray().filter((event) => event.kind === kind && event.outcome === outcomeTag)

describe("kiosk-pickup, scaled down", () => {
  let first: RunOutcome
  let second: RunOutcome
  before(async () => {
    first = await runVirtual(small, seed)
    second = await runVirtual(small, seed)
  })

  test("audits clean, print jobs included; the same seed gives the same trace", () => {
    assert.ok(first.invariants.some((invariant) => invariant.name === "print-jobs-printed-once"))
    assert.ok(first.invariants.some((invariant) => invariant.name === "remote-card-paid-by-booked-card"))
    for (const invariant of first.invariants) assert.equal(invariant.violations, 0, `${invariant.name}: ${invariant.witness?.join("; ")}`)
    assert.equal(first.history.traceHash(), second.history.traceHash())
  })

  test("printers failed in every way, and still every job's ticket and receipt came out exactly once", () => {
    const faults = events(first, "print-fault")
    assert.ok(faults.some((event) => event.detail?.fault === "jam"), "a jam")
    assert.ok(faults.some((event) => event.detail?.fault === "paper-out"), "a paper-out")
    assert.ok(events(first, "paper-refilled").length > 0, "the operator refilled a printer")
    assert.ok(events(first, "print").some((event) => event.detail?.slow === true), "a slow print")

    const prints = new Map<string, Array<string>>()
    for (const event of events(first, "print")) prints.set(String(event.detail?.jobId), [...(prints.get(String(event.detail?.jobId)) ?? []), String(event.detail?.part)])
    for (const [jobId, parts] of prints) assert.deepEqual(parts, ["ticket", "receipt"], `job ${jobId}`)
    const faulted = new Set(faults.map((event) => String(event.detail?.jobId)))
    assert.ok([...faulted].every((jobId) => prints.has(jobId)), "every job that faulted was printed in the end")

    const sold = events(first, "ticket-received").filter((event) => event.actor.startsWith("walkup-") || event.actor.startsWith("remote-"))
    const pickedUp = events(first, "ticket-picked-up")
    assert.ok(sold.length > 20 && pickedUp.length > 10, `${sold.length} sales, ${pickedUp.length} pickups`)
    assert.ok(sold.every((event) => prints.has(String(event.detail?.jobId))))
    const pickupJobs = pickedUp.reduce((total, event) => total + Number(event.detail?.jobs), 0)
    assert.equal(prints.size, sold.length + pickupJobs, "one job per sale and per picked-up ticket, no more")
    assert.ok(pickedUp.some((event) => event.detail?.by === "voucher") && pickedUp.some((event) => event.detail?.by === "phone"))
  })

  test("remote bookings: made in the app and by call-centre agents, paid at kiosks by the booked card only", () => {
    const booked = events(first, "remote-booked")
    assert.ok(booked.some((event) => event.detail?.by === "app") && booked.some((event) => event.detail?.by === "call-centre"))
    assert.ok(events(first, "book-for-caller").every((event) => event.actor.startsWith("agent-")))
    const paidRemotely = events(first, "ticket-received").filter((event) => event.actor.startsWith("remote-"))
    assert.ok(paidRemotely.length > 10, `${paidRemotely.length} remote bookings paid`)
    const refused = first.history.toArray().filter((event) => event.kind === "pay-remote" && event.outcome === "CardNotBooked")
    assert.ok(refused.length > 0, "a wrong card was refused")
    assert.ok(events(first, "remote-no-show").length > 0, "a booker never came")
    // every remote booking paid is one of the bookings made, paid once
    const bookedOrders = new Set(booked.map((event) => String(event.detail?.orderId)))
    const paidOrders = paidRemotely.map((event) => String(event.detail?.orderId))
    assert.ok(paidOrders.every((orderId) => bookedOrders.has(orderId)))
    assert.equal(new Set(paidOrders).size, paidOrders.length)
  })

  test("the report splits each endpoint by journey: the kiosks' calls count for the passenger each served, and every endpoint's rows add up", () => {
    const endpoints = endpointsOf(first.history)
    for (const endpoint of endpoints) {
      const journeys = endpoint.journeys ?? []
      assert.equal(journeys.reduce((sum, journey) => sum + journey.requests, 0), endpoint.requests, endpoint.endpoint)
      assert.equal(journeys.reduce((sum, journey) => sum + journey.errors, 0), endpoint.errors, endpoint.endpoint)
    }
    const journeysOf = (name: string) => endpoints.find((endpoint) => endpoint.endpoint === name)?.journeys?.map((journey) => journey.journey).sort()
    // a kiosk pays for a walk-up and the app pays for a passenger who picks up: one endpoint, two journeys
    assert.deepEqual(journeysOf("pay"), ["app-pickup", "kiosk"])
    assert.deepEqual(journeysOf("pickup"), ["app-pickup"])
    assert.deepEqual(journeysOf("pay-remote"), ["remote-card"])
    assert.deepEqual(journeysOf("book-for-caller"), ["remote-card"], "an agent's calls count for the caller's journey")
    // the attendants' rounds serve no passenger
    assert.ok(journeysOf("print-jobs")?.includes(backgroundJourney))
  })

  test("the bank declined in its brownout and on wrong PINs; lost acknowledgements were sent again", () => {
    const declines = first.history.toArray().filter((event) => event.kind === "pay" && event.outcome === "CardDeclined")
    assert.ok(declines.length > 0)
    assert.ok(first.history.toArray().some((event) => event.outcome === "ResponseLost"), "an answer was lost and the call retried")
  })

  test("no PAN or PIN in any reader log line or history event: cards show as BIN + last four", () => {
    const log = readerLogOf.get(first.history) ?? []
    assert.ok(log.length > 0)
    const history = first.history.toJsonLines()
    assert.match(history, /"card":"\d{6}\*{6}\d{4}"/)
    const logText = log.join("\n")
    const strings = first.history.toArray().flatMap((event) => Object.values(event.detail ?? {}).filter((value) => typeof value === "string"))
    for (let index = 0; index < small.passengers.count; index++) {
      const { pan, pin } = cardSecretsOf(index)
      assert.ok(!logText.includes(pan) && !history.includes(pan) && !logText.includes(pan.slice(6, -4)), `passenger ${index}'s PAN`)
      // the log shows BINs and last fours: a PIN equal to one of those would be a false alarm, not a leak
      const bins = new Set(log.flatMap((line) => line.match(/\d{6}(?=\*)/g) ?? []))
      if (!bins.has(pin)) assert.ok(!log.some((line) => line.split(/[^0-9]/).includes(pin)), `passenger ${index}'s PIN in the reader log`)
      assert.ok(!strings.includes(pin), `passenger ${index}'s PIN in the history`)
    }
    for (const line of log) assert.match(line, /^reader-[A-Z]{3}-K\d{2} (read|pin)/)
    assert.equal(log.some((line) => /pin entered .*: 6 digits$/.test(line)), true)
  })
})
