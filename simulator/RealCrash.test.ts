/**
 * The server-crash fault in real mode: a `chunyun serve` process is SIGKILLed during the rush and started again on
 * the same SQLite file while the harness keeps driving phones and moving the server's clock. The harness must
 * outlive its server: a clock jump sent to a killed process is refused (not an unhandled IPC error that ends the
 * run), the phones cut off retry, and the run ends with its audit.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Schema } from "effect"
import crashMidRush from "../scenarios/crash-mid-rush.js"
import { Scenario } from "../scenarios/Scenario.js"
import { countsOf } from "../reports/metrics.js"
import { runReal, startServerProcess } from "./Real.js"
import { testCliEntry } from "../reference/testing/Ops.js"

const cliEntry = testCliEntry
const passengerCount = 60
const crashAfterOnSaleMs = 8_000
const restartAfterOnSaleMs = 16_000
/**
 * scenario milliseconds per wall millisecond: the 8 s outage lasts under two wall seconds. At 10 a loaded two-core
 * machine once saw no ticket issued at all, so the scale leaves the phones' scenario-time waits more wall time.
 */
const timeScale = 5

describe("the server-crash fault in real mode", () => {
  test("a clock jump sent to a killed server is refused with the reason; the harness goes on", async () => {
    const server = await startServerProcess(cliEntry, ["--port", "0", "--host", "127.0.0.1", "--db", ":memory:", "--clock-start-ms", String(Date.parse(crashMidRush.startAt)), "--clock-scale", "1"])
    try {
      await server.advanceClock(1_000)
      await server.kill()
      await assert.rejects(server.advanceClock(2_000), /gone|exited/)
    } finally {
      await server.stop()
    }
  })

  test("SIGKILL during the rush, restart on the same file: phones retry, tickets are issued after it, the audit is clean", async () => {
    const scenario = Schema.decodeUnknownSync(Scenario)({
      ...crashMidRush,
      passengers: { ...crashMidRush.passengers, count: passengerCount, meanArrivalDelayMs: 12_000 },
      trains: [{ ...crashMidRush.trains![0]!, coaches: [{ coach: 1, seatClass: "second", seatCount: 40 }] }],
      faults: [{ kind: "server-crash", startAfterOnSaleMs: crashAfterOnSaleMs, endAfterOnSaleMs: restartAfterOnSaleMs }]
    })
    const outcome = await runReal(scenario, 3, cliEntry, timeScale)
    const events = outcome.history.toArray()
    const edges = events.filter((event) => event.actor === "fault-0-server-crash").map((event) => `${event.kind}:${event.outcome}`)
    assert.deepEqual(edges, ["fault-start:ok", "fault-end:ok"], "the kill and the restart, each recorded once")
    const killed = events.find((event) => event.actor === "fault-0-server-crash" && event.kind === "fault-start")!
    const counts = countsOf(outcome.history, passengerCount)
    assert.ok(counts.ticketsIssued > 0, `no ticket was issued: ${JSON.stringify(counts)}`)
    const issuedAfterRestart = events.filter((event) => event.kind === "ticket-received" && event.atMs >= killed.atMs)
    assert.ok(issuedAfterRestart.length > 0, "no ticket was received after the server came back")
    for (const invariant of outcome.invariants) assert.equal(invariant.violations, 0, `${invariant.name}: ${JSON.stringify(invariant.witness)}`)
  })
})
