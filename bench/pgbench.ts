/**
 * PostgreSQL's own ceiling on this machine, measured in the same run as the server: `pgbench`'s TPC-B-like
 * transaction (BEGIN, three UPDATEs, a SELECT, an INSERT, END: 7 statements) with prepared statements, in a
 * schema of its own on the same database the order benchmark uses. It says how many statements per second the
 * database and a C client sustain here, which bounds the orders/s of a server that needs N statements per order.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { freshTestSchema, testPostgresUrl } from "../reference/testing/TestStore.js"

const run = promisify(execFile)

/** concurrent pgbench clients, and its worker threads */
const pgbenchClients = 16
/**
 * pgbench's scale factor: 100,000 accounts, 10 tellers, 1 branch per unit. As many branches as clients, as
 * pgbench's documentation advises: with fewer, every transaction waits on a few branch rows' locks and the
 * figure measures that queue, not the database.
 */
const pgbenchScale = pgbenchClients
const pgbenchThreads = 2
/** statements in one TPC-B-like transaction, BEGIN and END included */
export const pgbenchStatementsPerTransaction = 7

export interface PgbenchOutcome {
  readonly transactionsPerSecond: number
  readonly statementsPerSecond: number
  readonly durationMs: number
}

/** The TPC-B-like rate for `durationMs`, or why it could not be measured (no pgbench on the PATH, say). */
export const pgbenchBaseline = async (durationMs: number): Promise<PgbenchOutcome | { readonly unavailable: string }> => {
  const url = new URL(testPostgresUrl())
  const connection = ["-h", url.hostname, "-p", url.port || "5432", ...(url.username ? ["-U", decodeURIComponent(url.username)] : [])]
  const database = url.pathname.replace(/^\//, "") || "postgres"
  const schema = await freshTestSchema()
  const env = { ...process.env, PGOPTIONS: `-c search_path=${schema.schema}` }
  try {
    await run("pgbench", ["-i", "-q", "-s", String(pgbenchScale), ...connection, database], { env })
    const seconds = Math.max(1, Math.round(durationMs / 1_000))
    const { stdout } = await run("pgbench", ["-n", "-M", "prepared", "-c", String(pgbenchClients), "-j", String(pgbenchThreads), "-T", String(seconds), ...connection, database], { env })
    const tps = /tps = ([\d.]+)/.exec(stdout)
    if (!tps) return { unavailable: `pgbench printed no tps line: ${stdout.slice(0, 200)}` }
    const transactionsPerSecond = Number(tps[1])
    return { transactionsPerSecond, statementsPerSecond: transactionsPerSecond * pgbenchStatementsPerTransaction, durationMs: seconds * 1_000 }
  } catch (error) {
    const code = (error as { code?: string }).code
    return { unavailable: code === "ENOENT" ? "pgbench is not installed (PostgreSQL's client package has it)" : `pgbench failed: ${String(error).slice(0, 200)}` }
  } finally {
    await schema.drop()
  }
}
