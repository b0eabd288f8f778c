/**
 * A virtual run that cannot go on, as a process of its own (VirtualClock.test.ts runs it): the clock learns
 * it from Node's `beforeExit`, which the test runner also takes as "this test never ended", so the test
 * needs a process of its own. Prints `stalled: <message>` and exits `stalledExitCode` when the clock fails
 * with ClockStalled, `finished` and 0 when `run()` resolves.
 *   stalledClock.ts semaphore   — A holds a permit across a sleep; B, waiting for it, never ends its turn
 *   stalledClock.ts request     — an in-process request that never settles, its actor asleep
 *   … progress                  — with a progress display polling the run by wall time, which must not hide the stall
 */
import { Effect, Layer, ManagedRuntime } from "effect"
import { History } from "../History.js"
import { PassengerProgress, pollProgress } from "../Progress.js"
import { ClockStalled, VirtualClock } from "../VirtualClock.js"

/** VirtualClock.test.ts expects it */
const stalledExitCode = 3
const startMs = 1_000_000

const clock = new VirtualClock(startMs)
const runtime = await ManagedRuntime.make(Layer.merge(Layer.setClock(clock.clock), Layer.setScheduler(clock.scheduler))).runtime()
const semaphore = Effect.unsafeMakeSemaphore(1)

if (process.argv[2] === "semaphore") {
  clock.spawn(startMs, runtime, semaphore.withPermits(1)(Effect.sleep(100)))
  clock.spawn(startMs + 10, runtime, semaphore.withPermits(1)(Effect.void))
} else if (process.argv[2] === "request") {
  clock.spawn(startMs, runtime, Effect.gen(function* () {
    yield* Effect.fork(Effect.promise(() => clock.trackExternal(new Promise<void>(() => {}))))
    yield* Effect.sleep(100)
  }))
} else {
  console.error("usage: stalledClock.ts semaphore|request")
  process.exit(2)
}

const history = new History()
const passengers = new PassengerProgress(0)
let offers = 0
if (process.argv[3] === "progress") pollProgress(() => { offers++ }, () => ({ nowMs: clock.nowMs, history, passengers }))

try {
  await clock.run()
  console.log("finished")
} catch (error) {
  if (!(error instanceof ClockStalled)) throw error
  console.log(`stalled: ${error.message}`)
  if (process.argv[3] === "progress") console.log(`progress offers: ${offers}`)
  process.exit(stalledExitCode)
}
