/**
 * The executors drive both modes: a virtual run starts iteration n at the on-sale + the executor's offset,
 * drops iterations beyond maxVus, keeps a closed model at its VU count; real mode measures a call from its
 * intended send time. A scenario's endAt ends its arrivals, from the arrival curve or an executor.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Effect, Schema } from "effect"
import { Scenario } from "../scenarios/Scenario.js"
import type { ScenarioInput } from "../scenarios/Scenario.js"
import { History } from "./History.js"
import { HistoryRecorder, recorded } from "../devices/Instruments.js"
import type { HistoryEvent } from "../devices/HistoryEvents.js"
import type { Passenger } from "../devices/Phone.js"
import { arrivalsBeforeEnd } from "./Population.js"
import { buildReport } from "../reports/assemble.js"
import { RealTimeline } from "./RealTimeline.js"
import { smallScenarioInput } from "./testing/smallScenario.js"
import { runVirtual } from "./Virtual.js"

const scenarioWith = (load: ScenarioInput["load"], count = 120): Scenario =>
  Schema.decodeUnknownSync(Scenario)({ ...smallScenarioInput, passengers: { ...smallScenarioInput.passengers, count }, load })
const onSaleMs = Date.parse(smallScenarioInput.onSaleAt)

const firstSearchByPhone = (events: ReadonlyArray<HistoryEvent>) => {
  const first = new Map<string, number>()
  for (const event of events) if (event.kind === "search" && !first.has(event.actor)) first.set(event.actor, event.atMs)
  return first
}

/** how many purchases are under way at once, at most: from a journey's first call to its ticket or giving up */
const peakPurchasing = (events: ReadonlyArray<HistoryEvent>) => {
  const changes: Array<[number, number]> = []
  for (const [actor, atMs] of firstSearchByPhone(events)) {
    const end = events.find((event) => event.actor === actor && (event.kind === "ticket-received" || event.kind === "gave-up"))
    changes.push([atMs, +1], [end?.atMs ?? Infinity, -1])
  }
  changes.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let now = 0
  let peak = 0
  for (const [, change] of changes) { now += change; peak = Math.max(peak, now) }
  return peak
}

describe("executors in virtual mode", () => {
  test("constant-arrival-rate: passenger n starts at on-sale + n / rate, and the run is its seed", async () => {
    const scenario = scenarioWith({ executor: "constant-arrival-rate", ratePerSecond: 10, durationMs: 4_000, preAllocatedVus: 200 }, 60)
    const outcome = await runVirtual(scenario, 3)
    const starts = firstSearchByPhone(outcome.history.toArray())
    assert.equal(starts.size, 40, "rate × duration iterations, fewer than the 60 passengers")
    for (let index = 0; index < 40; index++) assert.equal(starts.get(`phone-${index}`), onSaleMs + index * 100, `phone-${index}`)
    assert.ok(outcome.invariants.every((invariant) => invariant.violations === 0))
    assert.equal((await runVirtual(scenario, 3)).history.traceHash(), outcome.history.traceHash())
  })

  test("an iteration that finds maxVus purchases under way is dropped and recorded; the pool is never exceeded", async () => {
    const scenario = scenarioWith({ executor: "constant-arrival-rate", ratePerSecond: 10, durationMs: 10_000, preAllocatedVus: 2, maxVus: 3 })
    const events = (await runVirtual(scenario, 3)).history.toArray()
    const dropped = events.filter((event) => event.kind === "dropped-iteration")
    const started = firstSearchByPhone(events).size
    assert.ok(dropped.length > 50, `think times of seconds keep 3 VUs busy: ${dropped.length} dropped`)
    assert.equal(started + dropped.length, 100)
    assert.ok(peakPurchasing(events) <= 3)
  })

  test("constant-vus: each VU starts its next passenger when the last purchase ends, never more than vus at once", async () => {
    const scenario = scenarioWith({ executor: "constant-vus", vus: 3, durationMs: 30_000 })
    const events = (await runVirtual(scenario, 3)).history.toArray()
    const starts = [...firstSearchByPhone(events).values()].sort((a, b) => a - b)
    assert.deepEqual(starts.slice(0, 3), [onSaleMs, onSaleMs, onSaleMs])
    assert.ok(starts.length > 6, `VUs loop: ${starts.length} iterations`)
    assert.ok(starts.every((atMs) => atMs < onSaleMs + 30_000))
    assert.equal(peakPurchasing(events), 3)
  })
})

