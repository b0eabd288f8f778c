/**
 * The seat inventory port: how a hold takes a seat that is free on every segment of its journey. Each
 * variant is a real design an architect may want to compare; all safe ones pass the same tests.
 *
 * - conditional (default): one `UPDATE … WHERE (occupied_mask & m) = 0` on the first free seat. The
 *   store serialises writers on the row, and the condition is re-checked under the lock.
 * - optimistic: read candidate seats with their version, then `UPDATE … WHERE version = v`; a lost race
 *   moves to the next candidate, at most `maxOptimisticAttempts` times.
 * - row-lock: in one transaction, lock a free seat with `SELECT … FOR UPDATE SKIP LOCKED`, then write it
 *   (see `rowLock` for why it is safe on each store).
 * - queue: the waiting queue (12306's 排队): a run's holds are served one at a time, in arrival order, by
 *   the conditional write; each learns its place in line, and a full line answers `HoldQueueFull`
 *   (Inventory/Lanes.ts). One line per server process: several processes still meet in the store.
 * - unsafe: read a free seat, then write it unconditionally in a later transaction. Exists only to show
 *   what a double booking looks like under concurrent load (the auditor must catch it); refused unless
 *   the server was started with `allowUnsafeInventory`.
 *
 * Orthogonal to the variant, `holdBatching: "group-commit"` groups the holds of one tick into one
 * transaction (Inventory/Lanes.ts); "per-request" (the default) gives each its own.
 *
 * A variant owns the transaction boundaries of the claim, because the unsafe one must read outside it.
 * Every variant takes a `SeatTarget` (Orders/Repo.ts): any seat, any seat of a class ("any seat in class
 * X"), or one chosen seat; the target only narrows the candidates, the safety argument stays the same.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { Context, Effect, Layer, Option } from "effect"
import { HoldConfig } from "../Settings/Holds.js"
import type { HoldSettings, InventoryVariant } from "../Settings/Holds.js"
import { FenTotal } from "../Domain.js"
import type { RunId } from "../Domain.js"
import { HoldContended, HoldQueueFull } from "./Inventory/Errors.js"
import { addWriteAttempts, inTransaction, makeLanes } from "./Inventory/Lanes.js"
import type { LockOrder } from "./Inventory/Lanes.js"
import { anySeat, OrdersRepo, seatTargetFilter } from "./Orders/Repo.js"
import type { HeldSeat, HoldInput, SeatTarget } from "./Orders/Repo.js"
import { isLostRaceSqlError } from "../Store/Postgres.js"
import { Queries } from "../Store/Queries.js"
import { forUpdate, forUpdateSkipLocked, lockKeysInOrder } from "../Store/Dialect.js"

/** the round trip the unsafe variant leaves between its read and its write */
export const unsafeReadWriteGapMs = 1

/** how many version-checked writes the optimistic variant tries before it answers sold out */
export const maxOptimisticAttempts = 8

/**
 * How many times a hold the store aborted as the loser of a race (a deadlock, a serialization failure) is
 * run again, each time in a transaction of its own, before it answers `HoldContended` (503).
 */
export const maxHoldRetries = 5

export interface SeatInventoryService {
  readonly variant: InventoryVariant
  /**
   * Take a seat of `runId` that `target` allows (any seat when omitted) free on every segment of `mask`,
   * and run `record(seatId, seatClass)` (the order insert) in the same transaction. `undefined`: no such
   * free seat (record did not run).
   */
  readonly claim: <E, R>(
    runId: RunId, mask: number, record: (seatId: number, seatClass: string) => Effect.Effect<void, E, R>, target?: SeatTarget
  ) => Effect.Effect<number | undefined, E | SqlError | HoldQueueFull, R>
  /**
   * A hold: take a seat as `claim` does and write the held order with it, priced by its seat's class.
   * `undefined`: no such free seat. Every variant does it through its `claim` (`holdByClaim`) unless it has a
   * cheaper way to the same rows: the conditional write takes one statement on PostgreSQL (Store/0011).
   * `HoldContended`: the store aborted it as a race's loser `maxHoldRetries + 1` times (SeatInventoryLive).
   */
  readonly hold: (input: HoldInput) => Effect.Effect<HeldSeat | undefined, SqlError | HoldQueueFull | HoldContended>
}

