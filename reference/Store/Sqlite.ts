/**
 * The SQLite store: one better-sqlite3 connection per server process, behind @effect/sql's `SqlClient`.
 *
 * This is the client @effect/sql-sqlite-node builds (one connection, a semaphore that gives it to one
 * transaction at a time, the SQLite statement compiler), made for a server's hot path:
 * - prepared statements are kept in a plain `Map` by their SQL text (bounded by `maxPreparedStatements`),
 *   BEGIN / COMMIT / ROLLBACK / SAVEPOINT included; the package's `Cache` is an Effect per lookup and it
 *   prepares the transaction statements anew every time;
 * - the raw database is a service of its own (`SqliteDatabase`), so the store's prepared queries
 *   (`Store/Queries.ts`) run synchronously on the same connection, inside the same transactions, for a few
 *   microseconds a statement instead of the tens an Effect `Statement` costs (bench/sqlClient.ts measures both).
 *
 * Migrations run when the layer is built, and the ledger's system accounts are ensured by the server's layer.
 */
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as Statement from "@effect/sql/Statement"
import { Context, Effect, Layer, Option, Scope } from "effect"
import { runMigrations } from "./migrations.js"

/** the pages the connection keeps in memory (the default, 2 MiB, is smaller than a rush's working set) */
export const sqliteCacheKib = 65_536
/** how often the checkpointer copies the write-ahead log into the database file */
export const walCheckpointIntervalMs = 250
/**
 * The log starts over only when a checkpoint has copied all of it before the next write begins; under writes
 * without a pause that never happens and the log would grow without bound. Past this many frames (4 KiB pages:
 * about 256 MiB) the checkpointer waits for a pause (a RESTART checkpoint: writers wait for it, once).
 */
export const maxWalFrames = 65_536

/**
 * The write-ahead log's checkpoints, off the server's thread. A commit in WAL mode with `synchronous = NORMAL`
 * only appends to the log; a checkpoint copies the log into the database file and fsyncs it, which took
 * 20–30 ms on this project's disk: done by the connection itself (SQLite's default, every 1000 pages) it
 * stalled the event loop, and every request with it, several times a second under load. A worker thread with a
 * connection of its own runs a PASSIVE checkpoint every `walCheckpointIntervalMs`: it never waits for, nor
 * blocks, the server's writes, and the fsync waits in that thread (past `maxWalFrames` it does make writers
 * wait, once, so the log cannot grow without bound). The thread is stopped with the store.
 */
const checkpointerSource = `
const { parentPort, workerData } = require("node:worker_threads")
const Database = require(workerData.driver)
const db = new Database(workerData.filename)
db.pragma("busy_timeout = " + workerData.busyTimeoutMs)
const timer = setInterval(() => {
  try {
    const [state] = db.pragma("wal_checkpoint(PASSIVE)")
    // writes without a pause never let the log start over: past the bound, wait for one (writers wait meanwhile)
    if (state.log > workerData.maxWalFrames) db.pragma("wal_checkpoint(RESTART)")
  } catch (error) { parentPort.postMessage(String(error)) }
}, workerData.intervalMs)
parentPort.on("message", () => { clearInterval(timer); db.close(); parentPort.close() })
`

const startCheckpointer = (filename: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const worker = new Worker(checkpointerSource, {
        eval: true,
        workerData: {
          driver: require.resolve("better-sqlite3"), filename, intervalMs: walCheckpointIntervalMs, busyTimeoutMs: sqliteBusyTimeoutMs, maxWalFrames
        }
      })
      // a failed checkpoint is retried on the next tick; the log only grows meanwhile
      worker.on("message", (message) => console.error(`chunyun: WAL checkpoint of ${filename} failed: ${message}`))
      worker.unref()
      return worker
    }),
    (worker) => Effect.promise(() => new Promise<void>((done) => {
      worker.once("exit", () => done())
      // unreferenced, the thread would not keep the process alive until it has closed its connection
      worker.ref()
      worker.postMessage("stop")
    })))

/** the most prepared statements one connection keeps; the oldest is dropped past it */
export const maxPreparedStatements = 500
/** how long a statement waits for a lock another process holds on the file */
export const sqliteBusyTimeoutMs = 5_000

/** The slice of better-sqlite3 this store uses (the package ships no types of its own). */
export interface SqliteStatement {
  readonly reader: boolean
  all: (...parameters: ReadonlyArray<unknown>) => Array<any>
  get: (...parameters: ReadonlyArray<unknown>) => any
  run: (...parameters: ReadonlyArray<unknown>) => { readonly changes: number; readonly lastInsertRowid: number | bigint }
  raw: (toggle?: boolean) => SqliteStatement
  safeIntegers: (toggle?: boolean) => SqliteStatement
}
export interface SqliteConnection {
  prepare: (sql: string) => SqliteStatement
  pragma: (text: string) => unknown
  serialize: () => Uint8Array
  backup: (destination: string) => Promise<unknown>
  loadExtension: (path: string) => void
  close: () => void
  readonly inTransaction: boolean
}

