/**
 * The store a test server runs on. The reference suite runs once per store (scripts/test.mjs sets
 * `CHUNYUN_TEST_STORE`): SQLite in memory, or PostgreSQL in a schema of its own per test server, so
 * tests never see each other's rows, dropped when the server closes.
 */
import { randomBytes } from "node:crypto"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Layer } from "effect"
import { sqliteStore } from "../Store/Sqlite.js"
import { adminStatement, postgresStore, withSearchPath } from "../Store/Postgres.js"

export const testStoreKinds = ["sqlite", "postgres"] as const
export type TestStoreKind = typeof testStoreKinds[number]

/** The store of this test run: `CHUNYUN_TEST_STORE`, SQLite when unset. */
export const testStoreKind = (): TestStoreKind => {
  const named = process.env.CHUNYUN_TEST_STORE ?? "sqlite"
  if (!(testStoreKinds as ReadonlyArray<string>).includes(named)) {
    throw new Error(`CHUNYUN_TEST_STORE must be one of ${testStoreKinds.join(", ")}, got "${named}"`)
  }
  return named as TestStoreKind
}

/** The database test schemas are created in: `CHUNYUN_TEST_POSTGRES_URL`, or the local `test` database. */
export const testPostgresUrl = () => process.env.CHUNYUN_TEST_POSTGRES_URL ?? "postgres://root@127.0.0.1:5432/test"

export interface TestSchema {
  readonly schema: string
  /** the test database's URL with this schema as every connection's search_path */
  readonly url: string
  readonly drop: () => Promise<void>
}

/** A new empty schema in the test database, named so a leftover one says which process left it. */
export const freshTestSchema = async (): Promise<TestSchema> => {
  const baseUrl = testPostgresUrl()
  const schema = `chunyun_test_${process.pid}_${randomBytes(6).toString("hex")}`
  await adminStatement(baseUrl, `CREATE SCHEMA ${schema}`)
  return {
    schema,
    url: withSearchPath(baseUrl, schema),
    drop: () => adminStatement(baseUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  }
}

export interface TestStore {
  readonly kind: TestStoreKind
  readonly layer: Layer.Layer<SqlClient.SqlClient>
  /** after the layer's scope closed: drops the PostgreSQL schema (SQLite in memory is gone already) */
  readonly release: () => Promise<void>
}

export const openTestStore = async (kind: TestStoreKind): Promise<TestStore> => {
  if (kind === "sqlite") return { kind, layer: sqliteStore({ filename: ":memory:" }), release: async () => undefined }
  const schema = await freshTestSchema()
  return { kind, layer: postgresStore({ url: schema.url }), release: schema.drop }
}