/** The order's price in its seat's class: a class with seats but no fare is a broken catalog. */
const priceIn = (input: HoldInput, seatClass: string) => {
  const priceFen = input.pricesByClass.get(seatClass)
  return priceFen === undefined ? Effect.dieMessage(`run ${input.runId}: class ${seatClass} has seats but no fares`) : Effect.succeed(priceFen)
}

const insertHeldFor = (repo: OrdersRepo, input: HoldInput, seatId: number, priceFen: FenTotal) =>
  repo.insertHeld({
    id: input.id, customerId: input.customerId, runId: input.runId, seatId, fromIndex: input.fromIndex, toIndex: input.toIndex,
    mask: input.mask, priceFen, heldAtMs: input.heldAtMs, holdExpiresAtMs: input.holdExpiresAtMs
  })

/** A hold through a variant's `claim`: the order written by its `record`, the seat's coach and code read back. */
const holdByClaim = (repo: OrdersRepo, claim: SeatInventoryService["claim"]) => (input: HoldInput) =>
  Effect.gen(function* () {
    let priceFen = FenTotal.make(0)
    const seatId = yield* claim(input.runId, input.mask, (seatId, seatClass) => Effect.gen(function* () {
      priceFen = yield* priceIn(input, seatClass)
      yield* insertHeldFor(repo, input, seatId, priceFen)
    }), input.target)
    if (seatId === undefined) return undefined
    const seat = yield* repo.seat(seatId)
    if (!seat) return yield* Effect.dieMessage(`seat ${seatId} of order ${input.id} vanished after its hold committed`)
    const held: HeldSeat = { seatId, seatClass: seat.seat_class, coach: Number(seat.coach), seatCode: seat.seat_code, priceFen }
    return held
  })

/** a variant with `hold` through its own `claim` */
const withHoldByClaim = (repo: OrdersRepo, variant: Omit<SeatInventoryService, "hold">): SeatInventoryService =>
  ({ ...variant, hold: holdByClaim(repo, variant.claim) })

export class SeatInventory extends Context.Tag("SeatInventory")<SeatInventory, SeatInventoryService>() {}

const conditional = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const repo = yield* OrdersRepo
  const queries = yield* Queries
  /** PostgreSQL: the claim and the order's insert in one call, one round trip (Store/0011_postgres_holds.ts) */
  const holdInOneCall = (input: HoldInput) =>
    Effect.gen(function* () {
      const classes = [...input.pricesByClass.keys()]
      const held = yield* queries.first<{ seat_id: number; seat_class: string; coach: number; seat_code: string; price_fen: number }>(
        "SELECT seat_id, seat_class, coach, seat_code, price_fen FROM chunyun_hold_conditional(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
          input.id, input.customerId, input.runId,
          input.target._tag === "InClass" ? input.target.seatClass : null, input.target._tag === "Chosen" ? input.target.seatId : null,
          input.mask, input.fromIndex, input.toIndex, `{${classes.map((name) => JSON.stringify(name)).join(",")}}`,
          `{${classes.map((name) => input.pricesByClass.get(name)).join(",")}}`, input.heldAtMs, input.holdExpiresAtMs
        ])
      yield* addWriteAttempts(1)
      if (!held) return undefined
      const seat: HeldSeat = { seatId: Number(held.seat_id), seatClass: held.seat_class, coach: Number(held.coach), seatCode: held.seat_code, priceFen: FenTotal.make(Number(held.price_fen)) }
      return seat
    })
  /** SQLite: the claim answers the seat's coach and code too, and the order goes in beside it */
  const holdInOneTransaction = (input: HoldInput) =>
    sql.withTransaction(Effect.gen(function* () {
      const seat = yield* repo.claimAnySeat(input.runId, input.mask, input.target)
      yield* addWriteAttempts(1)
      if (seat === undefined) return undefined
      const priceFen = yield* priceIn(input, seat.seat_class)
      yield* insertHeldFor(repo, input, Number(seat.id), priceFen)
      const held: HeldSeat = { seatId: Number(seat.id), seatClass: seat.seat_class, coach: Number(seat.coach), seatCode: seat.seat_code, priceFen }
      return held
    }))
  const service: SeatInventoryService = {
    variant: "conditional",
    claim: (runId, mask, record, target = anySeat) => sql.withTransaction(Effect.gen(function* () {
      const seat = yield* repo.claimAnySeat(runId, mask, target)
      yield* addWriteAttempts(1)
      if (seat === undefined) return undefined
      yield* record(Number(seat.id), seat.seat_class)
      return Number(seat.id)
    })),
    hold: (input) => Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (outer) =>
      // inside a caller's transaction (a group commit's) the claim joins it; alone it takes the shortest way
      Option.isSome(outer) ? holdInOneTransaction(input) : queries.holdsInOneCall ? holdInOneCall(input) : holdInOneTransaction(input))
  }
  return service
})

