/**
 * The timeline several driver processes share: no process jumps an idle stretch alone. Here two timelines stand
 * for two processes (the parent's coordinator tells them what it would tell them over IPC): while one has an actor
 * awake nothing jumps; once both sleep, the server's clock and then both timelines jump by the same offset to the
 * earliest wake-up of the two; a process that has finished no longer holds the others back.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Deferred, Effect } from "effect"
import { JumpCoordinator } from "./Drivers.js"
import { RealTimeline } from "./RealTimeline.js"

const minuteMs = 60_000

const sharedPair = () => {
  const wallStartMs = performance.timeOrigin + performance.now()
  const serverOffsets: Array<number> = []
  const parent = new RealTimeline(0, 1, undefined, wallStartMs)
  const processes: Array<RealTimeline> = []
  const coordinator = new JumpCoordinator(2, parent, async (offsetMs) => { serverOffsets.push(offsetMs) },
    (offsetMs) => { for (const timeline of processes) timeline.setOffset(offsetMs) })
  for (const index of [0, 1]) {
    processes.push(new RealTimeline(0, 1, {
      kind: "shared", jumps: { idle: (atMs) => coordinator.idle(index, atMs), busy: () => coordinator.busy(index) }
    }, wallStartMs))
  }
  return { serverOffsets, coordinator, first: processes[0]!, second: processes[1]! }
}

/** until `condition` holds, on the wall clock's pace (a timer per turn; no deadline: the test runner's timeout is the bound) */
const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5))
}

describe("a timeline shared by several driver processes", () => {
  test("jumps only when every process sleeps, to the earliest wake-up, the server's clock first", { timeout: 60_000 }, async () => {
    const { serverOffsets, coordinator, first, second } = sharedPair()
    const secondAwake = Effect.runSync(Deferred.make<void>())
    let firstWokeAtMs: number | undefined
    const firstActor = Effect.runPromise(first.actor(first.sleep(10 * minuteMs).pipe(Effect.zipRight(Effect.sync(() => { firstWokeAtMs = first.nowMs() })))))
    // the second process has an actor awake (waiting on an answer): nothing may jump
    const secondActor = Effect.runPromise(second.actor(Deferred.await(secondAwake).pipe(Effect.zipRight(second.sleep(20 * minuteMs)))))
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepEqual(serverOffsets, [], "no jump while a process is busy")
    assert.equal(firstWokeAtMs, undefined)

    // both sleep now: the jump goes to the first's wake-up, ten minutes in, the server's clock moved first
    Effect.runSync(Deferred.succeed(secondAwake, undefined))
    await firstActor
    assert.equal(serverOffsets.length, 1)
    assert.ok(firstWokeAtMs! >= 10 * minuteMs && firstWokeAtMs! < 11 * minuteMs, `woke at ${firstWokeAtMs} ms`)
    assert.equal(first.jumpedMs, serverOffsets[0])
    assert.equal(second.jumpedMs, serverOffsets[0], "both processes jumped as far")

    // the first process is done: the second alone decides, and its sleeper is woken by the next jump
    coordinator.finished(0)
    await secondActor
    await until(() => serverOffsets.length === 2)
    assert.ok(second.nowMs() >= 20 * minuteMs, `the second process at ${second.nowMs()} ms`)
    assert.equal(second.jumpedMs, serverOffsets[1])
  })
})
