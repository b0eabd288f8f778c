/**
 * Online backup and restore (seed 002: 数据备份, the backend's data backup) while traffic runs.
 *
 * - SQLite: the online backup API (better-sqlite3's `backup` on the store's own connection). It copies
 *   pages a step at a time between the server's own statements, so holds and payments go on; writes made
 *   meanwhile through the same connection are carried into the copy, so the file is the committed state at
 *   the moment the copy finished. Restore: the file becomes the new store's file.
 * - PostgreSQL: a logical snapshot. Every table of the schema is read in one `REPEATABLE READ READ ONLY`
 *   transaction (one snapshot: every row committed before it, none after) and written as JSON, tables in
 *   foreign-key order. Restore: a fresh, migrated store gets the rows in that order and its sequences moved
 *   past the highest ID. (`pg_dump` takes the same kind of snapshot, but it writes the schema's name into
 *   its output and is not on every machine; this needs nothing but the connection.)
 */
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect, Option } from "effect"
import type { Layer } from "effect"
import { BackupNotRestorable } from "./Backup/Api.js"
import type { BackupManifest } from "./Backup/Api.js"
import { BackupConfig } from "../Settings/Backup.js"
import { randomHex } from "../Ids.js"
import { moveSequencesPastRows } from "../Store/Dialect.js"
import { loader } from "../Store/migrations.js"
import { SqliteDatabase, sqliteFile } from "../Store/Sqlite.js"
import { spanOptions } from "../Spans.js"

/** the table @effect/sql's migrator keeps; a restored store is migrated by its own code, not copied */
const migrationsTable = "effect_sql_migrations"
export const logicalFormatVersion = "chunyun-logical-1"
/** rows per INSERT when a logical backup is restored */
export const restoreInsertBatchRows = 200

interface LogicalBackup {
  readonly format: typeof logicalFormatVersion
  readonly takenAtMs: number
  readonly migrations: ReadonlyArray<string>
  /** in foreign-key order: a table comes after every table it references */
  readonly tables: ReadonlyArray<{ readonly name: string; readonly rows: ReadonlyArray<Record<string, unknown>> }>
}

const fileFailure = (message: string) => (cause: unknown) => new Error(`${message}: ${String(cause)}`)

/** Tables of the current PostgreSQL schema, each after the tables it references. */
const tablesInForeignKeyOrder = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const tables = yield* sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables
    WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> ${migrationsTable} ORDER BY table_name`
  const references = yield* sql<{ child: string; parent: string }>`SELECT c.relname AS child, p.relname AS parent
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
    WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace AND c.oid <> p.oid`
  const ordered: Array<string> = []
  const remaining = new Set(tables.map((table) => table.table_name))
  while (remaining.size > 0) {
    const ready = [...remaining].filter((table) =>
      references.every((reference) => reference.child !== table || !remaining.has(reference.parent)))
    if (ready.length === 0) return yield* Effect.dieMessage(`foreign keys form a cycle among ${[...remaining].join(", ")}`)
    for (const table of ready) { ordered.push(table); remaining.delete(table) }
  }
  return ordered
})

const logicalSnapshot = (takenAtMs: number) => Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(Effect.gen(function* () {
    yield* sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`
    const names = yield* tablesInForeignKeyOrder
    const tables = yield* Effect.forEach(names, (name) =>
      Effect.map(sql<Record<string, unknown>>`SELECT * FROM ${sql(name)}`, (rows) => ({ name, rows })))
    const migrations = yield* sql<{ name: string; migration_id: number }>`SELECT migration_id, name FROM ${sql(migrationsTable)} ORDER BY migration_id`
    const backup: LogicalBackup = {
      format: logicalFormatVersion, takenAtMs,
      migrations: migrations.map((row) => `${String(row.migration_id).padStart(4, "0")}_${row.name}`), tables
    }
    return backup
  }))
})

/** the migration ids this code knows, as `0001_init` */
const knownMigrations = Effect.map(loader, (migrations) => migrations.map(([id, name]) => `${String(id).padStart(4, "0")}_${name}`))

