/**
 * A virtual run is its seed: the same scenario and seed give the same history byte for byte (and so the
 * same trace hash), another seed gives another history, and a clean run breaks no invariant.
 */
import assert from "node:assert/strict"
import { before, describe, test } from "node:test"
import { Schema } from "effect"
import { Report } from "../reports/Report.js"
import { historyInvariantNames, storeInvariantNames } from "./Auditor.js"
import { runCreatedKind } from "../devices/HistoryEvents.js"
import { buildReport } from "../reports/assemble.js"
import { smallScenario, smallSeatCount } from "./testing/smallScenario.js"
import { runVirtual } from "./Virtual.js"
import type { RunOutcome } from "./Virtual.js"
import type { RunProgress } from "./Progress.js"

const seed = 7
const otherSeed = 8
const auditedInvariants = [...storeInvariantNames, ...historyInvariantNames]
const segmentCount = smallScenario.trains[0]!.stops.length - 1

/** Wall-clock facts held fixed, so two reports of one seed can be compared whole. */
const reportOf = (outcome: RunOutcome, runSeed: number) => buildReport({
  scenario: smallScenario, seed: runSeed, mode: "virtual", outcome, codeVersion: "test", startedAt: "2027-01-28T00:00:00.000Z",
  wallDurationMs: 0, notes: []
})

describe("virtual runs are reproducible", () => {
  let first: RunOutcome
  let second: RunOutcome
  let other: RunOutcome
  const offered: Array<RunProgress> = []
  before(async () => {
    first = await runVirtual(smallScenario, seed)
    // the second run of the seed has a progress display reading it, the first none; the second's history moves to
    // its file after 50 events, the first's stays in memory
    second = await runVirtual(smallScenario, seed, (progress) => { offered.push(progress) }, { maxHistoryEventsInMemory: 50 })
    other = await runVirtual(smallScenario, otherSeed)
  })

  test("a progress display reads the run and changes nothing in it: the same trace with one as without", () => {
    assert.equal(second.history.traceHash(), first.history.traceHash())
    assert.equal(second.endMs, first.endMs)
    // how many times it was offered depends on the machine's speed; each offer read the run's own state
    assert.ok(offered.every((progress) => progress.history === second.history && progress.passengers === second.passengers))
    // every passenger's journey started and ended, counted outside the simulation
    assert.equal(second.passengers.arrived, smallScenario.passengers.count - second.arrivalsCut)
    assert.equal(second.passengers.finished, second.passengers.arrived)
    assert.equal(first.passengers.finished, second.passengers.finished)
  })

  test("the same seed twice: identical trace hash and identical history lines, from memory or from the history's file", () => {
    assert.ok(first.history.size > smallScenario.passengers.count, "every passenger leaves at least one event")
    assert.equal(first.history.onDisk, false)
    assert.equal(second.history.onDisk, true)
    assert.deepEqual(second.history.toArray(), first.history.toArray())
    assert.equal(first.history.traceHash(), second.history.traceHash())
    assert.equal(first.history.toJsonLines(), second.history.toJsonLines())
    assert.equal(first.endMs, second.endMs)
  })

  test("the same seed twice: the whole report (counts, latencies, series, invariants, thresholds) is identical, the history read from memory or its file", () => {
    assert.deepEqual(reportOf(first, seed), reportOf(second, seed))
  })

  test("the trace hash is the SHA-256 of the history lines", async () => {
    const { createHash } = await import("node:crypto")
    assert.equal(first.history.traceHash(), createHash("sha256").update(first.history.toJsonLines()).digest("hex"))
  })

  test("another seed gives another trace, and another crowd (arrival times and trips)", () => {
    assert.notEqual(other.history.traceHash(), first.history.traceHash())
    assert.notEqual(other.history.toJsonLines(), first.history.toJsonLines())
    // the devices' randomness follows the seed too, not only the server's IDs
    const arrivals = (outcome: RunOutcome) => outcome.history.toArray().filter((event) => event.kind === "search").map((event) => `${event.actor}@${event.atMs}`)
    assert.notDeepEqual(arrivals(other), arrivals(first))
  })

  test("every invariant is audited and none is violated, for either seed", () => {
    for (const outcome of [first, other]) {
      assert.deepEqual(outcome.invariants.map((invariant) => invariant.name), auditedInvariants)
      for (const invariant of outcome.invariants) {
        assert.equal(invariant.violations, 0, `${invariant.name}: ${invariant.witness?.join("; ")}`)
        assert.equal(invariant.witness, undefined)
      }
    }
  })

  test("the history carries what the history audit reads: each held seat's run and segment, each run's stops", () => {
    const holds = first.history.toArray().filter((event) => (event.kind === "hold" || event.kind === "hold-seat") && event.outcome === "ok")
    assert.ok(holds.length > 0)
    for (const hold of holds) assert.deepEqual([hold.detail?.runId, hold.detail?.from, hold.detail?.to].map((value) => typeof value), ["string", "string", "string"])
    const routes = first.history.toArray().filter((event) => event.kind === runCreatedKind)
    assert.deepEqual(routes.map((event) => event.detail), [{ runId: "G1-20270128", stops: smallScenario.trains[0]!.stops.map((stop) => stop.station).join(" ") }])
    assert.deepEqual(reportOf(first, seed).auditSources, ["store", "history"])
  })

  test("counts are sane: issued == paid == admitted, holds fit the train, the train sells out", () => {
    for (const [outcome, runSeed] of [[first, seed], [other, otherSeed]] as const) {
      const report = reportOf(outcome, runSeed)
      Schema.decodeUnknownSync(Report)(report)
      const { counts } = report
      assert.ok(counts.ticketsIssued > 0, "some tickets are issued")
      assert.equal(counts.ordersPaid, counts.ticketsIssued)
      assert.equal(counts.admitted, counts.ticketsIssued)
      assert.ok(counts.ordersHeld <= smallSeatCount * segmentCount, `${counts.ordersHeld} holds for ${smallSeatCount} seats × ${segmentCount} segments`)
      assert.ok(counts.ordersPaid <= counts.ordersHeld)
      // 300 passengers for 50 seats: some are turned away
      assert.ok(counts.soldOut > 0, "some passengers find no seat")
      assert.equal(counts.passengers, smallScenario.passengers.count)
      assert.equal(report.traceHash, outcome.history.traceHash())
      assert.ok(report.thresholds.every((threshold) => threshold.passed), JSON.stringify(report.thresholds))
    }
  })

  test("every admitted ticket is a different ticket, and the history is in virtual-time order per actor", () => {
    const admitted = first.history.toArray().filter((event) => event.kind === "scan" && event.outcome === "ok").map((event) => event.detail?.ticketId)
    assert.equal(new Set(admitted).size, admitted.length)
    assert.ok(admitted.every((ticketId) => typeof ticketId === "string" && ticketId.length > 0))
    const lastAtByActor = new Map<string, number>()
    for (const event of first.history.toArray()) {
      assert.ok(event.atMs >= (lastAtByActor.get(event.actor) ?? 0), `${event.actor} went back in time at ${event.kind}`)
      lastAtByActor.set(event.actor, event.atMs)
    }
  })
})
