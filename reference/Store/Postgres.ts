/**
 * The PostgreSQL store: the scale-out store, where several `chunyun serve` processes share one database.
 * Same schema and migrations as SQLite (Store/migrations.ts); what differs is handled here, once:
 *
 * - Types: pg returns BIGINT (int8) and NUMERIC (what SUM of a BIGINT is) as strings, so a balance would
 *   leave the API as "25000". This store parses them as JS numbers: every value the schema holds (fen,
 *   ms timestamps, segment masks of at most 31 bits, counts) stays far below 2^53.
 * - Concurrency: SQLite runs one transaction at a time; PostgreSQL runs them side by side under Read
 *   Committed. A transaction that loses a race can fail with a deadlock, a serialization failure, or a
 *   unique violation against a row a concurrent transaction just committed. Re-running it reads the
 *   winner's committed rows and answers as SQLite would have, so the outermost transaction is retried,
 *   at most `maxTransactionRetries` times.
 * - Start-up: several processes may start on an empty database at once; migrations run under an
 *   advisory lock, so one process migrates and the others wait and find the schema in place.
 * - The pool: this store opens pg's pool itself and hands it to @effect/sql-pg (`PgClient.fromPool`), which keeps its
 *   pool to itself otherwise: the prepared queries run named statements on it (Store/Queries.ts) and the
 *   operator's metrics read its connections (open, idle, waiting) from it.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import Pg from "pg"
import { StoreConnections } from "./Connections.js"
import { runMigrations } from "./migrations.js"

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/database`; add `?options=-c search_path=…` (see `withSearchPath`) for a schema */
  readonly url: string
  /** the connection pool's size in this process (pg's default is 10) */
  readonly maxConnections?: number
  /**
   * How long opening the pool may take, on the Clock the store is built under (default `postgresConnectTimeoutMs`).
   * A server whose Clock runs a scenario's time faster than the wall must scale it up by the same factor.
   */
  readonly connectTimeoutMs?: number
}

/** how long opening the store's connection pool may take, in wall time */
export const postgresConnectTimeoutMs = 5_000

/** how many times a transaction that lost a race to a concurrent one is run again before it is a 500 */
export const maxTransactionRetries = 3

/**
 * SQLSTATEs of a transaction that lost a race and is worth running again: serialization_failure,
 * deadlock_detected, unique_violation (a concurrent transaction committed the row first; a re-run sees it).
 */
export const retryableSqlStates: ReadonlySet<string> = new Set(["40001", "40P01", "23505"])

/** pg_type OIDs of the types this schema's columns and aggregates come back as, parsed from pg's text format */
const typeParsers: ReadonlyMap<number, (text: string) => unknown> = new Map<number, (text: string) => unknown>([
  [16, (text) => text === "t"], // bool
  [20, Number], // int8: BIGINT columns, COUNT(*)
  [21, Number], // int2
  [23, Number], // int4: INTEGER columns
  [700, Number], // float4
  [701, Number], // float8
  [1700, Number] // numeric: SUM of a BIGINT column
])
const keepText = (text: string) => text
const storeTypes = { getTypeParser: (oid: number) => typeParsers.get(oid) ?? keepText }

const identifierPattern = /^[a-z_][a-z0-9_]*$/

/** The URL with every connection's search_path set to `schema` (a lowercase SQL identifier). */
export const withSearchPath = (url: string, schema: string) => {
  if (!identifierPattern.test(schema)) throw new Error(`withSearchPath: "${schema}" is not a plain lowercase identifier`)
  const parsed = new URL(url)
  parsed.searchParams.set("options", `-c search_path=${schema}`)
  return parsed.toString()
}

export const isPostgresUrl = (text: string) => /^postgres(ql)?:\/\//.test(text)

const sqlStateOf = (error: unknown) =>
  error instanceof SqlError && typeof error.cause === "object" && error.cause !== null && "code" in error.cause
    ? String(error.cause.code)
    : undefined

export const isRetryableSqlError = (error: unknown) => retryableSqlStates.has(sqlStateOf(error) ?? "")

/**
 * SQLSTATEs of a statement the store aborted to break a cycle of waits or a conflict with a concurrent
 * transaction (deadlock_detected, serialization_failure): nothing was wrong with the statement, and running
 * it again once the other side committed succeeds.
 */
export const lostRaceSqlStates: ReadonlySet<string> = new Set(["40001", "40P01"])

export const isLostRaceSqlError = (error: unknown): error is SqlError => lostRaceSqlStates.has(sqlStateOf(error) ?? "")

/**
 * The client with `withTransaction` retrying the outermost transaction (a nested one is a savepoint of
 * the outer: only the whole transaction can be run again). Everything else is the client itself.
 */
