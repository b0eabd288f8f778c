/**
 * Prepared queries: the hot path's statements, written once as SQL text with `?` placeholders and run on the
 * store's connection without building an Effect `Statement` each time.
 *
 * - SQLite: the statement is prepared once per connection and run synchronously, a few microseconds each
 *   (bench/sqlClient.ts). Inside a transaction (`sql.withTransaction`, which holds the connection's permit)
 *   it runs at once; outside one it takes the permit first, as every SqlClient statement does, so it never
 *   lands inside another fiber's open transaction.
 * - PostgreSQL: the text's `?` become `$1 … $n` once, and it runs as a named prepared statement (its name a
 *   digest of the text), so PostgreSQL parses and plans it once per connection, not on every call: inside a
 *   transaction on the transaction's connection, outside one on any connection of the store's pool
 *   (`PostgresPool`). Measured on the order benchmark: PostgreSQL's CPU per order about a third lower.
 *
 * A query that must say whether it changed a row says so with `RETURNING`. The texts must not contain a
 * literal `?` (none of the project's do): every `?` is a parameter.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import type { SqlError } from "@effect/sql/SqlError"
import { SqlError as SqlErrorClass } from "@effect/sql/SqlError"
import { Context, Effect, Layer, Option } from "effect"
import { createHash } from "node:crypto"
import type Pg from "pg"
import { PostgresPool } from "./Postgres.js"
import { SqliteDatabase } from "./Sqlite.js"
import type { SqliteDatabaseService } from "./Sqlite.js"

export type SqlParameter = string | number | null

export interface QueriesService {
  /** `FOR UPDATE` on PostgreSQL; nothing on SQLite, whose one connection runs one transaction at a time */
  readonly forUpdate: string
  /** `FOR UPDATE OF alias` on PostgreSQL (a join that locks one table's rows, not every table's); nothing on SQLite */
  readonly forUpdateOf: (alias: string) => string
  /** whether a hold runs as one call of the store's own function (PostgreSQL, Store/0011_postgres_holds.ts) */
  readonly holdsInOneCall: boolean
  /** every row the statement returns (a write returns what its RETURNING names) */
  readonly all: <Row>(text: string, parameters: ReadonlyArray<SqlParameter>) => Effect.Effect<ReadonlyArray<Row>, SqlError>
  /** the first row, or undefined */
  readonly first: <Row>(text: string, parameters: ReadonlyArray<SqlParameter>) => Effect.Effect<Row | undefined, SqlError>
  /** a write whose rows are not read */
  readonly run: (text: string, parameters: ReadonlyArray<SqlParameter>) => Effect.Effect<void, SqlError>
}

export class Queries extends Context.Tag("chunyun/Queries")<Queries, QueriesService>() {}

const transactionKey = SqlClient.TransactionConnection.key

/** a statement the store refused, as every SqlClient statement fails */
const statementFailure = (cause: unknown) => new SqlErrorClass({ cause, message: "Failed to execute statement" })

const sqliteQueries = (database: SqliteDatabaseService): QueriesService => {
  /**
   * Runs `use` on the statement at once inside a transaction, or when no one holds the connection (it runs
   * synchronously, so nothing can come between); else it waits its turn under the connection's permit.
   */
  const onConnection = <A>(text: string, use: (statement: ReturnType<SqliteDatabaseService["prepared"]>) => A) =>
    Effect.withFiberRuntime<A, SqlError>((fiber) => {
      const attempt = Effect.try({ try: () => use(database.prepared(text)), catch: statementFailure })
      return fiber.currentContext.unsafeMap.has(transactionKey) || !database.permit.held ? attempt : database.permit.withPermit(attempt)
    })
  return {
    forUpdate: "",
    forUpdateOf: () => "",
    holdsInOneCall: false,
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

/** A query of pg's: a named prepared statement is parsed and planned once per connection, then only bound and run. */
interface NamedQuery { readonly name: string; readonly text: string }

/** The statement's name: a digest of its text, so one text has one name on every connection whoever prepares it. */
const statementName = (text: string) => `chunyun_${createHash("sha256").update(text).digest("hex").slice(0, 24)}`

const postgresQueries = (pool: Pg.Pool): QueriesService => {
  const queries = new Map<string, NamedQuery>()
  const named = (text: string) => {
    let query = queries.get(text)
    if (query === undefined) {
      const numbered = numberedPlaceholders(text)
      query = { name: statementName(numbered), text: numbered }
      queries.set(text, query)
    }
    return query
  }
  /** outside a transaction: on any of the pool's connections */
  const onPool = <Row>(query: NamedQuery, parameters: ReadonlyArray<SqlParameter>) =>
    Effect.async<ReadonlyArray<Row>, SqlError>((resume) => {
      pool.query({ ...query, values: parameters as Array<SqlParameter> }, (error: Error | undefined, result: Pg.QueryResult) => {
        resume(error ? Effect.fail(statementFailure(error)) : Effect.succeed(result.rows as ReadonlyArray<Row>))
      })
    })
  const all = <Row>(text: string, parameters: ReadonlyArray<SqlParameter>) =>
    Effect.withFiberRuntime<ReadonlyArray<Row>, SqlError>((fiber) => {
      const query = named(text)
      const transaction = fiber.currentContext.unsafeMap.get(transactionKey) as readonly [Connection, number] | undefined
      if (transaction === undefined) return onPool<Row>(query, parameters)
      // @effect/sql-pg hands its first argument to pg's `client.query`, which takes a query config with a name
      return transaction[0].execute(query as unknown as string, parameters as Array<SqlParameter>, undefined) as Effect.Effect<ReadonlyArray<Row>, SqlError>
    })
  return {
    forUpdate: "FOR UPDATE",
    forUpdateOf: (alias) => `FOR UPDATE OF ${alias}`,
    holdsInOneCall: true,
    all,
    first: <Row>(text: string, parameters: ReadonlyArray<SqlParameter>) => Effect.map(all<Row>(text, parameters), (rows) => rows[0]),
    run: (text, parameters) => Effect.asVoid(all(text, parameters))
  }
}

/** The store's prepared queries: over SQLite's connection when the store is SQLite, else over the `SqlClient`. */
export const QueriesLive = Layer.effect(Queries, Effect.gen(function* () {
  const database = yield* Effect.serviceOption(SqliteDatabase)
  if (Option.isSome(database)) return sqliteQueries(database.value)
  const pool = yield* Effect.serviceOption(PostgresPool)
  if (Option.isSome(pool)) return postgresQueries(pool.value)
  return yield* Effect.dieMessage("prepared queries need the store's own connection (SQLite's SqliteDatabase or PostgreSQL's PostgresPool): provide the whole store layer, not its SqlClient alone")
}))