const require = createRequire(import.meta.url)
const openSqlite = require("better-sqlite3") as new (filename: string, options?: { readonly?: boolean }) => SqliteConnection

export interface SqliteStoreOptions {
  /** a file path, or ":memory:" */
  readonly filename: string
}

/**
 * The one connection of the store, with its prepared statements. `prepared(text)` is the statement of that
 * SQL text, prepared on first use.
 */
export interface SqliteDatabaseService {
  readonly filename: string
  readonly connection: SqliteConnection
  readonly prepared: (text: string) => SqliteStatement
  /** the permit to use the connection: held by a transaction from BEGIN to COMMIT, and by a single statement */
  readonly permit: ConnectionPermit
}
export class SqliteDatabase extends Context.Tag("chunyun/SqliteDatabase")<SqliteDatabase, SqliteDatabaseService>() {}

/**
 * One holder of the connection at a time, the others in arrival order. Cheaper than an Effect `Semaphore` for
 * the one thing it does (a few microseconds a transaction, which the hot path pays several times an order):
 * taking a free permit is a flag, releasing hands it to the first in line. Waiting is not interruptible: a
 * holder keeps the connection only for one transaction, so the wait is short, and a permit is never handed to
 * a fiber that has gone.
 */
export class ConnectionPermit {
  #held = false
  readonly #waiting: Array<() => void> = []
  get held() { return this.#held }
  readonly take: Effect.Effect<void> = Effect.suspend(() => {
    if (!this.#held) {
      this.#held = true
      return Effect.void
    }
    return Effect.async<void>((resume) => { this.#waiting.push(() => resume(Effect.void)) })
  })
  readonly release: Effect.Effect<void> = Effect.sync(() => {
    const next = this.#waiting.shift()
    // the permit passes straight to the next in line (still held); free only when no one waits
    if (next === undefined) this.#held = false
    else next()
  })
  withPermit<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.uninterruptibleMask((restore) => Effect.zipRight(this.take, Effect.ensuring(restore(effect), this.release)))
  }
}

const statementFailure = (cause: unknown, message: string) => new SqlError({ cause, message })

const makeDatabase = (options: SqliteStoreOptions) => Effect.gen(function* () {
  const connection = yield* Effect.acquireRelease(
    Effect.try({ try: () => new openSqlite(options.filename), catch: (cause) => statementFailure(cause, `Failed to open ${options.filename}`) }),
    (opened) => Effect.sync(() => opened.close()))
  if (options.filename !== ":memory:") connection.pragma("journal_mode = WAL")
  connection.pragma(`busy_timeout = ${sqliteBusyTimeoutMs}`)
  connection.pragma("synchronous = NORMAL")
  connection.pragma("foreign_keys = ON")
  connection.pragma(`cache_size = -${sqliteCacheKib}`)
  if (options.filename !== ":memory:") {
    // the connection never checkpoints (a checkpoint ends in an fsync, tens of ms here): the checkpointer does
    connection.pragma("wal_autocheckpoint = 0")
    yield* startCheckpointer(options.filename)
  }
  const statements = new Map<string, SqliteStatement>()
  const prepared = (text: string) => {
    const cached = statements.get(text)
    if (cached !== undefined) return cached
    const statement = connection.prepare(text)
    if (statements.size >= maxPreparedStatements) statements.delete(statements.keys().next().value!)
    statements.set(text, statement)
    return statement
  }
  const service: SqliteDatabaseService = { filename: options.filename, connection, prepared, permit: new ConnectionPermit() }
  return service
})

/** @effect/sql's connection over the one SQLite connection (as @effect/sql-sqlite-node's, with the `Map` of statements). */
const sqlConnection = (database: SqliteDatabaseService): Connection => {
  const run = (statement: SqliteStatement, params: ReadonlyArray<unknown>, raw: boolean) =>
    Effect.withFiberRuntime<ReadonlyArray<any>, SqlError>((fiber) => {
      if (Context.get(fiber.currentContext, SqlClient.SafeIntegers)) statement.safeIntegers(true)
      try {
        if (statement.reader) return Effect.succeed(statement.all(...params))
        const result = statement.run(...params)
        return Effect.succeed(raw ? (result as unknown as ReadonlyArray<any>) : [])
      } catch (cause) {
        return Effect.fail(statementFailure(cause, "Failed to execute statement"))
      }
    })
  const prepare = (text: string) => Effect.try({ try: () => database.prepared(text), catch: (cause) => statementFailure(cause, "Failed to prepare statement") })
  const execute = (text: string, params: ReadonlyArray<unknown>, raw: boolean) => Effect.flatMap(prepare(text), (statement) => run(statement, params, raw))
  return {
    execute: (text, params, transformRows) =>
      transformRows ? Effect.map(execute(text, params, false), transformRows) : execute(text, params, false),
    executeRaw: (text, params) => execute(text, params, true),
    executeValues: (text, params) => Effect.flatMap(prepare(text), (statement) => Effect.try({
      try: () => {
        if (!statement.reader) {
          statement.run(...params)
          return []
        }
        statement.raw(true)
        try {
          return statement.all(...params) as ReadonlyArray<ReadonlyArray<unknown>>
        } finally {
          statement.raw(false)
        }
      },
      catch: (cause) => statementFailure(cause, "Failed to execute statement")
    })),
    // BEGIN, COMMIT, SAVEPOINT …: a handful of texts, prepared once like any other
    executeUnprepared: (text, params, transformRows) =>
      transformRows ? Effect.map(execute(text, params ?? [], false), transformRows) : execute(text, params ?? [], false),
    executeStream: () => Effect.dieMessage("executeStream is not implemented for SQLite") as never
  }
}

/**
 * The outermost transaction, without the package's span, scope and finalizer per transaction: take the
 * connection's permit, BEGIN, run the effect with the connection as its transaction, COMMIT (ROLLBACK on failure
 * or interruption), give the permit back. A nested transaction is a savepoint, as in @effect/sql.
 */
const leanTransactions = (client: SqlClient.SqlClient, database: SqliteDatabaseService, connection: Connection) => {
  const begin = database.prepared("BEGIN")
  const commit = database.prepared("COMMIT")
  const rollback = database.prepared("ROLLBACK")
  const outermost = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    database.permit.withPermit(Effect.uninterruptibleMask<A, E | SqlError, Exclude<R, SqlClient.TransactionConnection>>((restore) => {
      try {
        begin.run()
      } catch (cause) {
        return Effect.fail(statementFailure(cause, "Failed to begin a transaction"))
      }
      return Effect.onExit(
        restore(Effect.provideService(effect, SqlClient.TransactionConnection, [connection, 0] as const)),
        (exit) => Effect.sync(() => {
          if (exit._tag === "Success") commit.run()
          // a statement that failed may have ended the transaction already (SQLITE_FULL, an interrupt)
          else if (database.connection.inTransaction) rollback.run()
        }))
    }))
  const withTransaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
    Effect.withFiberRuntime<A, E | SqlError, R>((fiber) => fiber.currentContext.unsafeMap.has(SqlClient.TransactionConnection.key)
      ? client.withTransaction(effect)
      : outermost(effect))
  // the client is a tagged-template function carrying its helpers as properties: copy them onto a new one
  const call = (...args: Array<unknown>) => (client as unknown as (...args: Array<unknown>) => unknown)(...args)
  const lean = Object.assign(call, client, { withTransaction }) as unknown as SqlClient.SqlClient
  return Object.assign(lean, { safe: lean })
}

const makeClient = (database: SqliteDatabaseService) => Effect.gen(function* () {
  const connection = sqlConnection(database)
  const acquirer = database.permit.withPermit(Effect.succeed(connection))
  const transactionAcquirer = Effect.uninterruptibleMask((restore) =>
    Effect.as(Effect.zipRight(database.permit.take, Effect.tap(Effect.scope, (scope) => Scope.addFinalizer(scope, database.permit.release))), connection))
  const client = yield* SqlClient.make({
    acquirer, transactionAcquirer, compiler: Statement.makeCompilerSqlite(), spanAttributes: [["db.system.name", "sqlite"]]
  })
  return leanTransactions(client, database, connection)
})

const clientContext = (options: SqliteStoreOptions, migrate: boolean) =>
  Layer.scopedContext(Effect.gen(function* () {
    const database = yield* makeDatabase(options)
    const client = yield* makeClient(database)
    if (migrate) yield* runMigrations.pipe(Effect.provideService(SqlClient.SqlClient, client))
    return Context.make(SqlClient.SqlClient, client).pipe(Context.add(SqliteDatabase, database))
  })).pipe(Layer.provide(Reactivity.layer), Layer.orDie)

/** SQLite with the schema migrated: the `SqlClient` and the connection beneath it (`SqliteDatabase`). */
export const sqliteStore = (options: SqliteStoreOptions): Layer.Layer<SqlClient.SqlClient | SqliteDatabase> => clientContext(options, true)

/** A SQLite file as it is, not migrated (a backup file read back). */
export const sqliteFile = (options: SqliteStoreOptions): Layer.Layer<SqlClient.SqlClient | SqliteDatabase> => clientContext(options, false)

/** The store's SQLite connection, when the store is SQLite (an online backup copies it with the backup API). */
export const sqliteDatabaseOption = Effect.serviceOption(SqliteDatabase).pipe(Effect.map(Option.getOrUndefined))
