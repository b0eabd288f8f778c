/**
 * Work that may happen only once a transaction's writes are durable: the server's counters of holds, payments and
 * tickets (reference/operations/Metrics.ts) must not count a write whose transaction rolled back, nor count twice a transaction
 * that PostgreSQL ran again after it lost a race (Store/Postgres.ts).
 *
 * `afterCommit(run)` inside a transaction keeps `run` until the outermost transaction has committed; outside any
 * transaction it runs `run` at once. The store's client is wrapped once (`withAfterCommit`), as the slow store
 * wraps it: its outermost `withTransaction` gives each attempt a fresh list, and runs the list of the attempt that
 * committed. A transaction that fails runs nothing. On SQLite a transaction answers only after the COMMIT of its
 * group (Store/Sqlite.ts), so "committed" is the same moment on both stores.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, FiberRef, Layer } from "effect"

/** what the current transaction runs once it commits; undefined outside a transaction of a wrapped client */
const pendingAfterCommit = FiberRef.unsafeMake<Array<() => void> | undefined>(undefined)

/** Runs `run` once the current transaction commits, or at once outside a transaction. `run` must not throw. */
export const afterCommit = (run: () => void): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    const pending = fiber.getFiberRef(pendingAfterCommit)
    if (pending === undefined) run()
    else pending.push(run)
    return Effect.void
  })

const transactionKey = SqlClient.TransactionConnection.key

/** `sql` whose outermost transactions run their `afterCommit` work once committed; every other method is the client's own. */
const withAfterCommitHooks = (sql: SqlClient.SqlClient): SqlClient.SqlClient => {
  const withTransaction = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.withFiberRuntime<A, E | SqlError, R>((fiber) => {
      // a nested transaction is a savepoint of the outer one: the outermost runs the work
      if (fiber.currentContext.unsafeMap.has(transactionKey)) return sql.withTransaction(effect)
      const pending: Array<() => void> = []
      // the store may run the transaction again (PostgreSQL, after a lost race): each attempt starts a fresh list
      const attempt = Effect.suspend(() => {
        pending.length = 0
        return Effect.locally(effect, pendingAfterCommit, pending)
      })
      return Effect.tap(sql.withTransaction(attempt), () => { for (const run of pending) run() })
    })
  // the client is a tagged-template function carrying its helpers as properties: copy them onto a new one
  const call = (...args: Array<unknown>) => (sql as unknown as (...args: Array<unknown>) => unknown)(...args)
  const client = Object.assign(call, sql, { withTransaction }) as unknown as SqlClient.SqlClient
  return Object.assign(client, { safe: client })
}

/** The store's layer with its client wrapped by `withAfterCommitHooks`; everything else it provides stays visible. */
export const withAfterCommit = <ROut, E, R>(
  store: Layer.Layer<ROut | SqlClient.SqlClient, E, R>
): Layer.Layer<ROut | SqlClient.SqlClient, E, R> =>
  Layer.effectContext(Effect.map(Effect.context<ROut | SqlClient.SqlClient>(), (provided) =>
    Context.add(provided, SqlClient.SqlClient, withAfterCommitHooks(Context.get(provided, SqlClient.SqlClient))))
  ).pipe(Layer.provide(store))
