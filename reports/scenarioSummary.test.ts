import assert from "node:assert/strict"
import { test } from "node:test"
import { Schema } from "effect"
import { Scenario } from "../scenarios/Scenario.js"
import springFestival from "../scenarios/spring-festival.js"
import stadiumGates from "../scenarios/stadium-gates.js"
import { scenarioSummaryOf } from "./scenarioSummary.js"

test("the spring festival's summary names its three trains with routes and seats, its journeys, faults and thresholds", () => {
  const summary = scenarioSummaryOf(Schema.decodeUnknownSync(Scenario)(springFestival))
  assert.equal(summary.passengers, 20_000)
  assert.deepEqual(summary.trains.map((train) => [train.trainCode, train.route, train.seats, train.popularity]), [
    ["G1", "BJP 09:00 → AOH 14:08, 6 stops", 600, 3],
    ["G3", "BJP 09:20 → AOH 14:05, 4 stops", 280, 2],
    ["D311", "TJP 08:50 → SZH 14:25, 4 stops", 120, 1]
  ])
  assert.deepEqual(summary.mix, [{ journey: "app", weight: 1 }])
  assert.equal(summary.arrivals, "exponential after the on-sale, mean delay 90 s")
  assert.ok(summary.faults.some((fault) => fault.kind === "client-timeouts" && /^responseLossRate [\d.]+, timeoutMs \d+/.test(fault.parameters)))
  assert.deepEqual(summary.thresholds, ["payment_to_issuance: p(99)<500", "invariants: violations==0"])
})

test("the stadium's summary has no trains but its event, the fans' ramp and both gate faults", () => {
  const summary = scenarioSummaryOf(Schema.decodeUnknownSync(Scenario)(stadiumGates))
  assert.deepEqual(summary.trains, [])
  assert.equal(summary.venues.length, 1)
  assert.match(summary.venues[0] ?? "", /^event .+ zones, group orders of \d+$/)
  assert.match(summary.arrivals, /^rising linearly from \d+ s to \d+ s after the on-sale$/)
  assert.deepEqual(summary.faults.map((fault) => [fault.kind, fault.startAfterOnSaleMs, fault.endAfterOnSaleMs, fault.parameters]), [
    ["gates-offline", 1_200_000, 1_800_000, "offlineGateShare 0.25"],
    ["camera-glare", 600_000, 2_400_000, "damageRate 0.05, cameraShare 0.25"]
  ])
})
