/**
 * Two designs that put holds in line before they reach the store, on one mechanism: a lane.
 *
 * - The waiting queue (12306's 排队): one lane per train run; its holds are served one at a time, in
 *   arrival order, and each learns how many were ahead of it. The queue has a bound: past it the hold
 *   is refused with `HoldQueueFull` (503), as 12306 answers "too many people queueing".
 * - Group commit: one lane for the whole process; the first hold of a tick waits `windowMs` for others,
 *   then runs up to `maxPerTransaction` of them in one transaction (each in a savepoint of its own, so
 *   one failing hold never takes the others down). Nobody learns of its seat before the commit. The
 *   turn runs its holds in the global lock order (`LockOrder`), not in arrival order: two processes'
 *   groups then never each hold a seat row the other waits for.
 *
 * A lane needs no background fiber: the request at the head of the line serves it (leads), then hands
 * the lead to the next waiter's request. A leader is uninterruptible while it serves others, so a
 * client hanging up never strands the line. A claim already inside a transaction (a change of train
 * claims inside its own) bypasses the lane: waiting in line while holding the store would deadlock.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Context, Deferred, Effect, Exit, FiberRef, Option } from "effect"

export const holdBatchings = ["per-request", "group-commit"] as const
export type HoldBatching = typeof holdBatchings[number]

/** What one claim cost, shown to the phone in the hold's answer (all optional there). */
export interface ClaimStats {
  /** seat writes tried (the optimistic variant retries a lost version race) */
  readonly writeAttempts: number
  /** holds ahead of this one in its run's waiting queue when it arrived */
  readonly queuePosition?: number
  /** time from joining the line to being served */
  readonly queueWaitMs?: number
  /** how many holds shared this hold's transaction (group commit) */
  readonly groupSize?: number
}
export const noClaimStats: ClaimStats = { writeAttempts: 0 }

/**
 * The stats of the claims made so far in this fiber. `Orders.hold` resets it, claims, and reads it; a
 * variant adds its write attempts; a lane adds its position and wait. A fiber-local, so the claim's
 * signature (shared by every variant and by the change of train) stays as it is.
 */
export const currentClaimStats = FiberRef.unsafeMake<ClaimStats>(noClaimStats)

export const addWriteAttempts = (attempts: number) =>
  FiberRef.update(currentClaimStats, (stats) => ({ ...stats, writeAttempts: stats.writeAttempts + attempts }))

type Served = { readonly _tag: "Served"; readonly exit: Exit.Exit<unknown, unknown>; readonly stats: ClaimStats }
type Lead = { readonly _tag: "Lead" }

/**
 * Where a claim stands in the one order every process takes seat rows in: by run, then by `rank` within the
 * run (a chosen seat by its ID before a class before any seat). A turn runs its claims in this order.
 */
export interface LockOrder {
  readonly runId: string
  readonly rank: string
}

const compareLockOrders = (a: LockOrder | undefined, b: LockOrder | undefined) => {
  if (a === undefined || b === undefined) return 0
  if (a.runId !== b.runId) return a.runId < b.runId ? -1 : 1
  return a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0
}

interface Waiter {
  /** the waiter's claim, with its own context: a leader runs it on the waiter's behalf */
  readonly work: Effect.Effect<unknown, unknown>
  readonly order: LockOrder | undefined
  readonly answer: Deferred.Deferred<Served | Lead>
}

/** `serving`: how many the current turn took out of the line (still ahead of anyone who joins now) */
interface LaneState { readonly waiting: Array<Waiter>; leading: boolean; serving: number }

export interface LaneOptions {
  /** waiters beyond this many (not counting those being served) are refused (`Option.none()` from `join`) */
  readonly maxWaiting: number
  /** how long a new leader waits for company before serving */
  readonly windowMs: number
  /** how many waiters one turn of a leader serves */
  readonly maxPerTurn: number
  /**
   * How a turn runs its waiters: each alone, or all inside one transaction. `works` come sorted by their
   * lock order (arrival order among those without one), and `orders[i]` is that of `works[i]`.
   */
  readonly turn: (works: ReadonlyArray<Effect.Effect<void>>, orders: ReadonlyArray<LockOrder | undefined>) => Effect.Effect<void, SqlError>
}

