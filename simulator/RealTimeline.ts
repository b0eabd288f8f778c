/**
 * The scenario's timeline in real mode. It runs `scale` times faster than the wall clock, and when every
 * actor is asleep it jumps straight to the earliest wake-up (hours between the on-sale and the gates cost
 * nothing), after the server's clock has taken the same jump (`advance`, acknowledged over IPC).
 * Busy stretches therefore run at the chosen scale and idle ones are skipped, as in virtual mode.
 * Without `advance` (a server the harness did not start, whose clock it cannot move) it never jumps: every
 * stretch runs at the chosen scale.
 */
import { Clock, Effect, FiberRef } from "effect"
import { intendedSendMs } from "../devices/Instruments.js"

/**
 * When every actor sleeps nothing is pending, so any wait is idle: jump even short gaps. (A 5 s floor
 * made a 2,000-passenger run sleep through most of five virtual hours of gate arrivals at 10×.)
 */
export const minJumpMs = 1

interface Sleeper { readonly wakeAtMs: number; readonly wake: () => void; timer: ReturnType<typeof setTimeout> | undefined }

/**
 * How a timeline that several driver processes share jumps: no process may jump alone, since the others' actors
 * and the server's clock must take the same jump. Each process says when all its actors sleep (and until when)
 * and when one wakes; the parent, once every process sleeps, moves the server's clock and then every timeline by
 * the same offset (`RealTimeline.setOffset`).
 */
export interface SharedJumps {
  /** every actor of this process sleeps; the earliest wakes at `earliestWakeAtMs` (scenario ms) */
  readonly idle: (earliestWakeAtMs: number) => void
  /** an actor of this process is awake again (told only after `idle`) */
  readonly busy: () => void
}

/** How a timeline jumps over idle stretches: alone (moving the server's clock first), with other processes, or never. */
export type TimelineJumps =
  | { readonly kind: "alone"; readonly advance: (offsetMs: number) => Promise<void> }
  | { readonly kind: "shared"; readonly jumps: SharedJumps }

export class RealTimeline {
  private offsetMs = 0
  private busy = 0
  private jumping = false
  private readonly sleepers = new Set<Sleeper>()
  /** the earliest wake-up last reported idle to a shared timeline's parent; undefined while busy */
  private reportedIdleAtMs: number | undefined = undefined
  private readonly jumpsBy: TimelineJumps | undefined

  /**
   * `jumps`: a function is a timeline of one process that jumps alone after moving the server's clock; absent, it
   * never jumps. `wallStartMs` (epoch ms) is the wall instant of `startMs`: processes that share a timeline share it.
   */
  constructor(
    private readonly startMs: number,
    private readonly scale: number,
    jumps?: ((offsetMs: number) => Promise<void>) | TimelineJumps,
    private wallStartMs: number = performance.timeOrigin + performance.now()
  ) {
    this.jumpsBy = typeof jumps === "function" ? { kind: "alone", advance: jumps } : jumps
  }

  /** Start the timeline at `wallStartMs` (epoch ms) instead: for a timeline created before the wall instant its processes share is known. */
  setWallStart(wallStartMs: number) { this.wallStartMs = wallStartMs }

  /** how far the timeline has jumped ahead of its scaled wall clock (a restarted server is told to jump as far) */
  get jumpedMs(): number { return this.offsetMs }

  nowMs(): number {
    return Math.floor(this.startMs + (performance.timeOrigin + performance.now() - this.wallStartMs) * this.scale + this.offsetMs)
  }

