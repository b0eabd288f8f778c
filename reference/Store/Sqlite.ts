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
import { Context, Deferred, Effect, Exit, FiberId, Layer, Option, Scope } from "effect"
import { StoreConnections } from "./Connections.js"
import type { StoreConnectionsService } from "./Connections.js"
import { runMigrations } from "./migrations.js"

/** the pages the connection keeps in memory (the default, 2 MiB, is smaller than a rush's working set) */
export const sqliteCacheKib = 65_536
/** how often the checkpointer copies the write-ahead log into the database file */
export const walCheckpointIntervalMs = 250
/**
 * The log starts over only when a write transaction begins while the log is wholly copied into the database; the
 * checkpointer's thread copies it while the server keeps writing, so under a steady load that moment never comes
 * and the log would grow without bound (by about 30 frames an order). Past this many frames (4 KiB pages: about
 * 64 MiB) the checkpointer runs a RESTART checkpoint: it copies the rest, and writers wait for it, once
 * (`BEGIN IMMEDIATE` waits up to `sqliteBusyTimeoutMs`; a transaction that had read first would be refused instead).
 */
export const maxWalFrames = 16_384

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

const startCheckpointer = (filename: string, walFramesLimit: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const worker = new Worker(checkpointerSource, {
        eval: true,
        workerData: {
          driver: require.resolve("better-sqlite3"), filename, intervalMs: walCheckpointIntervalMs, busyTimeoutMs: sqliteBusyTimeoutMs, maxWalFrames: walFramesLimit
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
  /** a file path, ":memory:", or `temporaryDatabase` */
  readonly filename: string
  /** the write-ahead log's frames past which the checkpointer restarts it (`maxWalFrames` unless given) */
  readonly maxWalFrames?: number
}

/**
 * SQLite's private temporary database (the empty file name): like ":memory:", no other connection can open it, but
 * the pages past the connection's cache (`sqliteCacheKib`) go to a file SQLite deletes when the connection closes,
 * so the process holds at most the cache however large the store grows.
 */
export const temporaryDatabase = ""

/** whether no other connection can open the database (":memory:" or `temporaryDatabase`): no log to share, no checkpoints */
const isPrivate = (filename: string) => filename === ":memory:" || filename === temporaryDatabase

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
  /** what group commit did so far: COMMITs run, and the transactions they carried (failed ones not counted) */
  readonly commits: { count: number; transactions: number }
}
export class SqliteDatabase extends Context.Tag("chunyun/SqliteDatabase")<SqliteDatabase, SqliteDatabaseService>() {}

/**
 * One holder of the connection at a time, the others in arrival order. Cheaper than an Effect `Semaphore` for
 * the one thing it does (a few microseconds a transaction, which the hot path pays several times an order):
 * taking a free permit is a flag, releasing hands it to the first in line. Waiting is not interruptible: a
 * holder keeps the connection only for one transaction, so the wait is short, and a permit is never handed to
 * a fiber that has gone. Each waiter says whether it comes to run a transaction, so a transaction that ends
 * can leave SQLite's transaction open for the next one in line (group commit, `leanTransactions`).
 */
export class ConnectionPermit {
  #held = false
  readonly #waiting: Array<{ readonly resume: () => void; readonly transaction: boolean }> = []
  get held() { return this.#held }
  /** how many wait in line for the connection */
  get waitingCount() { return this.#waiting.length }
  /** whether the first in line comes to run a transaction */
  get transactionWaits() { return this.#waiting[0]?.transaction === true }
  readonly #take = (transaction: boolean): Effect.Effect<void> => Effect.suspend(() => {
    if (!this.#held) {
      this.#held = true
      return Effect.void
    }
    return Effect.async<void>((resume) => { this.#waiting.push({ resume: () => resume(Effect.void), transaction }) })
  })
  readonly take: Effect.Effect<void> = this.#take(false)
  readonly takeForTransaction: Effect.Effect<void> = this.#take(true)
  readonly release: Effect.Effect<void> = Effect.sync(() => this.releaseNow())
  releaseNow(): void {
    const next = this.#waiting.shift()
    // the permit passes straight to the next in line (still held); free only when no one waits
    if (next === undefined) this.#held = false
    else next.resume()
  }
  withPermit<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.uninterruptibleMask((restore) => Effect.zipRight(this.take, Effect.ensuring(restore(effect), this.release)))
  }
}

const statementFailure = (cause: unknown, message: string) => new SqlError({ cause, message })

const makeDatabase = (options: SqliteStoreOptions) => Effect.gen(function* () {
  const connection = yield* Effect.acquireRelease(
    Effect.try({ try: () => new openSqlite(options.filename), catch: (cause) => statementFailure(cause, `Failed to open ${options.filename}`) }),
    (opened) => Effect.sync(() => opened.close()))
  // a temporary database dies with its connection: a journal on disk and syncs would only cost time
  const temporary = options.filename === temporaryDatabase
  if (temporary) connection.pragma("journal_mode = MEMORY")
  else if (!isPrivate(options.filename)) connection.pragma("journal_mode = WAL")
  connection.pragma(`busy_timeout = ${sqliteBusyTimeoutMs}`)
  connection.pragma(`synchronous = ${temporary ? "OFF" : "NORMAL"}`)
  connection.pragma("foreign_keys = ON")
  // savepoints' journals (every transaction of a commit group is one) in memory, not in temporary files
  connection.pragma("temp_store = MEMORY")
  connection.pragma(`cache_size = -${sqliteCacheKib}`)
  if (!isPrivate(options.filename)) {
    // the connection never checkpoints (a checkpoint ends in an fsync, tens of ms here): the checkpointer does
    connection.pragma("wal_autocheckpoint = 0")
    yield* startCheckpointer(options.filename, options.maxWalFrames ?? maxWalFrames)
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
  const service: SqliteDatabaseService = { filename: options.filename, connection, prepared, permit: new ConnectionPermit(), commits: { count: 0, transactions: 0 } }
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

/** the most transactions one COMMIT may carry (group commit, `leanTransactions`) */
export const maxTransactionsPerGroupCommit = 64

/** One SQLite transaction carrying the transactions of a group: settled when its COMMIT (or its loss) is known. */
interface CommitGroup {
  members: number
  /** members that succeeded: what its COMMIT carries */
  succeeded: number
  /** whether it has waited a turn of the event loop for more transactions to join it */
  waited: boolean
  readonly committed: Deferred.Deferred<void, SqlError>
}

/** One turn of Node's event loop: the requests whose bytes arrived meanwhile get to start their transactions. */
const eventLoopTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * The outermost transaction, without the package's span, scope and finalizer per transaction, and with group
 * commit: take the connection's permit, run the effect as a savepoint of SQLite's open transaction (BEGIN when
 * none is open), release the savepoint (or roll back to it on failure or interruption). Then, when the next in
 * line for the permit also comes to run a transaction (and the group has fewer than
 * `maxTransactionsPerGroupCommit`), SQLite's transaction stays open for it and the permit passes on; otherwise
 * COMMIT. A transaction that succeeded answers only once the COMMIT that carries it is done, so nothing it wrote
 * is reported before it is durable; one that failed answers at once (its savepoint left nothing). A statement
 * outside a transaction never joins a group: the group commits before the permit reaches it, so it reads only
 * what is committed.
 *
 * Why: in WAL mode a COMMIT writes every page the transaction changed to the log (two writes a page) and takes
 * and drops the log's locks; under load, transactions in line one after another change the same pages (the
 * tails of the tables and indexes, the customers' and accounts' rows), which a group writes once.
 * A nested transaction is a savepoint, as in @effect/sql.
 */
const leanTransactions = (client: SqlClient.SqlClient, database: SqliteDatabaseService, connection: Connection) => {
  // the write lock from the start: a checkpoint restarting the log is then waited for (busy_timeout) rather than
  // refusing, as SQLITE_BUSY, a transaction that read before its first write
  const begin = database.prepared("BEGIN IMMEDIATE")
  const commit = database.prepared("COMMIT")
  const rollback = database.prepared("ROLLBACK")
  const savepoint = database.prepared("SAVEPOINT chunyun_group_member")
  const releaseSavepoint = database.prepared("RELEASE chunyun_group_member")
  const rollbackToSavepoint = database.prepared("ROLLBACK TO chunyun_group_member")
  const waitsForCompany = !isPrivate(database.filename)
  let open: CommitGroup | undefined

  /** Ends the open group: COMMIT (or ROLLBACK when SQLite already ended it), then tells its members. */
  const settle = (group: CommitGroup) => {
    open = undefined
    let failure: SqlError | undefined
    try {
      if (database.connection.inTransaction) {
        commit.run()
        database.commits.count++
        database.commits.transactions += group.succeeded
      } else failure = statementFailure(undefined, "the group's transaction was rolled back by SQLite before its commit")
    } catch (cause) {
      failure = statementFailure(cause, "Failed to commit a transaction")
      if (database.connection.inTransaction) rollback.run()
    }
    Deferred.unsafeDone(group.committed, failure === undefined ? Exit.void : Exit.fail(failure))
    return failure
  }

  /** Runs one member of the open group (opened here when none is): its savepoint, its effect, the savepoint's end. */
  const member = <A, E, R>(effect: Effect.Effect<A, E, R>, restore: <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>) => {
    try {
      if (open === undefined) {
        begin.run()
        open = { members: 0, succeeded: 0, waited: false, committed: Deferred.unsafeMake<void, SqlError>(FiberId.none) }
      }
      savepoint.run()
    } catch (cause) {
      // the transactions carried so far are committed without this one (or told they were lost)
      if (open !== undefined) settle(open)
      return Effect.fail(statementFailure(cause, "Failed to begin a transaction"))
    }
    const group = open
    group.members++
    return Effect.map(Effect.exit(restore(Effect.provideService(effect, SqlClient.TransactionConnection, [connection, 0] as const))), (exit) => {
      // a statement that failed may have ended SQLite's transaction already (SQLITE_FULL, an interrupt)
      if (database.connection.inTransaction) {
        if (exit._tag === "Success") {
          releaseSavepoint.run()
          group.succeeded++
        } else {
          rollbackToSavepoint.run()
          releaseSavepoint.run()
        }
      }
      return { exit, group }
    })
  }

  /**
   * After a member: pass SQLite's open transaction to the next in line, or COMMIT. A file store's group first waits
   * one turn of the event loop (once) for company when no transaction is in line: requests arriving together then
   * share a COMMIT. An in-memory store has no log to write and commits at once, and its virtual runs never wait
   * for the event loop inside a transaction.
   */
  const carryOnOrCommit = <A, E>(exit: Exit.Exit<A, E>, group: CommitGroup, restore: <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>): Effect.Effect<A, E | SqlError> =>
    Effect.suspend(() => {
      const canCarryOn = database.connection.inTransaction && group.members < maxTransactionsPerGroupCommit
      if (canCarryOn && !database.permit.transactionWaits && waitsForCompany && !group.waited) {
        group.waited = true
        return Effect.zipRight(eventLoopTurn, carryOnOrCommit(exit, group, restore))
      }
      const carriesOn = canCarryOn && database.permit.transactionWaits
      const failure = carriesOn ? undefined : settle(group)
      database.permit.releaseNow()
      if (exit._tag === "Failure") return exit
      if (failure !== undefined) return Effect.fail(failure)
      // carried on: answer once the COMMIT that carries this transaction is done
      return carriesOn ? Effect.zipRight(restore(Deferred.await(group.committed)), exit) : exit
    })

  const outermost = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.uninterruptibleMask<A, E | SqlError, Exclude<R, SqlClient.TransactionConnection>>((restore) =>
      Effect.zipRight(database.permit.takeForTransaction, Effect.suspend(() =>
        Effect.flatMap(Effect.onError(member(effect, restore), () => database.permit.release), ({ exit, group }) => carryOnOrCommit(exit, group, restore)))))
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

/** The one connection as the operator's metrics see it: busy while its permit is held, and the line waiting for it. */
const connectionsOf = (database: SqliteDatabaseService): StoreConnectionsService => ({
  store: "sqlite",
  open: () => 1,
  idle: () => database.permit.held ? 0 : 1,
  waiting: () => database.permit.waitingCount
})

const clientContext = (options: SqliteStoreOptions, migrate: boolean) =>
  Layer.scopedContext(Effect.gen(function* () {
    const database = yield* makeDatabase(options)
    const client = yield* makeClient(database)
    if (migrate) yield* runMigrations.pipe(Effect.provideService(SqlClient.SqlClient, client))
    return Context.make(SqlClient.SqlClient, client).pipe(Context.add(SqliteDatabase, database), Context.add(StoreConnections, connectionsOf(database)))
  })).pipe(Layer.provide(Reactivity.layer), Layer.orDie)

/** SQLite with the schema migrated: the `SqlClient`, the connection beneath it (`SqliteDatabase`) and its use (`StoreConnections`). */
export const sqliteStore = (options: SqliteStoreOptions): Layer.Layer<SqlClient.SqlClient | SqliteDatabase | StoreConnections> => clientContext(options, true)

/** A SQLite file as it is, not migrated (a backup file read back). */
export const sqliteFile = (options: SqliteStoreOptions): Layer.Layer<SqlClient.SqlClient | SqliteDatabase | StoreConnections> => clientContext(options, false)

/** The store's SQLite connection, when the store is SQLite (an online backup copies it with the backup API). */
export const sqliteDatabaseOption = Effect.serviceOption(SqliteDatabase).pipe(Effect.map(Option.getOrUndefined))