export class Backup extends Effect.Service<Backup>()("Backup", {
  effect: Effect.gen(function* () {
    const config = yield* BackupConfig
    const sqlite = yield* Effect.serviceOption(SqliteDatabase)
    const directory = resolve(config.backupDirectory)

    const take = Effect.gen(function* () {
      const takenAtMs = yield* Clock.currentTimeMillis
      const backupId = `B${takenAtMs}-${yield* randomHex(8)}`
      yield* Effect.tryPromise({ try: () => mkdir(directory, { recursive: true }), catch: fileFailure("backup directory") })
      let manifest: BackupManifest
      if (Option.isSome(sqlite)) {
        const path = join(directory, `${backupId}.db`)
        yield* Effect.tryPromise({ try: () => sqlite.value.connection.backup(path), catch: fileFailure("online backup") })
        const counts = yield* sqliteRowCounts(path)
        manifest = { backupId, format: "sqlite-file", path, takenAtMs, rowCounts: counts }
      } else {
        const snapshot = yield* logicalSnapshot(takenAtMs)
        const path = join(directory, `${backupId}.json`)
        yield* Effect.tryPromise({ try: () => writeFile(path, JSON.stringify(snapshot)), catch: fileFailure("backup file") })
        manifest = {
          backupId, format: "logical-json", path, takenAtMs,
          rowCounts: Object.fromEntries(snapshot.tables.map((table) => [table.name, table.rows.length]))
        }
      }
      yield* Effect.logInfo(`backup ${backupId} written to ${manifest.path}`)
      return manifest
    }).pipe(Effect.orDie, Effect.withSpan("Backup.take", spanOptions))

    return { take } as const
  })
}) {}

/** Rows per table of a SQLite backup file, read from the copy itself (what was written, not what was meant). */
const sqliteRowCounts = (path: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const tables = yield* sql<{ name: string }>`SELECT name FROM sqlite_master
      WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> ${migrationsTable} ORDER BY name`
    const counts: Record<string, number> = {}
    for (const table of tables) {
      const [row] = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql(table.name)}`
      counts[table.name] = Number(row?.n ?? 0)
    }
    return counts
  }).pipe(Effect.provide(sqliteFile({ filename: path })))

/** Where a backup goes: a SQLite backup file becomes a store's file; a logical one fills an empty store of either kind. */
export type RestoreTarget =
  | { readonly kind: "sqlite-file"; readonly filename: string }
  | { readonly kind: "store"; readonly store: Layer.Layer<SqlClient.SqlClient> }

/**
 * Restores a backup into a fresh store. A backup naming a migration this code does not know is refused: its
 * rows may have columns this schema lacks.
 */
export const restoreBackup = (path: string, target: RestoreTarget) =>
  Effect.gen(function* () {
    if (path.endsWith(".db")) {
      if (target.kind !== "sqlite-file") return yield* new BackupNotRestorable({ message: "a SQLite backup file restores into a SQLite file only" })
      yield* Effect.tryPromise({ try: () => copyFile(path, target.filename), catch: fileFailure("restore copy") }).pipe(Effect.orDie)
      return
    }
    const text = yield* Effect.tryPromise({ try: () => readFile(path, "utf8"), catch: fileFailure("backup file") }).pipe(Effect.orDie)
    const backup = JSON.parse(text) as LogicalBackup
    if (backup.format !== logicalFormatVersion) return yield* new BackupNotRestorable({ message: `unknown backup format "${String(backup.format)}"` })
    const known = new Set(yield* Effect.orDie(knownMigrations))
    const unknown = backup.migrations.filter((migration) => !known.has(migration))
    if (unknown.length > 0) return yield* new BackupNotRestorable({ message: `the backup's schema has migrations this code lacks: ${unknown.join(", ")}` })
    if (target.kind !== "store") return yield* new BackupNotRestorable({ message: "a logical backup restores into an opened store" })
    yield* insertLogical(backup).pipe(Effect.provide(target.store))
  })

const insertLogical = (backup: LogicalBackup) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.withTransaction(Effect.gen(function* () {
      // a fresh store: no customer has registered and no order was taken (rows the migrations seed are replaced)
      for (const dataTable of ["customers", "orders"]) {
        const [existing] = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql(dataTable)}`
        if (Number(existing?.n ?? 0) > 0) return yield* Effect.dieMessage(`restore target is not empty: ${dataTable} has rows`)
      }
      // the tables are in foreign-key order: clear them children first, fill them parents first
      for (const table of [...backup.tables].reverse()) yield* sql`DELETE FROM ${sql(table.name)}`
      for (const table of backup.tables) {
        for (let offset = 0; offset < table.rows.length; offset += restoreInsertBatchRows) {
          const batch = table.rows.slice(offset, offset + restoreInsertBatchRows)
          yield* sql`INSERT INTO ${sql(table.name)} ${sql.insert(batch as Array<Record<string, any>>)}`
        }
      }
      // the restored rows carry their IDs: the store's ID sequences must continue after them
      yield* moveSequencesPastRows(sql)
    }))
  }).pipe(Effect.orDie)
