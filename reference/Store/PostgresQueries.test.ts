/**
 * The prepared queries on PostgreSQL: each text runs as a named prepared statement (parsed and planned once per
 * connection), inside a transaction on the transaction's connection and outside one on any of the pool's; a failed
 * statement is a `SqlError` carrying PostgreSQL's SQLSTATE, which is what the store's transaction retry reads.
 * Runs in the PostgreSQL pass of `npm test` (CHUNYUN_TEST_STORE=postgres).
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Either, Layer, ManagedRuntime } from "effect"
import { freshTestSchema, testStoreKind } from "../testing/TestStore.js"
import type { TestSchema } from "../testing/TestStore.js"
import { isRetryableSqlError, postgresStore } from "./Postgres.js"
import { Queries, QueriesLive } from "./Queries.js"

const skip = testStoreKind() === "postgres" ? false : "runs in the PostgreSQL pass (CHUNYUN_TEST_STORE=postgres)"

const insertText = "INSERT INTO prepared_rows (id, label) VALUES (?, ?)"
const readText = "SELECT id, label FROM prepared_rows WHERE id = ?"
/** what PostgreSQL's session holds: the statements prepared on this connection */
const preparedText = "SELECT name, statement FROM pg_prepared_statements WHERE statement LIKE '%prepared_rows%'"

describe("PostgreSQL prepared queries", { skip }, () => {
  let schema: TestSchema
  let runtime: ManagedRuntime.ManagedRuntime<Queries | SqlClient.SqlClient, never>
  before(async () => {
    schema = await freshTestSchema()
    runtime = ManagedRuntime.make(QueriesLive.pipe(Layer.provideMerge(postgresStore({ url: schema.url, maxConnections: 2 }))))
    await runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE prepared_rows (id INTEGER PRIMARY KEY, label TEXT NOT NULL)`))
  })
  after(async () => {
    await runtime?.dispose()
    await schema?.drop()
  })

  test("inside a transaction: named statements on the transaction's connection, which sees its own writes", async () => {
    const { row, prepared } = await runtime.runPromise(Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const queries = yield* Queries
      return yield* sql.withTransaction(Effect.gen(function* () {
        yield* queries.run(insertText, [1, "one"])
        const row = yield* queries.first<{ id: number; label: string }>(readText, [1])
        const prepared = yield* queries.all<{ name: string; statement: string }>(preparedText, [])
        return { row, prepared }
      }))
    }))
    assert.deepEqual(row, { id: 1, label: "one" })
    const names = new Map(prepared.map((statement) => [statement.statement, statement.name]))
    for (const text of ["INSERT INTO prepared_rows (id, label) VALUES ($1, $2)", "SELECT id, label FROM prepared_rows WHERE id = $1"]) {
      assert.match(names.get(text) ?? "(not prepared)", /^chunyun_[0-9a-f]{24}$/, `${text}: prepared as ${names.get(text)}; the connection holds ${JSON.stringify(prepared)}`)
    }
  })

  test("outside a transaction: the pool's connections, each statement's result its own", async () => {
    const rows = await runtime.runPromise(Effect.gen(function* () {
      const queries = yield* Queries
      yield* Effect.forEach([2, 3, 4], (id) => queries.run(insertText, [id, `row ${id}`]), { concurrency: "unbounded" })
      return yield* Effect.forEach([2, 3, 4], (id) => queries.first<{ label: string }>(readText, [id]), { concurrency: "unbounded" })
    }))
    assert.deepEqual(rows.map((row) => row?.label), ["row 2", "row 3", "row 4"])
  })

  test("a failed statement is a SqlError with PostgreSQL's SQLSTATE, which the transaction retry recognises", async () => {
    const outcome = await runtime.runPromise(Effect.either(Effect.flatMap(Queries, (queries) => queries.run(insertText, [1, "again"]))))
    assert.ok(Either.isLeft(outcome), "inserting an existing primary key succeeded")
    assert.equal(outcome.left._tag, "SqlError")
    assert.equal((outcome.left.cause as { code?: string }).code, "23505")
    assert.equal(isRetryableSqlError(outcome.left), true)
  })
})
