import assert from "node:assert/strict"
import { test } from "node:test"
import { Either, Schema } from "effect"
import { Executor, executorDurationMs, intendedStartsMs, isArrivalRate, peakVus, vuWindows } from "./Executors.js"

const decode = (input: unknown) => Schema.decodeUnknownSync(Executor)(input)
const startsOf = (input: unknown) => {
  const executor = decode(input)
  assert.ok(isArrivalRate(executor))
  return [...intendedStartsMs(executor)]
}

test("constant-arrival-rate starts rate × duration iterations, evenly spaced from 0", () => {
  const starts = startsOf({ executor: "constant-arrival-rate", ratePerSecond: 50, durationMs: 2_000, preAllocatedVus: 10 })
  assert.equal(starts.length, 100)
  assert.equal(starts[0], 0)
  assert.equal(starts[1], 20)
  assert.equal(starts[99], 1_980)
})

test("ramping-arrival-rate: the count per stage is the integral of the rate, starts are ordered and inside the stage", () => {
  // 0 → 100/s over 2 s (100 iterations), hold 100/s for 1 s (100), down to 0 over 1 s (50)
  const starts = startsOf({
    executor: "ramping-arrival-rate", startRate: 0, timeUnitMs: 1_000, preAllocatedVus: 5, maxVus: 50,
    stages: [{ durationMs: 2_000, target: 100 }, { durationMs: 1_000, target: 100 }, { durationMs: 1_000, target: 0 }]
  })
  assert.equal(starts.length, 250)
  for (let index = 1; index < starts.length; index++) assert.ok(starts[index]! >= starts[index - 1]!, `ordered at ${index}`)
  assert.equal(starts.filter((ms) => ms < 2_000).length, 100)
  assert.equal(starts.filter((ms) => ms >= 2_000 && ms < 3_000).length, 100)
  // a rising ramp is sparse early and dense late: the first quarter of the ramp holds 1/16 of its iterations
  assert.equal(starts.filter((ms) => ms < 500).length, Math.ceil(100 / 16))
  // the hold stage is evenly spaced at 10 ms
  const hold = starts.filter((ms) => ms >= 2_000 && ms < 3_000)
  assert.ok(Math.abs(hold[1]! - hold[0]! - 10) < 1e-6)
  assert.ok(starts[starts.length - 1]! < 4_000)
})

test("ramping-arrival-rate counts rate per timeUnitMs", () => {
  const starts = startsOf({ executor: "ramping-arrival-rate", startRate: 60, timeUnitMs: 60_000, preAllocatedVus: 1, stages: [{ durationMs: 10_000, target: 60 }] })
  assert.deepEqual(starts, [0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000])
})

test("constant-vus: every VU active for the whole duration", () => {
  const executor = decode({ executor: "constant-vus", vus: 3, durationMs: 5_000 })
  assert.ok(!isArrivalRate(executor))
  assert.deepEqual(vuWindows(executor), [0, 1, 2].map((vu) => ({ vu, fromMs: 0, untilMs: 5_000 })))
  assert.equal(executorDurationMs(executor), 5_000)
})

test("ramping-vus: VUs join as the ramp crosses each integer and leave in reverse order", () => {
  const executor = decode({ executor: "ramping-vus", startVus: 1, stages: [{ durationMs: 3_000, target: 4 }, { durationMs: 1_000, target: 4 }, { durationMs: 4_000, target: 0 }] })
  assert.ok(!isArrivalRate(executor))
  assert.equal(peakVus(executor), 4)
  assert.deepEqual(vuWindows(executor), [
    { vu: 0, fromMs: 0, untilMs: 7_000 },
    { vu: 1, fromMs: 1_000, untilMs: 6_000 },
    { vu: 2, fromMs: 2_000, untilMs: 5_000 },
    { vu: 3, fromMs: 3_000, untilMs: 4_000 }
  ])
})

test("ramping-vus: a VU that leaves and comes back gets two windows", () => {
  const executor = decode({ executor: "ramping-vus", startVus: 2, stages: [{ durationMs: 0, target: 1 }, { durationMs: 1_000, target: 1 }, { durationMs: 0, target: 2 }, { durationMs: 1_000, target: 2 }] })
  assert.ok(!isArrivalRate(executor))
  assert.deepEqual(vuWindows(executor), [
    { vu: 0, fromMs: 0, untilMs: 2_000 },
    { vu: 1, fromMs: 1_000, untilMs: 2_000 }
  ])
})

test("limits are checked with their names: maxVus below preAllocatedVus, a zero rate, an unknown executor", () => {
  const failure = (input: unknown) => {
    const result = Schema.decodeUnknownEither(Executor)(input)
    assert.ok(Either.isLeft(result))
    return String(result.left)
  }
  assert.match(failure({ executor: "constant-arrival-rate", ratePerSecond: 10, durationMs: 1_000, preAllocatedVus: 10, maxVus: 5 }), /maxVus must not be below preAllocatedVus/)
  assert.match(failure({ executor: "constant-arrival-rate", ratePerSecond: 0, durationMs: 1_000, preAllocatedVus: 1 }), /ratePerSecond/)
  assert.match(failure({ executor: "shared-iterations", vus: 1 }), /executor/)
})
