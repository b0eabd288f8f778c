/**
 * What one SQLite statement and one transaction cost through each client the server could use, measured in
 * the same run on the same file: better-sqlite3 directly (the floor), @effect/sql-sqlite-node's `SqlClient`,
 * the store's own `SqlClient` (reference/Store/Sqlite.ts) and its prepared queries (reference/Store/Queries.ts).
 * A point read by primary key, and a transaction of one UPDATE by primary key.
 */
import { createRequire } from "node:module"
import { rmSync } from "node:fs"
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"
import { Queries, QueriesLive } from "../reference/Store/Queries.js"
import { sqliteFile } from "../reference/Store/Sqlite.js"
import type { SqliteConnection } from "../reference/Store/Sqlite.js"

const require = createRequire(import.meta.url)
const openSqlite = require("better-sqlite3") as new (filename: string) => SqliteConnection

const rowCount = 10_000

export interface ClientCost { readonly client: string; readonly readMicros: number; readonly transactionMicros: number }

const microsPer = (count: number, startMs: number) => ((performance.now() - startMs) * 1_000) / count

const rawCost = (file: string, reads: number, transactions: number): ClientCost => {
  const db = new openSqlite(file) as SqliteConnection & { transaction: (body: (index: number) => void) => { immediate: (index: number) => void } }
  try {
    db.pragma("journal_mode = WAL")
    db.pragma("synchronous = NORMAL")
    const read = db.prepare("SELECT v FROM bench WHERE id = ?")
    let startMs = performance.now()
    for (let index = 0; index < reads; index++) read.get(index % rowCount)
    const readMicros = microsPer(reads, startMs)
    const update = db.prepare("UPDATE bench SET v = v + 1 WHERE id = ?")
    const transaction = db.transaction((index: number) => { update.run(index % rowCount) })
    startMs = performance.now()
    for (let index = 0; index < transactions; index++) transaction.immediate(index)
    return { client: "better-sqlite3 (no Effect)", readMicros, transactionMicros: microsPer(transactions, startMs) }
  } finally {
    db.close()
  }
}

const sqlClientCost = (client: string, reads: number, transactions: number) => Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  let startMs = performance.now()
  for (let index = 0; index < reads; index++) yield* sql`SELECT v FROM bench WHERE id = ${index % rowCount}`
  const readMicros = microsPer(reads, startMs)
  startMs = performance.now()
  for (let index = 0; index < transactions; index++) yield* sql.withTransaction(sql`UPDATE bench SET v = v + 1 WHERE id = ${index % rowCount}`)
  return { client, readMicros, transactionMicros: microsPer(transactions, startMs) } satisfies ClientCost
})

const queriesCost = (reads: number, transactions: number) => Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const queries = yield* Queries
  let startMs = performance.now()
  for (let index = 0; index < reads; index++) yield* queries.first("SELECT v FROM bench WHERE id = ?", [index % rowCount])
  const readMicros = microsPer(reads, startMs)
  startMs = performance.now()
  for (let index = 0; index < transactions; index++) yield* sql.withTransaction(queries.run("UPDATE bench SET v = v + 1 WHERE id = ?", [index % rowCount]))
  return { client: "store SqlClient + prepared queries", readMicros, transactionMicros: microsPer(transactions, startMs) } satisfies ClientCost
})

/** Microseconds per read and per transaction, each client on the same file in `directory`, spans off (as the server runs). */
export const sqlClientCosts = async (directory: string, reads = 100_000, transactions = 10_000): Promise<ReadonlyArray<ClientCost>> => {
  const file = join(directory, "sql-client.db")
  const setup = new openSqlite(file)
  setup.pragma("journal_mode = WAL")
  setup.prepare("CREATE TABLE bench (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)").run()
  const insert = setup.prepare("INSERT INTO bench (id, v) VALUES (?, 0)")
  for (let index = 0; index < rowCount; index++) insert.run(index)
  setup.close()
  try {
    const run = <A>(effect: Effect.Effect<A, unknown, SqlClient.SqlClient | Queries>, layer: Layer.Layer<SqlClient.SqlClient | Queries>) =>
      Effect.runPromise(effect.pipe(Effect.provide(layer), Effect.withTracerEnabled(false)))
    const packageClient = SqliteClient.layer({ filename: file }).pipe(Layer.orDie)
    const storeClient = sqliteFile({ filename: file })
    return [
      rawCost(file, reads, transactions),
      await run(sqlClientCost("@effect/sql-sqlite-node SqlClient", reads, transactions), Layer.merge(packageClient, Layer.succeed(Queries, undefined as never))),
      await run(sqlClientCost("store SqlClient (Store/Sqlite.ts)", reads, transactions), QueriesLive.pipe(Layer.provideMerge(storeClient))),
      await run(queriesCost(reads, transactions), QueriesLive.pipe(Layer.provideMerge(storeClient)))
    ]
  } finally {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true })
  }
}
