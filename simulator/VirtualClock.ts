/**
 * A discrete-event clock for virtual mode. Actors are fibers that run one at a time: the loop wakes the
 * earliest sleeper (ties by registration order), waits until that actor's turn is over, then wakes the
 * next. Nothing runs "at the same time", so the interleaving — and with it the trace — is a function of
 * the seed alone. Server work runs inside the calling actor's turn (requests are in-process).
 *
 * A turn is over when (1) a fiber of the actor slept or the actor ended, and then (2) the process has
 * settled: microtasks drained (checked from `setImmediate`), no Effect task queued (the runtimes use
 * `scheduler`, which only schedules microtasks) and no in-process request in flight (`trackExternal`)
 * except those parked on this clock (a server-side sleep: simulated latency of a bank, a slow store).
 * (1) alone is not enough: `Effect.timeout` and `Effect.race` fork children that sleep while their
 * siblings still have work at this instant. (2) alone is not enough: an actor may wait for real I/O.
 */
import { Clock, Context, Duration, Effect, Exit, Option, Runtime, Scheduler } from "effect"

/**
 * Marks the fibers of an in-process request (give it in the web handler's per-request context): while
 * such a fiber sleeps on this clock, its request is parked on virtual time, not outside work.
 */
export class InProcessRequest extends Context.Tag("chunyun/InProcessRequest")<InProcessRequest, true>() {}

interface Sleeper { readonly dueMs: number; readonly sequence: number; readonly wake: () => void; cancelled: boolean }

/** Upper bound on events of one run, so a runaway scenario stops with an error instead of spinning. */
export const maxEventsPerRun = 50_000_000

class SleeperQueue {
  private readonly heap: Array<Sleeper> = []
  get size() { return this.heap.length }
  private before(a: Sleeper, b: Sleeper) { return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.sequence < b.sequence) }
  push(sleeper: Sleeper) {
    const heap = this.heap
    heap.push(sleeper)
    let index = heap.length - 1
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (!this.before(heap[index]!, heap[parent]!)) break
      ;[heap[index], heap[parent]] = [heap[parent]!, heap[index]!]
      index = parent
    }
  }
  pop(): Sleeper | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (heap.length > 0 && last) {
      heap[0] = last
      let index = 0
      for (;;) {
        const left = index * 2 + 1, right = left + 1
        let smallest = index
        if (left < heap.length && this.before(heap[left]!, heap[smallest]!)) smallest = left
        if (right < heap.length && this.before(heap[right]!, heap[smallest]!)) smallest = right
        if (smallest === index) break
        ;[heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!]
        index = smallest
      }
    }
    return top
  }
}

export class VirtualClock {
  private currentMs: number
  private sequence = 0
  private events = 0
  private readonly queue = new SleeperQueue()
  private handBack: (() => void) | undefined
  private externalPending = 0
  private readonly failures: Array<unknown> = []

  /** Give this to every runtime under the clock (`Layer.setScheduler`): Effect work stays in microtasks. */
  readonly scheduler: Scheduler.Scheduler = Scheduler.makeBatched((runBatch) => queueMicrotask(runBatch))

  constructor(startMs: number) { this.currentMs = startMs }

  get nowMs() { return this.currentMs }
  get eventCount() { return this.events }

  /** The Effect `Clock` view of this scheduler, for `Layer.setClock` / `Effect.withClock`. */
  readonly clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => this.currentMs,
    unsafeCurrentTimeNanos: () => BigInt(this.currentMs) * 1_000_000n,
    currentTimeMillis: Effect.sync(() => this.currentMs),
    currentTimeNanos: Effect.sync(() => BigInt(this.currentMs) * 1_000_000n),
    sleep: (duration) => this.sleep(Duration.toMillis(duration))
  }

  private enqueue(dueMs: number, wake: () => void): Sleeper {
    const sleeper: Sleeper = { dueMs: Math.max(dueMs, this.currentMs), sequence: this.sequence++, wake, cancelled: false }
    this.queue.push(sleeper)
    return sleeper
  }

  private yieldTurn() {
    const resume = this.handBack
    this.handBack = undefined
    resume?.()
  }

  sleep(durationMs: number): Effect.Effect<void> {
    return Effect.flatMap(Effect.serviceOption(InProcessRequest), (request) => {
      const parked = Option.isSome(request)
      return Effect.async<void>((resume) => {
        if (parked) this.externalPending--
        const unpark = () => { if (parked) this.externalPending++ }
        const sleeper = this.enqueue(this.currentMs + Math.max(0, Math.floor(durationMs)), () => { unpark(); resume(Effect.void) })
        this.yieldTurn()
        return Effect.sync(() => { if (!sleeper.cancelled) { sleeper.cancelled = true; unpark() } })
      })
    })
  }

  /** Start `actor` at virtual time `atMs`, on `runtime` (which should carry this clock). */
  spawn<R>(atMs: number, runtime: Runtime.Runtime<R>, actor: Effect.Effect<void, unknown, R>) {
    this.enqueue(atMs, () => {
      const fiber = Runtime.runFork(runtime)(actor)
      fiber.addObserver((exit) => {
        if (Exit.isFailure(exit)) this.failures.push(exit.cause)
        this.yieldTurn()
      })
    })
  }

  /** Count an in-process request (or other outside work) as part of the current turn until it settles. */
  trackExternal<A>(work: Promise<A>): Promise<A> {
    this.externalPending++
    return work.finally(() => { this.externalPending-- })
  }

  /** Resolves once microtasks are drained and no outside work is pending. */
  private settled(): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = () => this.externalPending === 0 ? resolve() : setImmediate(check)
      setImmediate(check)
    })
  }

  /** Run every event in time order until none are left. Fails with the first actor failure. */
  async run(): Promise<void> {
    for (;;) {
      if (this.failures.length > 0) throw this.failures[0]
      const next = this.queue.pop()
      if (!next) return
      if (next.cancelled) continue
      if (++this.events > maxEventsPerRun) throw new Error(`more than ${maxEventsPerRun} events: runaway scenario`)
      this.currentMs = next.dueMs
      await new Promise<void>((turnOver) => {
        this.handBack = turnOver
        next.wake()
      })
      await this.settled()
    }
  }
}