const retryingTransactions = (sql: SqlClient.SqlClient): SqlClient.SqlClient => {
  const withTransaction = <R, E, A>(effect: Effect.Effect<A, E, R>) =>
    Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (outer) =>
      Option.isSome(outer)
        ? sql.withTransaction(effect)
        : sql.withTransaction(effect).pipe(Effect.retry({ times: maxTransactionRetries, while: isRetryableSqlError })))
  // the client is a tagged-template function carrying its helpers as properties: copy them onto a new one
  const call = (...args: Array<unknown>) => (sql as unknown as (...args: Array<unknown>) => unknown)(...args)
  const client = Object.assign(call, sql, { withTransaction }) as unknown as SqlClient.SqlClient
  Object.assign(client, { safe: client })
  return client
}

/** Migrations while holding a lock per schema, so processes starting together do not race on CREATE TABLE. */
const migrateExclusively = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const lockKey = "hashtext('chunyun-migrations:' || current_schema())"
  const connection = yield* sql.reserve
  yield* connection.executeUnprepared(`SELECT pg_advisory_lock(${lockKey})`, [], undefined)
  yield* runMigrations.pipe(Effect.ensuring(Effect.orDie(connection.executeUnprepared(`SELECT pg_advisory_unlock(${lockKey})`, [], undefined))))
}).pipe(Effect.scoped)

/** one connection is enough for a CREATE or DROP SCHEMA */
const adminMaxConnections = 1

/** One statement outside any store (CREATE / DROP SCHEMA for a run or a test), on a pool of its own, then closed. */
export const adminStatement = (url: string, statement: string): Promise<void> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement)).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: adminMaxConnections })),
    Effect.asVoid,
    Effect.runPromise
  )

/**
 * The store's connection pool, for the prepared queries (Store/Queries.ts), which run their statements on it as
 * named prepared statements; everything else goes through the `SqlClient` built over the same pool.
 */
export class PostgresPool extends Context.Tag("chunyun/PostgresPool")<PostgresPool, Pg.Pool>() {}

/** how long closing the pool may take before the store's scope closes without waiting for it, in ms */
const poolEndTimeoutMs = 1_000

/** The pool, open once one connection answered (within `connectTimeoutMs` on the Clock), ended with the scope. */
const openPool = (options: PostgresStoreOptions) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const connectTimeoutMs = options.connectTimeoutMs ?? postgresConnectTimeoutMs
      const pool = new Pg.Pool({
        connectionString: options.url, types: storeTypes, max: options.maxConnections, connectionTimeoutMillis: connectTimeoutMs, application_name: "chunyun"
      })
      // an idle connection that breaks is dropped by the pool (the next query opens another): its event must not crash the process
      pool.on("error", () => undefined)
      yield* Effect.tryPromise({ try: () => pool.query("SELECT 1"), catch: (cause) => new SqlError({ cause, message: "PostgreSQL: failed to connect" }) }).pipe(
        Effect.timeoutFail({
          duration: connectTimeoutMs,
          onTimeout: () => new SqlError({ cause: new Error("Connection timed out"), message: `PostgreSQL: no connection within ${connectTimeoutMs} ms` })
        }),
        Effect.tapError(() => Effect.promise(() => pool.end())))
      return pool
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(poolEndTimeoutMs)))

/**
 * PostgreSQL with the schema migrated, its pool (`PostgresPool`) and the pool's connections (`StoreConnections`); the
 * ledger's system accounts are ensured by the server's layer.
 */
export const postgresStore = (options: PostgresStoreOptions): Layer.Layer<SqlClient.SqlClient | PostgresPool | StoreConnections> =>
  Layer.scopedContext(Effect.gen(function* () {
    const pool = yield* openPool(options)
    const client = yield* PgClient.fromPool({ acquire: Effect.succeed(pool), applicationName: "chunyun" })
    yield* migrateExclusively.pipe(Effect.provideService(SqlClient.SqlClient, client))
    return Context.make(PostgresPool, pool).pipe(
      Context.add(SqlClient.SqlClient, retryingTransactions(client)),
      Context.add(StoreConnections, { store: "postgres", open: () => pool.totalCount, idle: () => pool.idleCount, waiting: () => pool.waitingCount }))
  })).pipe(Layer.provide(Reactivity.layer), Layer.orDie)

/**
 * The store's client on `options.url` (its types, its application name) without its migrations or retries: for a
 * reader of a store another process owns, such as `chunyun audit`. Connecting can fail (the `SqlError`).
 */
export const postgresReadClient = (options: PostgresStoreOptions): Layer.Layer<SqlClient.SqlClient, SqlError> =>
  Layer.scoped(SqlClient.SqlClient, Effect.flatMap(openPool(options), (pool) => PgClient.fromPool({ acquire: Effect.succeed(pool), applicationName: "chunyun" })))
    .pipe(Layer.provide(Reactivity.layer))
