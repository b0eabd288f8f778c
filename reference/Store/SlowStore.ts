/**
 * A slow store, for the scenario fault `slow-store`: every transaction takes `delayMs` more, as on a disk with a
 * slow fsync that serves one commit at a time (per server process), so a burst of writers queues up behind it. The delay is set at run time by
 * the operator's `PUT /admin/store/conditions` (0, the default, adds nothing: not even a sleep).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Context, Effect, Layer, Option, Ref } from "effect"

/** the longest commit delay the operator may set */
export const maxStoreDelayMs = 60_000

export class StoreSlowness extends Context.Tag("StoreSlowness")<StoreSlowness, Ref.Ref<number>>() {}

/**
 * `sql` whose outermost transactions first wait their turn at a slow disk; every other method is the client's
 * own. The disk serves one commit at a time, each taking the current delay: a transaction waits for the commits
 * queued before it, then for its own (an M/D/1 queue). The wait is a sleep on the Clock taken before the
 * transaction opens, never while it holds the store: a sleeping holder would stall every other request on
 * SQLite's one connection, and in virtual time nothing could wake it.
 */
const slowed = (sql: SqlClient.SqlClient, delayMs: Ref.Ref<number>): SqlClient.SqlClient => {
  let diskFreeAtMs = 0
  const turnAtTheDisk = Effect.gen(function* () {
    const ms = yield* Ref.get(delayMs)
    if (ms === 0 || Option.isSome(yield* Effect.serviceOption(SqlClient.TransactionConnection))) return
    const nowMs = yield* Clock.currentTimeMillis
    diskFreeAtMs = Math.max(nowMs, diskFreeAtMs) + ms
    yield* Effect.sleep(diskFreeAtMs - nowMs)
  })
  const statement = (...args: Array<unknown>) => (sql as unknown as (...args: Array<unknown>) => unknown)(...args)
  return Object.assign(statement, sql, {
    withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.zipRight(turnAtTheDisk, sql.withTransaction(effect))
  }) as unknown as SqlClient.SqlClient
}

/** The store's client with a slowness control beside it: what the server's layers are built on. */
export const withSlowness = <E, R>(store: Layer.Layer<SqlClient.SqlClient, E, R>) =>
  Layer.effectContext(Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const delayMs = yield* Ref.make(0)
    // everything the store provides stays visible (the SQLite client's online backup reads `SqliteClient`);
    // only the generic client is replaced by the slowed one
    const provided = yield* Effect.context<SqlClient.SqlClient>()
    return provided.pipe(Context.add(SqlClient.SqlClient, slowed(sql, delayMs)), Context.add(StoreSlowness, delayMs))
  })).pipe(Layer.provide(store))
