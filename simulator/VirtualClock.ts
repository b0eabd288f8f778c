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
 *
 * A run that cannot go on fails with `ClockStalled` instead of ending quietly:
 * - a turn that never ends: the actor (or its in-process request) waits on something that is neither this
 *   clock nor outside work — a semaphore or deferred that only a sleeping fiber would release, or nothing at
 *   all. Nothing polls while the clock waits, so Node's event loop empties: `beforeExit` is the proof that no
 *   outside work can end the turn any more (the clock cannot tell a blocked fiber from one awaiting I/O sooner).
 * - no sleeper left while actors are still alive: they wait on something no sleeper will ever release.
 */
import { Clock, Context, Duration, Effect, Exit, Option, Runtime, Scheduler } from "effect"
import { HarnessError } from "../reports/HarnessError.js"

/**
 * Marks the fibers of an in-process request (give it in the web handler's per-request context): while
 * such a fiber sleeps on this clock, its request is parked on virtual time, not outside work.
 */
export class InProcessRequest extends Context.Tag("chunyun/InProcessRequest")<InProcessRequest, true>() {}

/** Told when a spawned actor starts and when it ends (`VirtualClock.spawn`). */
export interface ActorWatch {
  readonly started: () => void
  readonly ended: () => void
}

interface Sleeper { readonly dueMs: number; readonly sequence: number; readonly wake: () => void; cancelled: boolean }

/** Why a run cannot go on: a turn that can never end, or actors alive with nothing left to wake them. */
export class ClockStalled extends HarnessError("ClockStalled") {}

/** Upper bound on events of one run, so a runaway scenario stops with an error instead of spinning. */
export const maxEventsPerRun = 50_000_000

class SleeperQueue {
  private readonly heap: Array<Sleeper> = []
  get size() { return this.heap.length }
  /** sleepers still due (an interrupted sleep stays in the heap, marked cancelled, until it is popped) */
  live(): ReadonlyArray<Sleeper> { return this.heap.filter((sleeper) => !sleeper.cancelled) }
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
  /** called (once) when `externalPending` drops to 0: `settled()` waits on it rather than polling */
  private onExternalIdle: (() => void) | undefined
  /** actors started and not yet ended */
  private liveActors = 0
  /** fails what `run` is waiting for (a turn's end, the settling after it) */
  private failWait: ((error: ClockStalled) => void) | undefined
  private readonly failures: Array<unknown> = []

  /** Give this to every runtime under the clock (`Layer.setScheduler`): Effect work stays in microtasks. */
  readonly scheduler: Scheduler.Scheduler = Scheduler.makeBatched((runBatch) => queueMicrotask(runBatch))

  constructor(startMs: number) { this.currentMs = startMs }

  get nowMs() { return this.currentMs }
  get eventCount() { return this.events }
  /** actors started and not yet ended */
  get liveActorCount() { return this.liveActors }

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