const optimistic = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const repo = yield* OrdersRepo
  const service = withHoldByClaim(repo, {
    variant: "optimistic",
    // a lost race re-reads: the winner may have taken another segment of the same seat, which leaves it
    // free for this journey (a chosen seat has one candidate only, so one lost race must not mean taken)
    claim: (runId, mask, record, target = anySeat) => sql.withTransaction(Effect.gen(function* () {
      let attempts = 0
      while (attempts < maxOptimisticAttempts) {
        const candidates = yield* sql<{ id: number; version: number; seat_class: string }>`SELECT id, version, seat_class FROM seats
          WHERE ${seatTargetFilter(sql, runId, target)} AND (occupied_mask & ${mask}) = 0
          ORDER BY id LIMIT ${maxOptimisticAttempts - attempts}`
        if (candidates.length === 0) return undefined
        for (const candidate of candidates) {
          attempts++
          const won = yield* sql`UPDATE seats SET occupied_mask = occupied_mask | ${mask}, version = version + 1
            WHERE id = ${candidate.id} AND version = ${candidate.version} RETURNING id`
          yield* addWriteAttempts(1)
          if (won.length === 1) {
            yield* record(Number(candidate.id), candidate.seat_class)
            return Number(candidate.id)
          }
        }
      }
      return undefined
    }))
  })
  return service
})

/**
 * A lock on the seat row, taken by a read. On PostgreSQL (Read Committed) `FOR UPDATE SKIP LOCKED` locks
 * the first free seat no other hold has locked: a crowd spreads over the free seats instead of queueing
 * on the first one, each waiter only to find it taken once the holder commits. A locking read re-checks
 * its WHERE against the newest committed row, and the UPDATE checks the mask again under the lock, so a
 * seat another hold took between our snapshot and our lock is never written twice.
 *
 * Skipping is only a shortcut: a locked seat may be held for a disjoint segment, or be the one chosen
 * seat, and still be free for this journey once its holder commits. So when every free seat is locked,
 * a plain `FOR UPDATE` waits for the holders and answers from what they committed: sold out means sold out.
 *
 * On SQLite both locking clauses are empty: `withTransaction` on @effect/sql-sqlite-node holds the one
 * connection's semaphore from BEGIN to COMMIT, so no other statement of this server runs between the read
 * and the write (as strong as BEGIN IMMEDIATE), and the read is inside the transaction.
 */
