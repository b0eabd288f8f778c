/**
 * The lane under the waiting queue and group commit, without HTTP: arrival order, places in line, the
 * bound, turns of several, and a failing waiter that must not strand the ones behind it.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Effect, Exit, FiberRef, Option } from "effect"
import { addWriteAttempts, currentClaimStats, makeLanes, noClaimStats } from "./Lanes.js"
import type { LaneOptions } from "./Lanes.js"

/** how long each work takes: long enough that every waiter joins while the first is served */
const workMs = 5
const waiterCount = 6

const lanesOf = (options: Partial<LaneOptions>) => makeLanes({
  maxWaiting: 100, windowMs: 0, maxPerTurn: 1, turn: (works) => Effect.all(works, { discard: true }), ...options
})

/** `waiterCount` joins at once; each records when it was served and answers its stats */
const crowd = (lanes: ReturnType<typeof makeLanes>, served: Array<number>, failing = -1) =>
  Effect.forEach(Array.from({ length: waiterCount }, (_, index) => index), (index) =>
    Effect.gen(function* () {
      yield* FiberRef.set(currentClaimStats, noClaimStats)
      const result = yield* Effect.exit(lanes.join("run-1", Effect.gen(function* () {
        yield* Effect.sleep(workMs)
        served.push(index)
        yield* addWriteAttempts(index + 1)
        if (index === failing) return yield* Effect.fail(`waiter ${index} failed`)
        return index
      })))
      return { index, result, stats: yield* FiberRef.get(currentClaimStats) }
    }), { concurrency: "unbounded" })

describe("lanes", () => {
  test("one at a time, in arrival order; each learns its place, its wait and its own write attempts", async () => {
    const served: Array<number> = []
    const answers = await Effect.runPromise(crowd(lanesOf({}), served))
    assert.deepEqual(served, [0, 1, 2, 3, 4, 5])
    for (const { index, result, stats } of answers) {
      assert.deepEqual(result, Exit.succeed(Option.some(index)))
      assert.equal(stats.queuePosition, index)
      assert.equal(stats.writeAttempts, index + 1)
      assert.ok((stats.queueWaitMs ?? 0) >= workMs * index, `waiter ${index} waited ${stats.queueWaitMs} ms`)
    }
  })

  test("past the bound a waiter is turned away (none), the others are served", async () => {
    const served: Array<number> = []
    const answers = await Effect.runPromise(crowd(lanesOf({ maxWaiting: 2 }), served))
    const refused = answers.filter(({ result }) => Exit.isSuccess(result) && Option.isNone(result.value)).map(({ index }) => index)
    assert.deepEqual(refused, [3, 4, 5])
    assert.deepEqual(served, [0, 1, 2])
  })

  test("a turn of several serves them together and tells each the group's size", async () => {
    const served: Array<number> = []
    const turns: Array<number> = []
    const lanes = lanesOf({ maxPerTurn: 4, windowMs: 1, turn: (works) => Effect.sync(() => turns.push(works.length)).pipe(Effect.zipRight(Effect.all(works, { discard: true }))) })
    const answers = await Effect.runPromise(crowd(lanes, served))
    assert.deepEqual(turns, [4, 2])
    assert.deepEqual(answers.map(({ stats }) => stats.groupSize), [4, 4, 4, 4, 2, 2])
  })

  test("a turn runs its works in lock order (run, then rank), not arrival order, and answers each its own result", async () => {
    const served: Array<string> = []
    const orders: Array<ReadonlyArray<string>> = []
    const lanes = lanesOf({
      maxPerTurn: 8, windowMs: 5,
      turn: (works, lockOrders) => Effect.sync(() => orders.push(lockOrders.map((order) => `${order?.runId}/${order?.rank}`)))
        .pipe(Effect.zipRight(Effect.all(works, { discard: true })))
    })
    // arrival order: run B's any seat, run A's any seat, run B's chosen seat 7, run A's chosen seat 12, run A's chosen seat 3
    const arrivals = [["B", "2"], ["A", "2"], ["B", "0:7"], ["A", "0:12"], ["A", "0:03"]] as const
    const answers = await Effect.runPromise(Effect.forEach(arrivals, ([runId, rank]) =>
      lanes.join("all-runs", Effect.sync(() => served.push(`${runId}/${rank}`)).pipe(Effect.as(`${runId}/${rank}`)), { runId, rank }),
    { concurrency: "unbounded" }))
    const expected = ["A/0:03", "A/0:12", "A/2", "B/0:7", "B/2"]
    assert.deepEqual(orders, [expected])
    assert.deepEqual(served, expected)
    assert.deepEqual(answers, arrivals.map(([runId, rank]) => Option.some(`${runId}/${rank}`)))
  })

  test("a waiter whose work fails gets its failure; the ones behind it are still served", async () => {
    const served: Array<number> = []
    const answers = await Effect.runPromise(crowd(lanesOf({}), served, 2))
    assert.deepEqual(served, [0, 1, 2, 3, 4, 5])
    assert.deepEqual(answers[2]!.result, Exit.fail("waiter 2 failed"))
    assert.deepEqual(answers[5]!.result, Exit.succeed(Option.some(5)))
  })
})
