/**
 * Work kept for the commit (`afterCommit`, what the server's counters of holds, payments and tickets use): it runs
 * once the outermost transaction has committed, never for one that failed, once for a transaction the store ran
 * again, and at once outside any transaction. On the test store (SQLite, or PostgreSQL with CHUNYUN_TEST_STORE).
 */
import assert from "node:assert/strict"
import { after, before, test } from "node:test"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer, ManagedRuntime } from "effect"
import { openTestStore, testStoreKind } from "../testing/TestStore.js"
import type { TestStore } from "../testing/TestStore.js"
import { afterCommit, withAfterCommit } from "./AfterCommit.js"

/** A count bumped by work kept for the commit. */
const counter = () => {
  let count = 0
  return { bump: afterCommit(() => { count++ }), count: () => count }
}

/** The store's client whose outermost transaction, when it fails, is run once more (as PostgreSQL's after a lost race). */
const retryingOnce = Layer.effect(SqlClient.SqlClient, Effect.map(SqlClient.SqlClient, (sql) => {
  const call = (...args: Array<unknown>) => (sql as unknown as (...args: Array<unknown>) => unknown)(...args)
  return Object.assign(call, sql, {
    withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => sql.withTransaction(effect).pipe(Effect.retry({ times: 1 }))
  }) as unknown as SqlClient.SqlClient
}))

let store: TestStore
let runtime: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, never>
before(async () => {
  store = await openTestStore(testStoreKind())
  runtime = ManagedRuntime.make(withAfterCommit(store.layer))
})
after(async () => {
  await runtime.dispose()
  await store.release()
})

test("outside a transaction the work runs at once", async () => {
  const counted = counter()
  await runtime.runPromise(counted.bump)
  assert.equal(counted.count(), 1)
})

test("inside a transaction it waits for the commit", async () => {
  const counted = counter()
  const seenBeforeCommit = await runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(Effect.gen(function* () {
    yield* counted.bump
    yield* sql`SELECT 1 AS one`
    return counted.count()
  }))))
  assert.equal(seenBeforeCommit, 0, "the work ran before the transaction committed")
  assert.equal(counted.count(), 1)
})

test("a transaction that fails runs none of its work", async () => {
  const counted = counter()
  const outcome = await runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.either(sql.withTransaction(Effect.zipRight(counted.bump, Effect.fail("refused"))))))
  assert.equal(outcome._tag, "Left")
  assert.equal(counted.count(), 0)
})

test("a nested transaction's work waits for the outermost commit", async () => {
  const counted = counter()
  const seenAfterInner = await runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(Effect.gen(function* () {
    yield* sql.withTransaction(counted.bump)
    return counted.count()
  }))))
  assert.equal(seenAfterInner, 0, "the work ran when the savepoint was released")
  assert.equal(counted.count(), 1)
})

test("a transaction the store runs again runs the work of the attempt that committed, once", async () => {
  const retrying = ManagedRuntime.make(withAfterCommit(retryingOnce.pipe(Layer.provide(store.layer))))
  try {
    const counted = counter()
    let attempts = 0
    await retrying.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(Effect.gen(function* () {
      yield* counted.bump
      if (++attempts === 1) return yield* Effect.fail("lost a race")
    }))))
    assert.equal(attempts, 2)
    assert.equal(counted.count(), 1)
  } finally {
    await retrying.dispose()
  }
})
