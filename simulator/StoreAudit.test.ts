/**
 * `chunyun audit`'s library part: a store is refused with a message naming the option when it is not a chunyun store
 * this code can read (no file, not a database, no migrations, an older or newer schema, a database it cannot reach),
 * and a PostgreSQL store's double booking, written straight into its tables, is found with its witness. The command
 * line's exit 2 for a bad path is checked once, through the program itself. (A SQLite store left by a k6 test, clean
 * and with a planted double booking: reports/k6.run.test.ts.)
 */
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { test } from "node:test"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, ManagedRuntime } from "effect"
import { chunyun, describeResult } from "../cli/testing/chunyun.js"
import { migrationNames, migrationsTable } from "../reference/Store/migrations.js"
import { postgresStore } from "../reference/Store/Postgres.js"
import { freshTestSchema } from "../reference/testing/TestStore.js"
import { auditStore, StoreAuditRefused } from "./StoreAudit.js"
import type { AuditTarget } from "./StoreAudit.js"

const require = createRequire(import.meta.url)
const openSqlite = require("better-sqlite3") as new (filename: string) => { exec: (sql: string) => void; close: () => void }

const refusal = async (target: AuditTarget) => {
  try {
    await auditStore(target)
  } catch (error) {
    assert.ok(error instanceof StoreAuditRefused, `not a refusal: ${String(error)}`)
    return error.message
  }
  return assert.fail(`${JSON.stringify(target)} was audited`)
}

test("a SQLite file that is not this code's store is refused, naming --db and what is wrong", async () => {
  const directory = mkdtempSync(join(tmpdir(), "chunyun-audit-"))
  try {
    const missing = join(directory, "missing.db")
    assert.equal(await refusal({ kind: "sqlite", filename: missing }), `--db ${missing}: no such file`)
    assert.equal(await refusal({ kind: "sqlite", filename: directory }), `--db ${directory}: not a file`)
    const text = join(directory, "notes.txt")
    writeFileSync(text, "not a database\n".repeat(100))
    assert.match(await refusal({ kind: "sqlite", filename: text }), /^--db .*notes\.txt: cannot read it: file is not a database/)
    const other = join(directory, "other.db")
    const otherStore = new openSqlite(other)
    otherStore.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    otherStore.close()
    assert.equal(await refusal({ kind: "sqlite", filename: other }), `--db ${other}: not a chunyun store (it has no ${migrationsTable} table)`)
    const older = join(directory, "older.db")
    const olderStore = new openSqlite(older)
    olderStore.exec(`CREATE TABLE ${migrationsTable} (migration_id INTEGER PRIMARY KEY, created_at TEXT, name TEXT);
      INSERT INTO ${migrationsTable} (migration_id, name) VALUES (1, 'init'), (2, 'customers'), (3, 'catalog')`)
    olderStore.close()
    assert.equal(await refusal({ kind: "sqlite", filename: older }),
      `--db ${older}: the store is at migration 3 of ${migrationNames.length}: serve it once with this chunyun to migrate it`)
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
})

test("a PostgreSQL store out of reach or without chunyun's tables is refused, naming --store without its password", async () => {
  assert.match(await refusal({ kind: "postgres", url: "postgres://root:s3cret@127.0.0.1:1/test" }),
    /^--store postgres:\/\/root:\*\*\*@127\.0\.0\.1:1\/test: cannot connect: .*ECONNREFUSED/)
  const schema = await freshTestSchema()
  try {
    assert.match(await refusal({ kind: "postgres", url: schema.url }), new RegExp(`: not a chunyun store \\(it has no ${migrationsTable} table\\)$`))
  } finally {
    await schema.drop()
  }
})

test("a double booking written into a PostgreSQL store is found, with the overlapping orders as its witness", async () => {
  const schema = await freshTestSchema()
  try {
    const store = ManagedRuntime.make(postgresStore({ url: schema.url, maxConnections: 2 }))
    const write = (statement: string) => store.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement)))
    await write(`INSERT INTO customers (id, phone, password_hash, payment_password_hash, created_at_ms) VALUES ('C1', '13000000001', 'x', 'x', 0)`)
    await write(`INSERT INTO train_runs (id, train_code, service_date) VALUES ('G1-20270128', 'G1', '2027-01-28')`)
    await write(`INSERT INTO seats (id, run_id, coach, seat_code, seat_class, occupied_mask) VALUES (1, 'G1-20270128', 1, '01A', 'second', 3)`)
    const order = (id: string, from: number, to: number, mask: number) => write(`INSERT INTO orders
      (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state, held_at_ms, hold_expires_at_ms)
      VALUES ('${id}', 'C1', 'G1-20270128', 1, ${from}, ${to}, ${mask}, 100, 'held', 0, 600000)`)
    await order("O0000000000000001", 0, 2, 3)
    const clean = await auditStore({ kind: "postgres", url: schema.url })
    assert.deepEqual(clean.filter((invariant) => invariant.violations > 0), [])
    await order("O0000000000000002", 1, 2, 2)
    await store.dispose()
    const doubled = (await auditStore({ kind: "postgres", url: schema.url })).filter((invariant) => invariant.violations > 0)
    assert.deepEqual(doubled.map((invariant) => [invariant.name, invariant.violations]), [["no-double-booking", 1]])
    assert.deepEqual(doubled[0]!.witness, ["seat 1: order O0000000000000001 [0,2) overlaps order O0000000000000002 [1,2)"])
  } finally {
    await schema.drop()
  }
})

test("chunyun audit with a path that is no store exits 2, naming the option, and shows the command's usage", async () => {
  const missing = join(tmpdir(), `chunyun-audit-missing-${process.pid}.db`)
  const result = await chunyun(["audit", "--db", missing])
  assert.equal(result.code, 2, describeResult(result))
  assert.match(result.stderr, new RegExp(`chunyun: --db ${missing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: no such file`))
  assert.match(result.stderr, /chunyun audit \(--db FILE \| --store postgres:\/\/…\)/)
})
