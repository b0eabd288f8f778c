/**
 * Test helpers for operations: `chunyun serve` as a child process that a test can SIGKILL and restart on
 * the same store (a SQLite file or a PostgreSQL schema), and a runtime in the test process over that store,
 * for the auditor and for assertions on rows.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, ManagedRuntime } from "effect"
import type { Layer } from "effect"
import { audit } from "../../simulator/Auditor.js"
import { History } from "../../simulator/History.js"
import { environmentToRun, nodeArgsToRun } from "../../simulator/Real.js"
import { sqliteStore } from "../Store/Sqlite.js"
import { generateServeSecrets, serveSecretsEnv, serveSecretsEnvironment } from "../ServeSecrets.js"
import type { ServeSecrets } from "../ServeSecrets.js"
import { postgresStore } from "../Store/Postgres.js"
import { freshTestSchema } from "./TestStore.js"
import type { TestStoreKind } from "./TestStore.js"

/**
 * The program the tests start: the bundle `npm test` built (CHUNYUN_CLI_BUNDLE: the same sources, loaded in a fifth
 * of the CPU), else cli/main.ts through tsx.
 */
export const testCliEntry = process.env["CHUNYUN_CLI_BUNDLE"] || fileURLToPath(new URL("../../cli/main.ts", import.meta.url))
/**
 * how long a child server has to print its listening line: a bound for a server that never starts, not a speed
 * limit (on a loaded two-core machine a start, TypeScript loading included, took over 30 s)
 */
export const childStartTimeoutMs = 120_000
/** how long a child has to exit on SIGTERM before it is killed */
export const childStopTimeoutMs = 10_000

export interface ChildExit { readonly code: number | null; readonly signal: NodeJS.Signals | null }

export interface ChildServer {
  readonly process: ChildProcess
  /** the admin key it was given; undefined when it drew its own */
  readonly adminKey: string | undefined
  /** the base URL once it listens; undefined when the process exited first */
  readonly listening: Promise<string | undefined>
  readonly exited: Promise<ChildExit>
  /** true once the process has exited */
  readonly hasExited: () => boolean
  /** everything it wrote to stderr so far */
  readonly stderr: () => string
  /** everything it wrote to stdout so far */
  readonly stdout: () => string
  /** SIGTERM, SIGKILL after `childStopTimeoutMs`; resolves with the exit */
  readonly stop: () => Promise<ChildExit>
}

/**
 * `chunyun serve <args>` on an ephemeral port of 127.0.0.1, with secrets of its own in its environment; with
 * `secrets` null, none (nor any this process has in its environment): the server draws its own. `--quiet` unless
 * `requestLog` asks for the line per request (a test's requests would otherwise fill its stdout buffer).
 */
export const spawnServer = (
  args: ReadonlyArray<string>, secrets: ServeSecrets | null = generateServeSecrets(), options: { readonly requestLog?: boolean } = {}
): ChildServer => {
  const { [serveSecretsEnvironment.adminKey]: _adminKey, [serveSecretsEnvironment.gatewayWebhookSecret]: _secret, ...inherited } = environmentToRun(testCliEntry)
  const quiet = options.requestLog === true ? [] : ["--quiet"]
  const child = spawn(process.execPath, [...nodeArgsToRun(testCliEntry), "serve", "--port", "0", ...quiet, ...args], {
    stdio: ["ignore", "pipe", "pipe"], env: secrets === null ? inherited : { ...inherited, ...serveSecretsEnv(secrets) }
  })
  let stderrText = ""
  let stdoutText = ""
  let exit: ChildExit | undefined
  child.stderr?.on("data", (chunk: Buffer) => { stderrText += chunk.toString() })
  const exited = new Promise<ChildExit>((resolve) => {
    child.once("exit", (code, signal) => { exit = { code, signal }; resolve(exit) })
  })
  const listening = new Promise<string | undefined>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`server did not listen within ${childStartTimeoutMs} ms; stderr: ${stderrText}`))
    }, childStartTimeoutMs)
    child.stdout?.on("data", (chunk: Buffer) => {
      stdoutText += chunk.toString()
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)\s/i.exec(stdoutText)
      if (match) { clearTimeout(timer); resolve(match[1]) }
    })
    void exited.then(() => { clearTimeout(timer); resolve(undefined) })
  })
  const stop = async () => {
    if (exit) return exit
    const killer = setTimeout(() => child.kill("SIGKILL"), childStopTimeoutMs)
    child.kill("SIGTERM")
    const result = await exited
    clearTimeout(killer)
    return result
  }
  return { process: child, adminKey: secrets?.adminKey, listening, exited, hasExited: () => exit !== undefined, stderr: () => stderrText, stdout: () => stdoutText, stop }
}

/** A store that outlives its server processes: the command-line arguments that name it, and a layer over it. */
export interface DurableStore {
  readonly kind: TestStoreKind
  readonly serveArgs: ReadonlyArray<string>
  readonly layer: Layer.Layer<SqlClient.SqlClient>
  readonly release: () => Promise<void>
}

export const openDurableStore = async (kind: TestStoreKind): Promise<DurableStore> => {
  if (kind === "sqlite") {
    const directory = mkdtempSync(join(tmpdir(), "chunyun-ops-"))
    const filename = join(directory, "store.db")
    return {
      kind, serveArgs: ["--db", filename], layer: sqliteStore({ filename }),
      release: async () => rmSync(directory, { recursive: true, force: true })
    }
  }
  const schema = await freshTestSchema()
  return { kind, serveArgs: ["--store", schema.url], layer: postgresStore({ url: schema.url, maxConnections: 2 }), release: schema.drop }
}

/** The test process's own connection to a store, for the auditor and direct reads. */
export const storeRuntime = (layer: Layer.Layer<SqlClient.SqlClient>) => ManagedRuntime.make(layer)

/** The auditor's invariants over the store, as "name: witness" lines for every violation (none: []). */
export const auditViolations = Effect.map(audit(new History(Effect.succeed(0))), (results) =>
  results.filter((result) => result.violations > 0).map((result) => `${result.name}: ${(result.witness ?? []).join("; ")}`))