describe("the scenario's endAt ends arrivals: nobody due at or after it comes, and the cut ones are counted", () => {
  const endAfterOnSaleMs = 60_000
  const withEnd = (load: ScenarioInput["load"], count = 120) =>
    Schema.decodeUnknownSync(Scenario)({
      ...smallScenarioInput, passengers: { ...smallScenarioInput.passengers, count }, load,
      endAt: new Date(onSaleMs + endAfterOnSaleMs).toISOString().replace(".000Z", "Z")
    })
  const phonesSeen = (events: ReadonlyArray<HistoryEvent>) => new Set(events.filter((event) => event.actor.startsWith("phone-")).map((event) => event.actor))

  test("arrivalsBeforeEnd: due at endAt is cut, a millisecond before comes; without endAt nobody is cut", () => {
    const scenario = withEnd(undefined)
    const endMs = onSaleMs + endAfterOnSaleMs
    const arrival = (index: number, arrivalAtMs: number) => ({ passenger: { index } as Passenger, arrivalAtMs, journey: "app" as const })
    const arrivals = [arrival(0, endMs - 1), arrival(1, endMs), arrival(2, endMs + 5_000)]
    const { arriving, cut } = arrivalsBeforeEnd(scenario, arrivals)
    assert.deepEqual(arriving.map((coming) => coming.passenger.index), [0])
    assert.equal(cut, 2)
    assert.equal(arrivalsBeforeEnd(scenarioWith(undefined), arrivals).cut, 0)
  })

  test("arrival curve: passengers due after endAt never show up; the report counts them and says so", async () => {
    // exponential arrivals with a 90 s mean: about half are due after 60 s
    const scenario = withEnd(undefined)
    const outcome = await runVirtual(scenario, 3)
    assert.ok(outcome.arrivalsCut > 20 && outcome.arrivalsCut < 100, `cut ${outcome.arrivalsCut} of 120`)
    assert.equal(phonesSeen(outcome.history.toArray()).size, 120 - outcome.arrivalsCut)
    const report = buildReport({ scenario, seed: 3, mode: "virtual", outcome, codeVersion: "test", startedAt: "", wallDurationMs: 0, notes: [] })
    assert.equal(report.counts.arrivalsCut, outcome.arrivalsCut)
    assert.ok(report.notes.some((note) => note.includes(`${outcome.arrivalsCut} passengers due at or after it did not come`)), report.notes.join("\n"))
  })

  test("open model: the iterations the executor still had after endAt are cut, not started", async () => {
    const scenario = withEnd({ executor: "constant-arrival-rate", ratePerSecond: 1, durationMs: 100_000, preAllocatedVus: 200 })
    const outcome = await runVirtual(scenario, 3)
    const starts = firstSearchByPhone(outcome.history.toArray())
    assert.equal(starts.size, endAfterOnSaleMs / 1_000, "one a second until endAt")
    assert.ok([...starts.values()].every((atMs) => atMs < onSaleMs + endAfterOnSaleMs))
    assert.equal(outcome.arrivalsCut, 100 - starts.size, "the schedule's 100 iterations, less those started")
  })

  test("closed model: no VU starts an iteration at or after endAt", async () => {
    const scenario = withEnd({ executor: "constant-vus", vus: 3, durationMs: 300_000 })
    const outcome = await runVirtual(scenario, 3)
    const starts = [...firstSearchByPhone(outcome.history.toArray()).values()]
    assert.ok(starts.length > 3 && starts.every((atMs) => atMs < onSaleMs + endAfterOnSaleMs), `${starts.length} starts`)
    assert.equal(outcome.arrivalsCut, 3, "each VU's first start after endAt is refused")
  })
})

describe("real timeline", () => {
  test("a call sent late because the event loop was busy counts the delay from its intended send time", async () => {
    const timeline = new RealTimeline(0, 1, () => Promise.resolve())
    const history = new History()
    const sleptMs = 10
    const blockedMs = 150
    const call = timeline.actor(timeline.sleep(sleptMs).pipe(Effect.zipRight(recorded("phone-0", "search", Effect.void)))).pipe(Effect.provideService(HistoryRecorder, history))
    const done = Effect.runPromise(call)
    const blockUntil = performance.now() + blockedMs
    while (performance.now() < blockUntil) { /* the driver is busy: the sleep's timer cannot fire */ }
    await done
    const durationMs = history.toArray()[0]!.durationMs!
    assert.ok(durationMs >= blockedMs - sleptMs - 5, `measured from the intended send time: ${durationMs} ms`)
  })

  test("it jumps an idle stretch once the server's clock has; without a way to move that clock it never jumps", async () => {
    const idleMs = 5_000
    const advanced: Array<number> = []
    const jumping = new RealTimeline(0, 1, (offsetMs) => { advanced.push(offsetMs); return Promise.resolve() })
    await Effect.runPromise(jumping.actor(jumping.sleep(idleMs)))
    assert.ok(jumping.nowMs() >= idleMs && jumping.jumpedMs > 0, `now ${jumping.nowMs()} ms, jumped ${jumping.jumpedMs} ms`)
    assert.equal(advanced.length, 1)
    const sleptMs = 100
    const fixed = new RealTimeline(0, 1)
    const wallStartMs = performance.now()
    await Effect.runPromise(fixed.actor(fixed.sleep(sleptMs)))
    assert.equal(fixed.jumpedMs, 0)
    // a timer never fires early: the sleep took its time on the wall clock
    assert.ok(performance.now() - wallStartMs >= sleptMs - 1, `${performance.now() - wallStartMs} ms`)
  })
})