  /**
   * Make `effect` an actor: busy except while it sleeps on this timeline. Counted from the moment this
   * is called (before any fork runs it), so the timeline never jumps between a fork and its start.
   */
  actor<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    this.busy++
    this.awake()
    return Effect.ensuring(effect, Effect.sync(() => { this.busy--; this.maybeJump() }))
  }

  /**
   * Sleep on the timeline. On waking, the fiber's next call is marked as intended for the wake-up time
   * (devices/Instruments.ts `intendedSendMs`): if the timer fired late, the call's latency includes the delay. A journey
   * forked after the sleep inherits the mark, so its first call is measured from its intended start.
   */
  sleep(durationMs: number): Effect.Effect<void> {
    return Effect.suspend(() => {
      const wakeAtMs = this.nowMs() + Math.max(0, durationMs)
      return this.sleepUntil(wakeAtMs).pipe(Effect.zipRight(this.markIntended(wakeAtMs)))
    })
  }

  /** Clock ms at which the timeline was (or will be) at `scenarioMs`, for latencies measured from intent. */
  private markIntended(scenarioMs: number) {
    return Effect.flatMap(Clock.currentTimeMillis, (wallMs) =>
      FiberRef.set(intendedSendMs, wallMs - Math.max(0, this.nowMs() - scenarioMs) / this.scale))
  }

  private sleepUntil(wakeAtMs: number): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const sleeper: Sleeper = {
        wakeAtMs,
        timer: undefined,
        wake: () => {
          if (!this.sleepers.delete(sleeper)) return
          clearTimeout(sleeper.timer)
          this.busy++
          this.awake()
          resume(Effect.void)
        }
      }
      this.sleepers.add(sleeper)
      this.busy--
      this.arm(sleeper)
      this.maybeJump()
      return Effect.sync(() => {
        if (this.sleepers.delete(sleeper)) { clearTimeout(sleeper.timer); this.busy++; this.awake() }
      })
    })
  }

  /** (Re)start a sleeper's wall timer for the time left on the timeline as it is now. */
  private arm(sleeper: Sleeper) {
    clearTimeout(sleeper.timer)
    sleeper.timer = setTimeout(sleeper.wake, Math.max(0, sleeper.wakeAtMs - this.nowMs()) / this.scale)
  }

  /** A shared timeline's process is busy again after it said it was idle: its parent must not jump now. */
  private awake() {
    if (this.reportedIdleAtMs === undefined || this.jumpsBy?.kind !== "shared") return
    this.reportedIdleAtMs = undefined
    this.jumpsBy.jumps.busy()
  }

  /**
   * Move a shared timeline `offsetMs` past its scaled wall clock, as the parent moved every process's and the
   * server's; an offset at or behind the current one changes nothing. Sleepers due by then wake.
   */
  setOffset(offsetMs: number) {
    if (offsetMs > this.offsetMs) this.offsetMs = offsetMs
    this.reportedIdleAtMs = undefined
    this.wakeOrRearm()
    this.maybeJump()
  }

  private wakeOrRearm() {
    const nowMs = this.nowMs()
    for (const sleeper of [...this.sleepers]) {
      if (sleeper.wakeAtMs <= nowMs) sleeper.wake()
      else this.arm(sleeper)
    }
  }

  private maybeJump() {
    if (this.busy > 0 || this.jumping || this.sleepers.size === 0) return
    let earliestMs = Infinity
    for (const sleeper of this.sleepers) earliestMs = Math.min(earliestMs, sleeper.wakeAtMs)
    const gapMs = earliestMs - this.nowMs()
    const jumps = this.jumpsBy
    if (gapMs < minJumpMs || jumps === undefined) {
      // due already (its timer is behind the timeline): wake it now rather than wait for the timer
      for (const sleeper of [...this.sleepers]) if (sleeper.wakeAtMs <= this.nowMs()) sleeper.wake()
      return
    }
    if (jumps.kind === "shared") {
      if (this.reportedIdleAtMs === earliestMs) return
      this.reportedIdleAtMs = earliestMs
      jumps.jumps.idle(earliestMs)
      return
    }
    this.jumping = true
    const target = this.offsetMs + gapMs
    jumps.advance(target).then(() => {
      this.offsetMs = target
      this.jumping = false
      this.wakeOrRearm()
    }, () => { this.jumping = false })
  }
}
