/**
 * Real mode on PostgreSQL (the design matrix's rows, `chunyun run --store`): a fresh schema per run, served by `chunyun serve --workers N`
 * (`postgres:N`: N processes on one port), audited on the schema once the servers have stopped (Real.ts), and
 * dropped after the run.
 */
import { adminStatement, withSearchPath } from "../reference/Store/Postgres.js"
import type { Scenario } from "../scenarios/Scenario.js"
import { runReal } from "./Real.js"
import type { RunOptions, RunOutcome } from "./Virtual.js"

export interface PostgresRunOptions extends RunOptions {
  /** the database the schema is created in, e.g. postgres://root@127.0.0.1:5432/test */
  readonly url: string
  readonly schema: string
  readonly workers: number
  /** keep the schema after the run (to look at its rows); dropped by default */
  readonly keepSchema?: boolean
}

export const runRealPostgres = async (
  scenario: Scenario, seed: number, cliEntry: string, timeScale: number, options: PostgresRunOptions,
  onProgress?: Parameters<typeof runReal>[4]
): Promise<RunOutcome & { dropped: number }> => {
  await adminStatement(options.url, `CREATE SCHEMA ${options.schema}`)
  try {
    return await runReal(scenario, seed, cliEntry, timeScale, onProgress, {
      ...options, postgresUrl: withSearchPath(options.url, options.schema), serverWorkers: options.workers
    })
  } finally {
    if (!options.keepSchema) await adminStatement(options.url, `DROP SCHEMA IF EXISTS ${options.schema} CASCADE`)
  }
}
