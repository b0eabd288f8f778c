/**
 * What differs between the two stores, in one place. The server's modules write their SQL once for both
 * stores; where SQLite and PostgreSQL need different words (a locking read, an advisory lock, sequences after a
 * restore, a read-only snapshot), they ask for it here instead of branching on the dialect themselves.
 *
 * SQLite runs one transaction at a time on its one connection, so a row it read stays as read until the
 * commit: it needs no locking reads and no advisory locks. PostgreSQL under Read Committed runs transactions
 * side by side, and a read that a later write depends on must lock its rows (a locking read also waits for, and
 * re-checks against, a concurrent writer's commit).
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"

/** `FOR UPDATE` on PostgreSQL, nothing on SQLite: a read whose rows a later write in the transaction depends on */
export const forUpdate = (sql: SqlClient.SqlClient) =>
  sql.onDialectOrElse({ pg: () => sql.literal("FOR UPDATE"), orElse: () => sql.literal("") })

/** `FOR UPDATE SKIP LOCKED` on PostgreSQL (a row another transaction holds is passed over), nothing on SQLite */
export const forUpdateSkipLocked = (sql: SqlClient.SqlClient) =>
  sql.onDialectOrElse({ pg: () => sql.literal("FOR UPDATE SKIP LOCKED"), orElse: () => sql.literal("") })

/**
 * Transaction-scoped advisory locks on `keys` of `namespace`, taken in the order given (PostgreSQL); SQLite
 * needs none. Callers sort the keys, so two transactions never wait for each other in a cycle.
 */
export const lockKeysInOrder = (sql: SqlClient.SqlClient, namespace: number, keys: ReadonlyArray<number>): Effect.Effect<void, SqlError> =>
  sql.onDialectOrElse({
    pg: () => Effect.forEach(keys, (key) => sql`SELECT pg_advisory_xact_lock(${namespace}, ${key})`, { discard: true }),
    orElse: () => Effect.void
  })

/**
 * After rows were inserted with explicit IDs (a restore): PostgreSQL's serial sequences do not move on explicit
 * IDs, so each is moved past its table's rows; SQLite's `INTEGER PRIMARY KEY` follows the largest row by itself.
 */
export const moveSequencesPastRows = (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError> =>
  sql.onDialectOrElse({
    pg: () => Effect.flatMap(
      sql<{ table_name: string; column_name: string }>`SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'`,
      (serials) => Effect.forEach(serials, (serial) =>
        sql`SELECT setval(pg_get_serial_sequence(${serial.table_name}, ${serial.column_name}), MAX(${sql(serial.column_name)}))
          FROM ${sql(serial.table_name)} HAVING COUNT(*) > 0`, { discard: true })),
    orElse: () => Effect.void
  })

/**
 * The first statement of a transaction that reads one snapshot and writes nothing: REPEATABLE READ, READ ONLY
 * on PostgreSQL; on SQLite (WAL) a reader's transaction has its snapshot already.
 */
export const readOnlySnapshot = (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError> =>
  sql.onDialectOrElse({ pg: () => Effect.asVoid(sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`), orElse: () => Effect.void })
