/**
 * Prepared queries: the hot path's statements, written once as SQL text with `?` placeholders and run on the
 * store's connection without building an Effect `Statement` each time.
 *
 * - SQLite: the statement is prepared once per connection and run synchronously, a few microseconds each
 *   (bench/sqlClient.ts). Inside a transaction (`sql.withTransaction`, which holds the connection's permit)
 *   it runs at once; outside one it takes the permit first, as every SqlClient statement does, so it never
 *   lands inside another fiber's open transaction.
 * - PostgreSQL: the text's `?` become `$1 … $n` once, and the query goes through the `SqlClient` (inside a
 *   transaction, on the transaction's connection).
 *
 * A query that must say whether it changed a row says so with `RETURNING`. The texts must not contain a
 * literal `?` (none of the project's do): every `?` is a parameter.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { SqlError as SqlErrorClass } from "@effect/sql/SqlError"
import { Context, Effect, Layer, Option } from "effect"
import { SqliteDatabase } from "./Sqlite.js"
import type { SqliteDatabaseService } from "./Sqlite.js"

export type SqlParameter = string | number | null

export interface QueriesService {
  readonly dialect: "sqlite" | "pg"
  /** `FOR UPDATE` on PostgreSQL; nothing on SQLite, whose one connection runs one transaction at a time */
  readonly forUpdate: string
  /** every row the statement returns (a write returns what its RETURNING names) */
  readonly all: <Row>(text: string, parameters: ReadonlyArray<SqlParameter>) => Effect.Effect<ReadonlyArray<Row>, SqlError>
  /** the first row, or undefined */
  readonly first: <Row>(text: string, parameters: ReadonlyArray<SqlParameter>) => Effect.Effect<Row | undefined, SqlError>
  /** a write whose rows are not read */
  readonly run: (text: string, parameters: ReadonlyArray<SqlParameter>) => Effect.Effect<void, SqlError>
}

export class Queries extends Context.Tag("chunyun/Queries")<Queries, QueriesService>() {}

const transactionKey = SqlClient.TransactionConnection.key

const sqliteQueries = (database: SqliteDatabaseService): QueriesService => {
  const failure = (cause: unknown) => new SqlErrorClass({ cause, message: "Failed to execute statement" })
  /**
   * Runs `use` on the statement at once inside a transaction, or when no one holds the connection (it runs
   * synchronously, so nothing can come between); else it waits its turn under the connection's permit.
   */
  const onConnection = <A>(text: string, use: (statement: ReturnType<SqliteDatabaseService["prepared"]>) => A) =>
    Effect.withFiberRuntime<A, SqlError>((fiber) => {
      const attempt = Effect.try({ try: () => use(database.prepared(text)), catch: failure })
      return fiber.currentContext.unsafeMap.has(transactionKey) || !database.permit.held ? attempt : database.permit.withPermit(attempt)
    })
  return {
    dialect: "sqlite",
    forUpdate: "",
    all: <Row>(text: string, parameters: ReadonlyArray<SqlParameter>) =>
      onConnection(text, (statement) => (statement.reader ? statement.all(...parameters) : (statement.run(...parameters), [])) as ReadonlyArray<Row>),
    first: <Row>(text: string, parameters: ReadonlyArray<SqlParameter>) =>
      onConnection(text, (statement) => (statement.reader ? statement.get(...parameters) : (statement.run(...parameters), undefined)) as Row | undefined),
    run: (text, parameters) => onConnection(text, (statement) => { statement.run(...parameters) })
  }
}

/** `?` → `$1`, `$2` … in order */
export const numberedPlaceholders = (text: string) => {
  let index = 0
  return text.replace(/\?/g, () => `$${++index}`)
}

const postgresQueries = (sql: SqlClient.SqlClient): QueriesService => {
  const texts = new Map<string, string>()
  const numbered = (text: string) => {
    let converted = texts.get(text)
    if (converted === undefined) {
      converted = numberedPlaceholders(text)
      texts.set(text, converted)
    }
    return converted
  }
  const all = <Row>(text: string, parameters: ReadonlyArray<SqlParameter>) =>
    sql.unsafe<Row & object>(numbered(text), parameters as Array<SqlParameter>) as Effect.Effect<ReadonlyArray<Row>, SqlError>
  return {
    dialect: "pg",
    forUpdate: "FOR UPDATE",
    all,
    first: <Row>(text: string, parameters: ReadonlyArray<SqlParameter>) => Effect.map(all<Row>(text, parameters), (rows) => rows[0]),
    run: (text, parameters) => Effect.asVoid(all(text, parameters))
  }
}

/** The store's prepared queries: over SQLite's connection when the store is SQLite, else over the `SqlClient`. */
export const QueriesLive = Layer.effect(Queries, Effect.gen(function* () {
  const database = yield* Effect.serviceOption(SqliteDatabase)
  if (Option.isSome(database)) return sqliteQueries(database.value)
  const sql = yield* SqlClient.SqlClient
  // a SQLite SqlClient handed on without its connection would take PostgreSQL's text over SQLite
  if (sql.onDialectOrElse({ pg: () => false, orElse: () => true })) {
    return yield* Effect.dieMessage("prepared queries need the SQLite store's connection (SqliteDatabase): provide the whole store layer, not its SqlClient alone")
  }
  return postgresQueries(sql)
}))
