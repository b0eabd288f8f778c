/**
 * crash-mid-rush in virtual mode, scaled down: the store slows down, then the server is killed during the rush
 * and restarted on the same store. Phones that cannot connect retry with a doubling backoff; sales resume after the restart; the audit
 * is clean and the run is reproducible.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Schema } from "effect"
import crashMidRush from "../scenarios/crash-mid-rush.js"
import { Scenario } from "../scenarios/Scenario.js"
import { runVirtual } from "./Virtual.js"

const crashAfterOnSaleMs = 20_000
const restartAfterOnSaleMs = 35_000

const scenario = Schema.decodeUnknownSync(Scenario)({
  ...crashMidRush,
  passengers: { ...crashMidRush.passengers, count: 300, meanArrivalDelayMs: 30_000 },
  trains: [{ ...crashMidRush.trains![0]!, coaches: [{ coach: 1, seatClass: "second", seatCount: 60 }] }],
  faults: [
    { kind: "slow-store", startAfterOnSaleMs: 5_000, endAfterOnSaleMs: 15_000, delayMs: 5 },
    { kind: "server-crash", startAfterOnSaleMs: crashAfterOnSaleMs, endAfterOnSaleMs: restartAfterOnSaleMs }
  ]
})
const onSaleMs = Date.parse(scenario.onSaleAt)

describe("crash-mid-rush: the server killed during the rush and restarted on its store", () => {
  test("connections fail while it is down, phones retry, sales resume, the audit is clean, the trace repeats", async () => {
    const first = await runVirtual(scenario, 5)
    const events = first.history.toArray()
    // the slow disk's window opened and closed through the operator's endpoint (its transactions queued on the
    // virtual clock instead of stalling the run: a sleep while holding SQLite's connection would deadlock it)
    const slowEdges = events.filter((event) => event.actor === "fault-0-slow-store").map((event) => `${event.kind}:${event.outcome}`)
    assert.deepEqual(slowEdges, ["fault-start:ok", "fault-end:ok"])
    const killed = events.find((event) => event.kind === "killed" && event.actor === "server")
    assert.ok(killed, "no kill was recorded")
    assert.equal(killed.atMs, onSaleMs + crashAfterOnSaleMs)
    const refused = events.filter((event) => event.outcome === "RequestError")
    assert.ok(refused.length > 0, "no request failed to connect while the server was down")
    for (const event of refused) {
      assert.ok(event.atMs + (event.durationMs ?? 0) >= onSaleMs + crashAfterOnSaleMs && event.atMs < onSaleMs + restartAfterOnSaleMs,
        `a connection failed outside the outage: ${JSON.stringify(event)}`)
    }
    const refusedActors = new Set(refused.map((event) => event.actor))
    const recovered = events.filter((event) => event.kind === "ticket-received" && refusedActors.has(event.actor))
    assert.ok(recovered.length > 0, "no phone that hit the outage got its ticket after the restart")
    for (const invariant of first.invariants) assert.equal(invariant.violations, 0, `${invariant.name}: ${invariant.witness?.join("; ")}`)
    const second = await runVirtual(scenario, 5)
    assert.equal(second.history.traceHash(), first.history.traceHash())
  })
})