const rowLock = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const repo = yield* OrdersRepo
  const lockFreeSeat = (runId: RunId, mask: number, target: SeatTarget, lock: Statement.Fragment) =>
    sql<{ id: number; seat_class: string }>`SELECT id, seat_class FROM seats
      WHERE ${seatTargetFilter(sql, runId, target)} AND (occupied_mask & ${mask}) = 0 ORDER BY id LIMIT 1 ${lock}`
      .pipe(Effect.map((rows) => rows[0]))
  const skipLocked = forUpdateSkipLocked(sql)
  const service = withHoldByClaim(repo, {
    variant: "row-lock",
    claim: (runId, mask, record, target = anySeat) => sql.withTransaction(Effect.gen(function* () {
      const seat = (yield* lockFreeSeat(runId, mask, target, skipLocked)) ?? (yield* lockFreeSeat(runId, mask, target, forUpdate(sql)))
      if (seat === undefined) return undefined
      const written = yield* sql`UPDATE seats SET occupied_mask = occupied_mask | ${mask}, version = version + 1
        WHERE id = ${seat.id} AND (occupied_mask & ${mask}) = 0 RETURNING id`
      yield* addWriteAttempts(1)
      // the row is locked (PostgreSQL) or the store is ours alone (SQLite): a lost seat here is a bug
      if (written.length !== 1) return yield* Effect.dieMessage(`row-lock inventory: seat ${seat.id} was taken under its lock`)
      yield* record(Number(seat.id), seat.seat_class)
      return Number(seat.id)
    }))
  })
  return service
})

const unsafe = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const repo = yield* OrdersRepo
  const service = withHoldByClaim(repo, {
    variant: "unsafe",
    claim: (runId, mask, record, target = anySeat) => Effect.gen(function* () {
      const [free] = yield* sql<{ id: number; seat_class: string }>`SELECT id, seat_class FROM seats
        WHERE ${seatTargetFilter(sql, runId, target)} AND (occupied_mask & ${mask}) = 0 ORDER BY id LIMIT 1`
      if (!free) return undefined
      // a read-then-write over a network has a round trip between the two: other requests read the
      // same seat as free in it (a yield alone is not a window: their requests are not parsed yet)
      yield* Effect.sleep(unsafeReadWriteGapMs)
      return yield* sql.withTransaction(Effect.gen(function* () {
        yield* sql`UPDATE seats SET occupied_mask = occupied_mask | ${mask}, version = version + 1 WHERE id = ${free.id}`
        yield* addWriteAttempts(1)
        yield* record(Number(free.id), free.seat_class)
        return Number(free.id)
      }))
    })
  })
  return service
})

/** The waiting queue: the conditional write, one hold of a run at a time (Inventory/Lanes.ts). */
const queue = Effect.gen(function* () {
  const config = yield* HoldConfig
  const inner = yield* conditional
  const lanes = makeLanes({ maxWaiting: config.maxQueuedHoldsPerRun, windowMs: 0, maxPerTurn: 1, turn: (works) => Effect.all(works, { discard: true }) })
  const service: SeatInventoryService = {
    variant: "queue",
    claim: (runId, mask, record, target) => Effect.gen(function* () {
      if (yield* inTransaction) return yield* inner.claim(runId, mask, record, target)
      const served = yield* lanes.join(runId, inner.claim(runId, mask, record, target))
      if (Option.isNone(served)) return yield* new HoldQueueFull({ runId, waiting: lanes.waitingIn(runId) })
      return served.value
    }),
    hold: (input) => Effect.gen(function* () {
      if (yield* inTransaction) return yield* inner.hold(input)
      const served = yield* lanes.join(input.runId, inner.hold(input))
      if (Option.isNone(served)) return yield* new HoldQueueFull({ runId: input.runId, waiting: lanes.waitingIn(input.runId) })
      return served.value
    })
  }
  return service
})

/** a claim's place in the global lock order: its run, then a chosen seat (by ID) before a class before any seat */
const lockOrderOf = (runId: RunId, target: SeatTarget = anySeat): LockOrder => {
  switch (target._tag) {
    case "Chosen": return { runId, rank: `0:${String(target.seatId).padStart(16, "0")}` }
    case "InClass": return { runId, rank: `1:${target.seatClass}` }
    case "AnySeat": return { runId, rank: "2" }
  }
}

/** the first argument of every run lock `pg_advisory_xact_lock(namespace, key)` takes: apart from other advisory locks */
const runLockNamespace = 0x63687972
/** FNV-1a of the run's ID as a signed 32-bit key: the second argument of its run lock */
const runLockKey = (runId: string) => {
  let hash = 0x811c9dc5
  for (let index = 0; index < runId.length; index++) hash = Math.imul(hash ^ runId.charCodeAt(index), 0x01000193)
  return hash | 0
}