/** Lanes by key (a run's ID, or one key for the whole process). */
export const makeLanes = (options: LaneOptions) => {
  const lanes = new Map<string, LaneState>()
  const laneOf = (key: string) => {
    const existing = lanes.get(key)
    if (existing) return existing
    const created: LaneState = { waiting: [], leading: false, serving: 0 }
    lanes.set(key, created)
    return created
  }

  /**
   * One turn of `leader`: take the head of the line (the leader is first in it), run it, and answer each
   * waiter after the turn (its commit) is over; then hand the lead on. Answers the leader's own result.
   */
  const serveTurn = (lane: LaneState, leader: Waiter) => Effect.gen(function* () {
    const batch = lane.waiting.splice(0, options.maxPerTurn)
    if (batch[0] !== leader) return yield* Effect.dieMessage("a lane's leader is not at the head of its line")
    lane.serving = batch.length
    const results: Array<Served> = batch.map(() => ({ _tag: "Served", exit: Exit.void, stats: noClaimStats }))
    const works = batch.map((waiter, index) => Effect.locally(currentClaimStats, noClaimStats)(Effect.gen(function* () {
      const exit = yield* Effect.exit(waiter.work)
      results[index] = { _tag: "Served", exit, stats: yield* FiberRef.get(currentClaimStats) }
    })))
    // the turn takes rows in the global lock order, whatever order its waiters arrived in (a stable sort)
    const sorted = batch.map((_, index) => index).sort((a, b) => compareLockOrders(batch[a]!.order, batch[b]!.order))
    const turn = yield* Effect.exit(options.turn(sorted.map((index) => works[index]!), sorted.map((index) => batch[index]!.order)))
    lane.serving = 0
    const answers = batch.map((_, index): Served => {
      // the turn's own transaction failed (its commit): that failure is every waiter's answer
      const served = Exit.isFailure(turn) ? { ...results[index]!, exit: turn as Exit.Exit<unknown, unknown> } : results[index]!
      return { ...served, stats: { ...served.stats, groupSize: batch.length } }
    })
    for (const [index, waiter] of batch.entries()) if (index > 0) yield* Deferred.succeed(waiter.answer, answers[index]!)
    const next = lane.waiting[0]
    if (next) yield* Deferred.succeed(next.answer, { _tag: "Lead" })
    else lane.leading = false
    return answers[0]!
  })

  /**
   * Run `work` through the lane `key`: `Option.none()` when the line is full; otherwise its exit,
   * once served, with the claim stats of the run merged into this fiber's. `order`: where the work's rows
   * stand in the global lock order, for a turn that runs several works in one transaction.
   */
  const join = <A, E, R>(key: string, work: Effect.Effect<A, E, R>, order?: LockOrder): Effect.Effect<Option.Option<A>, E, R> =>
    Effect.uninterruptible(Effect.gen(function* () {
      const lane = laneOf(key)
      if (lane.waiting.length >= options.maxWaiting) return Option.none()
      const context = yield* Effect.context<R>()
      const answer = yield* Deferred.make<Served | Lead>()
      const position = lane.serving + lane.waiting.length
      const joinedAtMs = yield* Clock.currentTimeMillis
      // the waiter's services, under the leader's transaction when the turn opened one (group commit)
      const self: Waiter = { work: Effect.mapInputContext(work, (outer: Context.Context<never>) => Context.merge(context, outer)), order, answer }
      lane.waiting.push(self)
      // lead at once when nobody leads; otherwise wait to be served, or to be handed the lead (which leaves
      // `leading` set). A served waiter must not touch `leading`: its leader may have cleared it already, and
      // setting it again would leave the lane "led" by nobody, with every later hold waiting forever.
      let outcome: Served | Lead
      if (lane.leading) outcome = yield* Deferred.await(answer)
      else {
        lane.leading = true
        outcome = { _tag: "Lead" }
      }
      if (outcome._tag === "Lead") {
        if (options.windowMs > 0 && lane.waiting.length < options.maxPerTurn) yield* Effect.sleep(options.windowMs)
        outcome = yield* serveTurn(lane, self)
      }
      const waitedMs = (yield* Clock.currentTimeMillis) - joinedAtMs
      const stats = outcome.stats
      yield* FiberRef.update(currentClaimStats, (mine) => ({
        writeAttempts: mine.writeAttempts + stats.writeAttempts,
        queuePosition: position, queueWaitMs: waitedMs,
        ...(stats.groupSize === undefined ? {} : { groupSize: stats.groupSize })
      }))
      return Option.some(yield* (outcome.exit as Exit.Exit<A, E>))
    }))

  return { join, waitingIn: (key: string) => lanes.get(key)?.waiting.length ?? 0 } as const
}

/** True inside a transaction: a claim there must not wait in a lane (see the module's comment). */
export const inTransaction = Effect.map(Effect.serviceOption(SqlClient.TransactionConnection), Option.isSome)
