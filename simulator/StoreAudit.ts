/**
 * `chunyun audit`: the auditor's invariants (Auditor.ts) over a store another process wrote — a k6 test's server, a
 * served instance, a run kept — opened without migrating or writing: a SQLite file read-only, or a PostgreSQL
 * database (a schema: its URL's search_path). No history comes with a store, so the parts of the invariants read
 * from a run's history (what the devices saw: admissions, keyed retries, printed sheets, holds told expired) have
 * nothing to check; every part read from the tables runs. A store that cannot be read is refused with a message
 * naming the option that named it.
 */
import { existsSync, statSync } from "node:fs"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Cause, Effect, Exit, Layer } from "effect"
import type { InvariantResult } from "../reports/Report.js"
import { postgresReadClient } from "../reference/Store/Postgres.js"
import { migrationNames, migrationsTable } from "../reference/Store/migrations.js"
import { audit } from "./Auditor.js"
import { History } from "./History.js"
import { HarnessError } from "../reports/HarnessError.js"

export type AuditTarget = { readonly kind: "sqlite"; readonly filename: string } | { readonly kind: "postgres"; readonly url: string }

/** The store could not be audited: the message names the option (`--db …`, `--store …`) and what was wrong. */
export class StoreAuditRefused extends HarnessError("StoreAuditRefused") {}

/** one connection reads every invariant in turn */
const auditConnections = 1

/** A PostgreSQL URL as it may be printed: its password replaced. */
export const redactedUrl = (url: string) => url.replace(/^(postgres(?:ql)?:\/\/[^:@/]+):[^@/]*@/, "$1:***@")

/** How the target is named on the command line, for messages. */
export const targetOption = (target: AuditTarget) => target.kind === "sqlite" ? `--db ${target.filename}` : `--store ${redactedUrl(target.url)}`

const clientOf = (target: AuditTarget): Layer.Layer<SqlClient.SqlClient, unknown> =>
  target.kind === "sqlite"
    ? SqliteClient.layer({ filename: target.filename, readonly: true, disableWAL: true })
    : postgresReadClient({ url: target.url, maxConnections: auditConnections })

/** Why reading the store failed, in a line: the driver's message, without a URL's password. */
const failureText = (error: unknown) => {
  const failure = error as { readonly message?: unknown; readonly cause?: { readonly message?: unknown } } | undefined
  const message = typeof failure?.cause?.message === "string" && failure.cause.message !== "" ? failure.cause.message
    : typeof failure?.message === "string" ? failure.message : String(error)
  return redactedUrl(message)
}

/** The store must be one this code migrated: every migration it knows, and none it does not. */
const checkMigrations = (option: string) => Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql.unsafe<{ migration_id: number }>(`SELECT migration_id FROM ${migrationsTable} ORDER BY migration_id`).pipe(
    Effect.mapError((error) => new StoreAuditRefused(/no such table|does not exist/.test(failureText(error))
      ? `${option}: not a chunyun store (it has no ${migrationsTable} table)`
      : `${option}: cannot read it: ${failureText(error)}`)))
  const latest = Math.max(0, ...rows.map((row) => Number(row.migration_id)))
  if (latest < migrationNames.length) {
    return yield* Effect.fail(new StoreAuditRefused(`${option}: the store is at migration ${latest} of ${migrationNames.length}: serve it once with this chunyun to migrate it`))
  }
  if (latest > migrationNames.length) {
    return yield* Effect.fail(new StoreAuditRefused(`${option}: the store was migrated by a newer chunyun (migration ${latest}; this one knows ${migrationNames.length})`))
  }
})

/**
 * The invariants over the store. `StoreAuditRefused` when it cannot be opened or is not a chunyun store of this
 * code's migrations; a failure of the audit itself on a store that is one is thrown as it is.
 */
export const auditStore = async (target: AuditTarget): Promise<ReadonlyArray<InvariantResult>> => {
  const option = targetOption(target)
  if (target.kind === "sqlite") {
    if (!existsSync(target.filename)) throw new StoreAuditRefused(`${option}: no such file`)
    if (!statSync(target.filename).isFile()) throw new StoreAuditRefused(`${option}: not a file`)
  }
  const program = Effect.gen(function* () {
    yield* checkMigrations(option)
    return yield* Effect.orDie(audit(new History(Effect.succeed(0)), { storeOnly: true }))
  }).pipe(Effect.provide(clientOf(target)))
  const exit = await Effect.runPromiseExit(program)
  if (Exit.isSuccess(exit)) return exit.value
  // what failed (rather than died) is the store's opening or its migrations
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "None") throw Cause.squash(exit.cause)
  if (failure.value instanceof StoreAuditRefused) throw failure.value
  throw new StoreAuditRefused(`${option}: cannot ${target.kind === "sqlite" ? "open it" : "connect"}: ${failureText(failure.value)}`)
}

/** Whether any invariant is broken. */
export const auditViolated = (invariants: ReadonlyArray<InvariantResult>) => invariants.some((invariant) => invariant.violations > 0)
