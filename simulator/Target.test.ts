/**
 * Where a `--target` run's timeline starts: where the server's clock reads, when that is inside the scenario (a
 * server started with the scenario's start a while before the run is ahead of it); otherwise at the scenario's start.
 */
import assert from "node:assert/strict"
import { test } from "node:test"
import { Schema } from "effect"
import { Scenario } from "../scenarios/Scenario.js"
import targetScenarioInput from "./testing/target-scenario.js"
import { scenarioEndMs } from "./Population.js"
import { serverClockOf } from "./Target.js"

const targetScenario = Schema.decodeUnknownSync(Scenario)(targetScenarioInput)

test("the server's clock is followed only when it reads a time inside the scenario, running at the run's scale", () => {
  const startMs = Date.parse(targetScenario.startAt)
  const answeredAtMs = performance.timeOrigin + performance.now()
  const scale = 10
  const ahead = serverClockOf(targetScenario, startMs + 60_000, answeredAtMs, scale)
  assert.ok(ahead, "a server a minute into the scenario is followed")
  const elapsedWallMs = performance.timeOrigin + performance.now() - answeredAtMs
  const readMs = ahead()
  // the estimate moves on at the run's scale from the answer (the clock read after `elapsedWallMs` of wall time, or more)
  assert.ok(readMs >= startMs + 60_000 + elapsedWallMs * scale, `${readMs - startMs} ms into the scenario`)
  assert.equal(serverClockOf(targetScenario, startMs - 1, answeredAtMs, scale), undefined, "before the scenario's start: not followed")
  assert.equal(serverClockOf(targetScenario, scenarioEndMs(targetScenario), answeredAtMs, scale), undefined, "at its end: not followed")
  assert.equal(serverClockOf(targetScenario, undefined, answeredAtMs, scale), undefined, "a server that does not say")
})