  private externalSettled() {
    this.externalPending--
    if (this.externalPending !== 0) return
    const idle = this.onExternalIdle
    this.onExternalIdle = undefined
    idle?.()
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
        if (parked) this.externalSettled()
        const unpark = () => { if (parked) this.externalPending++ }
        const sleeper = this.enqueue(this.currentMs + Math.max(0, Math.floor(durationMs)), () => { unpark(); resume(Effect.void) })
        this.yieldTurn()
        return Effect.sync(() => { if (!sleeper.cancelled) { sleeper.cancelled = true; unpark() } })
      })
    })
  }

  /**
   * Start `actor` at virtual time `atMs`, on `runtime` (which should carry this clock). `watch` is told when the
   * actor starts and ends, outside any fiber: an observer (progress) counts with it and never runs Effect work.
   */
  spawn<R>(atMs: number, runtime: Runtime.Runtime<R>, actor: Effect.Effect<void, unknown, R>, watch?: ActorWatch) {
    this.enqueue(atMs, () => this.start(runtime, actor, watch))
  }

  /**
   * `spawn` for each of `items` in turn, each at `atMsOf(item)`, with its actor built (`actorOf`) only when its time
   * comes. The items must be in time order. Each keeps the place among other sleepers that its own `spawn` now would
   * have given it (its sequence number is taken now), but only the next item waits in the queue: an actor and what it
   * holds exist from its start to its end, not from now.
   */
  spawnEach<T, R>(
    items: ReadonlyArray<T>, atMsOf: (item: T) => number, runtime: Runtime.Runtime<R>,
    actorOf: (item: T) => Effect.Effect<void, unknown, R>, watch?: ActorWatch
  ) {
    const firstSequence = this.sequence
    this.sequence += items.length
    const notBeforeMs = this.currentMs
    const enqueueItem = (index: number, previousDueMs: number) => {
      const item = items[index]
      if (item === undefined) return
      const dueMs = Math.max(atMsOf(item), notBeforeMs)
      if (dueMs < previousDueMs) throw new Error(`spawnEach: item ${index} is due at ${dueMs}, before the item ahead of it (${previousDueMs})`)
      this.queue.push({
        dueMs, sequence: firstSequence + index, cancelled: false,
        wake: () => {
          enqueueItem(index + 1, dueMs)
          this.start(runtime, actorOf(item), watch)
        }
      })
    }
    enqueueItem(0, notBeforeMs)
  }

  private start<R>(runtime: Runtime.Runtime<R>, actor: Effect.Effect<void, unknown, R>, watch: ActorWatch | undefined) {
    this.liveActors++
    watch?.started()
    const fiber = Runtime.runFork(runtime)(actor)
    fiber.addObserver((exit) => {
      this.liveActors--
      watch?.ended()
      if (Exit.isFailure(exit)) this.failures.push(exit.cause)
      this.yieldTurn()
    })
  }

  /** Count an in-process request (or other outside work) as part of the current turn until it settles. */
  trackExternal<A>(work: Promise<A>): Promise<A> {
    this.externalPending++
    return work.finally(() => { this.externalSettled() })
  }

  /**
   * Resolves once microtasks are drained and no outside work is pending. Waits for the pending work to
   * settle instead of polling, so a request that never settles leaves the event loop empty (see `run`).
   */
  private settled(): Promise<void> {
    return new Promise<void>((resolve, fail) => {
      this.failWait = fail
      const check = () => {
        if (this.externalPending === 0) resolve()
        else this.onExternalIdle = () => setImmediate(check)
      }
      setImmediate(check)
    })
  }

  private stallReport(): string {
    const at = `virtual time ${this.currentMs} (${new Date(this.currentMs).toISOString()})`
    const actors = `${this.liveActors} actor${this.liveActors === 1 ? "" : "s"}`
    const sleepers = this.queue.live()
    if (this.handBack === undefined && this.externalPending === 0 && sleepers.length === 0) {
      return `virtual clock cannot settle: ${actors} still blocked at ${at}, none sleeping ` +
        "(each waits on something no sleeper will release: a semaphore, a deferred, a queue)"
    }
    const nextDueMs = Math.min(...sleepers.map((sleeper) => sleeper.dueMs))
    const waiting = this.handBack !== undefined
      ? "the current turn never ended (no fiber of it slept, the actor did not end)"
      : `${this.externalPending} in-process request${this.externalPending === 1 ? "" : "s"} never settled`
    return `virtual clock cannot settle: at ${at} ${waiting} and nothing outside the clock is left to end it; ` +
      `${actors} still alive, ${sleepers.length} sleeping${sleepers.length > 0 ? ` (next due at virtual time ${nextDueMs})` : ""}. ` +
      "A fiber waits on something that is neither the clock nor outside work: a semaphore or deferred that only a sleeping fiber " +
      "would release, which virtual time cannot reach while the turn is open"
  }

  /**
   * Run every event in time order until none are left. Fails with the first actor failure, or with
   * `ClockStalled` when the run cannot go on (see the header).
   */
  async run(): Promise<void> {
    // nothing polls while the clock waits: an empty event loop means no outside work can end the wait
    const onLoopEmpty = () => this.failWait?.(new ClockStalled(this.stallReport()))
    process.prependListener("beforeExit", onLoopEmpty)
    try {
      for (;;) {
        if (this.failures.length > 0) throw this.failures[0]
        const next = this.queue.pop()
        if (!next) break
        if (next.cancelled) continue
        if (++this.events > maxEventsPerRun) throw new Error(`more than ${maxEventsPerRun} events: runaway scenario`)
        this.currentMs = next.dueMs
        await new Promise<void>((turnOver, fail) => {
          this.handBack = turnOver
          this.failWait = fail
          next.wake()
        })
        await this.settled()
      }
      if (this.failures.length > 0) throw this.failures[0]
      if (this.liveActors > 0) throw new ClockStalled(this.stallReport())
    } finally {
      this.failWait = undefined
      process.removeListener("beforeExit", onLoopEmpty)
    }
  }
}