/**
 * Group commit: the holds of one tick share a transaction (each in a savepoint). Fewer commits, each
 * hold waits up to `holdGroupCommitWindowMs` longer; the variant underneath decides which seat.
 *
 * Several server processes each group their own holds, and a group keeps every seat row it took locked
 * until its commit: two groups that each took a row the other then waits for are a deadlock. So on
 * PostgreSQL a group first takes a transaction lock on each of its runs, in ascending key order, and only
 * then its seats (in lock order, Inventory/Lanes.ts): groups that share a run take their turns on it one
 * after the other, and a group waits only for runs above every run it holds. Rows of one run are never
 * held by two groups at once, so groups never wait for each other in a cycle. (A hold that still loses a
 * race, to a change of train or a sweeper, is run again: `maxHoldRetries`.) SQLite runs one transaction at
 * a time and needs no lock.
 */
const groupCommit = (inner: SeatInventoryService, config: HoldSettings) => Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const lockRuns = (orders: ReadonlyArray<LockOrder | undefined>) => {
    const keys = [...new Set(orders.flatMap((order) => order === undefined ? [] : [runLockKey(order.runId)]))].sort((a, b) => a - b)
    return lockKeysInOrder(sql, runLockNamespace, keys)
  }
  const lanes = makeLanes({
    maxWaiting: Number.MAX_SAFE_INTEGER, windowMs: config.holdGroupCommitWindowMs, maxPerTurn: config.maxHoldsPerGroupCommit,
    turn: (works, orders) => sql.withTransaction(Effect.zipRight(lockRuns(orders), Effect.all(works, { discard: true })))
  })
  const service: SeatInventoryService = {
    variant: inner.variant,
    claim: (runId, mask, record, target) => Effect.gen(function* () {
      if (yield* inTransaction) return yield* inner.claim(runId, mask, record, target)
      const served = yield* lanes.join("all-runs", inner.claim(runId, mask, record, target), lockOrderOf(runId, target))
      return Option.getOrUndefined(served)
    }),
    hold: (input) => Effect.gen(function* () {
      if (yield* inTransaction) return yield* inner.hold(input)
      const served = yield* lanes.join("all-runs", inner.hold(input), lockOrderOf(input.runId, input.target))
      return Option.getOrUndefined(served)
    })
  }
  return service
})

const variantOf = (config: HoldSettings) => Effect.gen(function* () {
  switch (config.inventory) {
    case "conditional": return yield* conditional
    case "optimistic": return yield* optimistic
    case "row-lock": return yield* rowLock
    case "queue": return yield* queue
    case "unsafe":
      if (!config.allowUnsafeInventory) {
        return yield* Effect.dieMessage("the unsafe seat inventory double-books by design; start the server with --unsafe to use it")
      }
      return yield* unsafe
  }
})

/**
 * A hold the store aborted as the loser of a race (PostgreSQL: a deadlock, a serialization failure) is run
 * again from the start, in a transaction (or a group) of its own, once the winner's locks are gone: at most
 * `maxHoldRetries` times, then `HoldContended`. Never inside a caller's transaction: the locks it already
 * holds would meet the same cycle again, and only the caller's whole transaction can be run again.
 */
const retryingLostRaces = (service: SeatInventoryService): SeatInventoryService => ({
  ...service,
  hold: (input) => Effect.flatMap(inTransaction, (inside) => inside ? service.hold(input) : service.hold(input).pipe(
    Effect.retry({ times: maxHoldRetries, while: isLostRaceSqlError }),
    Effect.catchIf(isLostRaceSqlError, () => Effect.fail(new HoldContended({ runId: input.runId, attempts: maxHoldRetries + 1 })))))
})

/** The variant named in the server's settings, one transaction per hold or grouped. */
export const SeatInventoryLive = Layer.effect(SeatInventory, Effect.gen(function* () {
  const config = yield* HoldConfig
  const variant = yield* variantOf(config)
  return retryingLostRaces(config.holdBatching === "group-commit" ? yield* groupCommit(variant, config) : variant)
}))
