/**
 * Group commit on the SQLite store: transactions in line for the connection share one COMMIT; each answers only
 * once that COMMIT is done (a second connection sees its rows by then); one that fails leaves nothing and does not
 * stop the others; a group SQLite ended before its COMMIT fails every transaction it carried.
 * The write-ahead log under writes without a pause: the checkpointer restarts it, and no transaction is refused meanwhile.
 */
import assert from "node:assert/strict"
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, describe, test } from "node:test"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Either, ManagedRuntime } from "effect"
import { SqliteDatabase, sqliteStore, temporaryDatabase } from "./Sqlite.js"

const require = createRequire(import.meta.url)
const Database = require("better-sqlite3") as new (filename: string, options?: { readonly?: boolean }) => {
  prepare: (text: string) => { get: (...parameters: Array<unknown>) => unknown }
  close: () => void
}

const transactionCount = 20
const directory = mkdtempSync(join(tmpdir(), "chunyun-group-commit-"))
after(() => rmSync(directory, { recursive: true, force: true }))

const storeAt = async (filename: string, maxWalFrames?: number) => {
  const runtime = ManagedRuntime.make(sqliteStore({ filename, ...(maxWalFrames === undefined ? {} : { maxWalFrames }) }))
  await runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE group_commit_rows (id INTEGER PRIMARY KEY, label TEXT NOT NULL)`))
  const database = await runtime.runPromise(SqliteDatabase)
  return { runtime, database }
}

const insertRow = (id: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`INSERT INTO group_commit_rows (id, label) VALUES (${id}, ${`row ${id}`})`)

const inTransaction = <A, E>(work: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(work))

describe("SQLite group commit", () => {
  test(`${transactionCount} concurrent transactions share COMMITs, and each answers only once a second connection sees its row`, async () => {
    const filename = join(directory, "shared.db")
    const { runtime, database } = await storeAt(filename)
    const reader = new Database(filename, { readonly: true })
    try {
      const before = { ...database.commits }
      const unseen: Array<number> = []
      await runtime.runPromise(Effect.all(Array.from({ length: transactionCount }, (_, id) =>
        Effect.tap(inTransaction(insertRow(id)), () => Effect.sync(() => {
          if (reader.prepare("SELECT id FROM group_commit_rows WHERE id = ?").get(id) === undefined) unseen.push(id)
        }))), { concurrency: "unbounded" }))
      assert.deepEqual(unseen, [], `transactions ${unseen.join(", ")} answered before their rows were committed`)
      const commits = database.commits.count - before.count
      assert.equal(database.commits.transactions - before.transactions, transactionCount)
      assert.ok(commits < transactionCount / 2, `${transactionCount} transactions in line took ${commits} COMMITs`)
    } finally {
      reader.close()
      await runtime.dispose()
    }
  })

  test("a transaction that fails inside a group leaves no row; the others commit theirs", async () => {
    const { runtime, database } = await storeAt(join(directory, "one-fails.db"))
    try {
      const before = { ...database.commits }
      const outcomes = await runtime.runPromise(Effect.all(Array.from({ length: 5 }, (_, id) => Effect.either(inTransaction(
        id === 2 ? Effect.zipRight(insertRow(id), Effect.fail("refused" as const)) : insertRow(id)))), { concurrency: "unbounded" }))
      assert.deepEqual(outcomes.map(Either.isLeft), [false, false, true, false, false])
      const rows = await runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ id: number }>`SELECT id FROM group_commit_rows ORDER BY id`))
      assert.deepEqual(rows.map((row) => row.id), [0, 1, 3, 4])
      assert.equal(database.commits.transactions - before.transactions, 4)
      assert.ok(database.commits.count - before.count < 4, "the four transactions did not share a COMMIT")
    } finally {
      await runtime.dispose()
    }
  })

  test("when SQLite ends the group's transaction before its COMMIT, every transaction it carried fails and none of their rows stays", async () => {
    const { runtime, database } = await storeAt(join(directory, "lost.db"))
    try {
      // the second transaction ends SQLite's transaction under the group, as SQLITE_FULL or an I/O error would;
      // the third, in line behind it, opens a group of its own
      const endsIt = Effect.zipRight(insertRow(1), Effect.asVoid(Effect.sync(() => database.connection.prepare("ROLLBACK").run())))
      const failed = await runtime.runPromise(Effect.all([inTransaction(Effect.asVoid(insertRow(0))), inTransaction(endsIt), inTransaction(Effect.asVoid(insertRow(2)))]
        .map((transaction) => Effect.map(Effect.either(transaction), Either.isLeft)), { concurrency: "unbounded" }))
      assert.deepEqual(failed, [true, true, false], "a transaction of the lost group answered as if committed, or one after it failed")
      const rows = await runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ id: number }>`SELECT id FROM group_commit_rows`))
      assert.deepEqual(rows.map((row) => row.id), [2])
    } finally {
      await runtime.dispose()
    }
  })

  for (const [filename, name] of [[":memory:", "an in-memory store"], [temporaryDatabase, "a temporary store"]] as const) {
    test(`transactions one after another each commit at once: a group never waits when no one is in line on ${name}`, async () => {
      const { runtime, database } = await storeAt(filename)
      try {
        const before = { ...database.commits }
        for (let id = 0; id < 5; id++) await runtime.runPromise(inTransaction(insertRow(id)))
        assert.equal(database.commits.count - before.count, 5)
        assert.equal(database.commits.transactions - before.transactions, 5)
      } finally {
        await runtime.dispose()
      }
    })
  }

  test("a temporary store keeps no write-ahead log (no other connection can open it, nothing to checkpoint)", async () => {
    const { runtime, database } = await storeAt(temporaryDatabase)
    try {
      assert.notDeepEqual(database.connection.pragma("journal_mode"), [{ journal_mode: "wal" }])
      assert.deepEqual(database.connection.pragma("journal_mode"), [{ journal_mode: "memory" }])
    } finally {
      await runtime.dispose()
    }
  })

  test("under transactions without a pause the checkpointer restarts the write-ahead log, and no transaction is refused while it does", async () => {
    const filename = join(directory, "log-restarts.db")
    // a small log limit, so the checkpointer restarts the log every few of its passes
    const { runtime } = await storeAt(filename, 50)
    /** the log header's checkpoint sequence number: SQLite adds one each time the log starts over */
    const logRestarts = () => {
      const header = Buffer.alloc(16)
      const file = openSync(`${filename}-wal`, "r")
      try {
        return readSync(file, header, 0, 16, 0) === 16 ? header.readUInt32BE(12) : 0
      } finally {
        closeSync(file)
      }
    }
    // each transaction reads before it writes, as a payment does: the pattern a log restart under way refused
    const readThenWrite = (id: number) => inTransaction(Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.zipRight(sql`SELECT COUNT(*) AS n FROM group_commit_rows`, sql`INSERT INTO group_commit_rows (id, label) VALUES (${id}, ${"x".repeat(4_000)})`)))
    const wantedRestarts = 3
    try {
      await runtime.runPromise(inTransaction(insertRow(0)))
      const firstSequence = logRestarts()
      let id = 1
      const failures: Array<string> = []
      // the checkpointer passes every walCheckpointIntervalMs on its own thread; a slow machine only takes more transactions
      while (logRestarts() - firstSequence < wantedRestarts && failures.length === 0) {
        const outcome = await runtime.runPromise(Effect.either(readThenWrite(id++)))
        if (Either.isLeft(outcome)) failures.push(String(outcome.left))
        await new Promise((resolve) => setImmediate(resolve))
      }
      assert.deepEqual(failures, [], `a transaction was refused while the log restarted (after ${logRestarts() - firstSequence} restarts, ${id} transactions)`)
      const rows = await runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT COUNT(*) AS n FROM group_commit_rows`))
      assert.equal(rows[0]!.n, id, "rows of committed transactions are missing")
    } finally {
      await runtime.dispose()
    }
  })
})
