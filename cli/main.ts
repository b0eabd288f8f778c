/**
 * The `chunyun` command line: a thin layer over the library (simulator/, reference/, reports/).
 *   chunyun run <scenario> [--seed N] [--mode virtual|real] [--out DIR] [--out-json FILE] [--time-scale X] [--target URL --admin-key K [--audit-store URL | --audit-db FILE]]
 *   chunyun restore <backup> (--db FILE | --store postgres://…)
 *   chunyun serve [--port 8080] [--host 127.0.0.1] [--db ./data/chunyun.db | --store postgres://…] [--password-cost N] [--workers N] [--trace]
 *                 [--admin-key K] [--gateway-webhook-secret S] [--admin-key-file PATH] [--seed-catalog <scenario.ts>] [--quiet]
 *   chunyun export-k6 <scenario> [--out script.js] [--time-scale X]
 *   chunyun compare <base.json> <new.json> [--tolerance 5%] [--html out.html]
 *   chunyun replay <history.jsonl> [--actor phone-12 …]
 *   chunyun matrix <scenario> --vary key=a,b … [--seed N] [--out DIR] [--mode auto|virtual|real] [--passengers N]
 *   chunyun audit (--db FILE | --store postgres://…)
 */
import { execSync } from "node:child_process"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import type { HttpServer } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { compareReports, defaultCompareTolerancePercent, parseTolerancePercent } from "../reports/compare.js"
import { renderCompareHtml } from "../reports/compareHtml.js"
import { renderCompareSummary } from "../reports/compareSummary.js"
import { exportK6, maxK6TimeScale } from "../reports/k6.js"
import { formatShare } from "../reports/format.js"
import { progressReporter } from "../reports/progress.js"
import { parseThresholdFlag, ThresholdError } from "../reports/thresholds.js"
import { renderStoreAudit, renderSummary } from "../reports/summary.js"
import { restoreBackup } from "../reference/operations/Backup.js"
import { defaultSettings, defaultStoreMaxConnections, maxStoreConnections } from "../reference/Config.js"
import { parseCrashAt } from "../reference/FaultPoints.js"
import { inventoryVariants } from "../reference/Settings/Holds.js"
import type { InventoryVariant } from "../reference/Settings/Holds.js"
import { holdBatchings } from "../reference/ticketing/Inventory/Lanes.js"
import { issuanceVariants } from "../reference/Settings/Issuance.js"
import { serveLayer } from "../reference/Server.js"
import { sqliteStore } from "../reference/Store/Sqlite.js"
import { isPostgresUrl, postgresConnectTimeoutMs, postgresStore } from "../reference/Store/Postgres.js"
import type { History } from "../simulator/History.js"
import { scenarioEndMs } from "../simulator/Population.js"
import { RequestPointsFile } from "../simulator/RequestPoints.js"
import type { RequestPointsOutcome } from "../simulator/RequestPoints.js"
import { auditStore, auditViolated, StoreAuditRefused, targetOption } from "../simulator/StoreAudit.js"
import type { AuditTarget } from "../simulator/StoreAudit.js"
import { virtualModeRefusal } from "../simulator/Virtual.js"
import { TargetRefused, targetNotes, targetRefusal } from "../simulator/Target.js"
import type { TargetRunOptions, TargetStore } from "../simulator/Target.js"
import { ClockStalled } from "../simulator/VirtualClock.js"
import { ServerLog, serverLogFileName, serverLogLine } from "../simulator/ServerLog.js"
import {
  HistoryFileError, renderReplay, replayHistory, replayServerLogFileName, shortPath, withReplayCommands
} from "../simulator/Replay.js"
import { isArrivalRate, maxVusOf } from "../simulator/Executors.js"
import { defaultMaxOutsideCpuShare } from "../simulator/HostLoad.js"
import { freshSchemaName, MatrixUsageError, parseVary } from "../simulator/Matrix.js"
import { runMatrix } from "../simulator/MatrixRun.js"
import { renderMatrixSummary } from "../reports/matrixHtml.js"
import type { Scenario } from "../scenarios/Scenario.js"
import { clockWallStartEnvironment, scaledClock } from "./scaledClock.js"
import { serveSecretsEnv, serveSecretsEnvironment } from "../reference/ServeSecrets.js"
import { defaultAdminKeyFile, resolveServeSecrets, writeAdminKeyFile } from "./serveSecrets.js"
import type { ResolvedServeSecrets } from "./serveSecrets.js"
import { announceWorkerServing, clusterWorkerMetrics, isClusterWorker, maxServeWorkers, runWorkerPrimary } from "./serveWorkers.js"
import { loadReport, ReportFileError } from "./reportFile.js"
import { loadScenario, ScenarioFileError } from "./scenarioFile.js"
import { driverProcessCommand } from "../simulator/Drivers.js"
import { driverProcessMain } from "../simulator/DriverProcess.js"
import { driverProcessesRefusal } from "../simulator/Journeys.js"
import { runScenario } from "../simulator/RunScenario.js"
import type { RunWhere } from "../simulator/RunScenario.js"
import { loopbackUrlOf, seedCatalog, seededCatalogLine, seedFailureText } from "./seedCatalog.js"
import { HarnessError } from "../reports/HarnessError.js"

const usage = `usage:
  chunyun run <scenario.ts> [--seed N] [--mode virtual|real] [--out DIR] [--passengers N] [--time-scale X] [--password-cost N]
                [--store postgres://user@host:5432/db [--workers N]]   (real mode on PostgreSQL, in a schema of the run's own, dropped after)
                [--inventory conditional|optimistic|row-lock|queue|unsafe] [--unsafe] [--threshold "metric: p(99)<500" …]
                [--out-json FILE]   (one JSON line per finished request, written as the run goes, as k6's --out json:
                                              {"type":"Point","metric":"http_req_duration","data":{"time":…,"value":ms,"tags":
                                              {"endpoint":…,"actor_kind":…,"journey":…,"outcome":…,"status":…}}}; a lost answer is
                                              metric http_req_lost, value 1; time is the scenario's clock)
                [--target http://host:port --admin-key K [--audit-store postgres://… | --audit-db FILE]]
                [--driver-processes N]   (real mode: N processes drive the passengers, each its share by index; journeys app, app-gateway)
                                             (real mode against a running server the harness did not start: the scenario's
                                              catalog set up through its admin API (a fresh store, not --seed-catalog), time at
                                              scale 1 unless --time-scale, which the server must share; a server-crash fault is
                                              refused. Audited from the history; from its store too when named. The key may
                                              come from CHUNYUN_ADMIN_KEY instead)
  chunyun serve [--port 8080] [--host 127.0.0.1] [--db ./data/chunyun.db | --store postgres://user@host:5432/db]
                [--password-cost N] [--inventory conditional|optimistic|row-lock|queue|unsafe] [--unsafe] [--max-queued-holds N]
                [--batching per-request|group-commit] [--group-commit-window-ms N] [--max-holds-per-group-commit N]
                [--seat-claim-tie-window-ms N]   (a chosen seat's holds this close tie: the earlier-installed device wins)
                [--issuance after-commit|inline|worker] [--outbox-poll-ms N] [--outbox-batch-size N]
                [--backup-dir DIR] [--upstream-sync] [--crash-at <fault point>[:<hit>]]   (crash tests: reference/FaultPoints.ts)
                [--workers N]   (N processes on one port; needs --store postgres://…)
                [--trace]   (spans for every request and service call; off by default: with no exporter they only cost time)
                [--store-max-connections N]   (PostgreSQL connections per process; default ${defaultStoreMaxConnections})
                [--admin-key K] [--gateway-webhook-secret S]   (or env CHUNYUN_ADMIN_KEY, CHUNYUN_GATEWAY_WEBHOOK_SECRET; drawn at
                                              start when not given. A drawn admin key is written, mode 0600, to --admin-key-file,
                                              default <db file>.admin-key, or ./data/chunyun-serve.admin-key; the path is printed.
                                              Admin endpoints (/admin/…) want it in the x-admin-key header)
                [--seed-catalog <scenario.ts>]   (load that scenario's trains, station gates and cinema into the fresh store at
                                              start, as a run sets them up; one line says what was loaded)
                [--clock-start-ms MS --clock-scale X]   (the server's clock starts at MS, epoch ms, and runs X times as fast
                                              as the wall: a scenario's timeline, as run --mode real, run --target and an exported k6 script need)
                [--quiet]   (no line per request; by default each request is logged: method, route, status, ms)
                GET /health: 200 {"status":"ok","store":"ok","clockMs":…}, no key needed; GET /docs: the API, interactive (offline);
                GET /openapi.json: the OpenAPI document; GET /metrics: counters in the Prometheus text format, no key
                (requests by route and status, latency by route, holds, payments, tickets, outbox lag, store connections;
                with --workers, the sum over every worker, whichever one answers the scrape)
  chunyun restore <backup file> (--db ./restored.db | --store postgres://…)   (into a fresh store; see reference/operations/Backup.ts)
  chunyun compare <base.json> <new.json> [--tolerance ${defaultCompareTolerancePercent}%] [--html out.html]   (exit 1 when something got worse)
                (rates and payment→issuance percentiles: worse only when the 95% bootstrap interval of the change, from each
                 run's per-bucket series, excludes 0 and the change passes the tolerance, a floor; counts: the same with two Poisson
                 counts' interval; other rows: the tolerance)
  chunyun replay <history.jsonl> [--actor phone-12 …]   (re-runs a recorded run in virtual mode; exit 1 when an actor's answers differ)
  chunyun export-k6 <scenario.ts> [--out script.js] [--time-scale X]   (the load as a k6 script, for k6 / k6-operator: one k6
                scenario per journey kind, weighted as the mix, every request checked and tagged; setup() creates the catalog
                through the admin API. X: scenario time per wall time, default the scenario's real.timeScale; serve with
                --clock-start-ms and --clock-scale as the script's header says, on a fresh store)
  chunyun audit (--db FILE | --store postgres://…)   (the invariants over a store after any run, k6's included: each with
                its violations and witnesses; exit 0 clean, 1 an invariant broken, 2 the store cannot be read)
  chunyun matrix <scenario.ts> --vary inventory=conditional,row-lock,optimistic,queue --vary store=sqlite,postgres [--vary issuance=…]
                [--seed N] [--out DIR] [--mode auto|virtual|real] [--passengers N] [--time-scale X] [--unsafe] [--postgres URL]
                [--max-outside-load SHARE]   (real mode: rows measured while other work kept more than SHARE of the
                                              machine busy are re-run once, then flagged; default ${defaultMaxOutsideCpuShare})
                (store: sqlite, sqlite-memory, sqlite-file, postgres, postgres:N; any field of the scenario's server section varies)
exit codes of run: 0 all good; 1 an invariant was violated; 99 a threshold failed; 2 a usage or scenario error;
  3 the run itself failed and wrote no report (e.g. the virtual clock cannot settle: actors blocked on each other)`

class UsageError extends HarnessError("UsageError") {}

/**
 * One command's part of the usage (its line and the indented lines under it), or the whole usage when the
 * command is unknown or none was given.
 */
const usageOf = (command: string | undefined) => {
  const lines = usage.split("\n")
  const start = lines.findIndex((line) => line.startsWith(`  chunyun ${command} `) || line === `  chunyun ${command}`)
  if (command === undefined || start === -1) return usage
  const end = lines.findIndex((line, index) => index > start && !/^ {3,}/.test(line))
  const exitCodes = command === "run" ? lines.slice(lines.findIndex((line) => line.startsWith("exit codes of run"))) : []
  return ["usage:", ...lines.slice(start, end === -1 ? lines.length : end), ...exitCodes].join("\n")
}

/** node:util's parseArgs refusal in this program's words: which option, for which command. */
const parseArgsMessage = (error: Error & { code?: unknown }, command: string | undefined) => {
  const unknown = error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ? /Unknown option '([^']+)'/.exec(error.message) : null
  if (unknown) return `unknown option ${unknown[1]} for "chunyun ${command}" (its options are below)`
  return error.message
}

/** exit codes: an invariant broken, a threshold failed (99, as k6), a usage or scenario error, a run that failed */
export const exitInvariantViolated = 1
export const exitThresholdFailed = 99
export const exitUsageError = 2
/** the run itself failed (a virtual clock that cannot settle, a server that would not start, a defect): no report */
export const exitRunFailed = 3
/** compare: a row of the new report is worse than the base (beyond its interval and the tolerance; any new invariant violation) */
export const exitCompareRegressed = 1
/** replay: some actor was answered differently than in the recording */
export const exitReplayDiffers = 1

const integerOption = (name: string, text: string | undefined, fallback: number, min = 0) => {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} expects an integer ≥ ${min}, got "${text}"`)
  return value
}

/** a share of the machine, 0 to 1 */
const shareOption = (name: string, text: string | undefined, fallback: number) => {
  if (text === undefined) return fallback
  const value = Number(text)
  if (text.trim() === "" || !Number.isFinite(value) || value < 0 || value > 1) throw new UsageError(`--${name} expects a share from 0 to 1 (0.1 = 10 % of the machine), got "${text}"`)
  return value
}

const inventoryOption = (text: string | undefined, fallback: InventoryVariant, unsafeAllowed: boolean): InventoryVariant => {
  const variant = text ?? fallback
  if (!(inventoryVariants as ReadonlyArray<string>).includes(variant)) {
    throw new UsageError(`--inventory expects one of ${inventoryVariants.join(", ")}, got "${variant}"`)
  }
  if (variant === "unsafe" && !unsafeAllowed) throw new UsageError("the unsafe inventory double-books by design: add --unsafe to use it")
  return variant as InventoryVariant
}

const oneOf = <T extends string>(name: string, choices: ReadonlyArray<T>, text: string | undefined, fallback: T): T => {
  const value = text ?? fallback
  if (!(choices as ReadonlyArray<string>).includes(value)) throw new UsageError(`--${name} expects one of ${choices.join(", ")}, got "${value}"`)
  return value as T
}

/** `serve`'s flags for the design variants (simulator/Real.ts serverDesignArgs passes them). */
const designSettings = (values: Record<string, string | boolean | undefined>) => {
  const text = (name: string) => typeof values[name] === "string" ? values[name] as string : undefined
  return {
    maxQueuedHoldsPerRun: integerOption("max-queued-holds", text("max-queued-holds"), defaultSettings.maxQueuedHoldsPerRun, 1),
    holdBatching: oneOf("batching", holdBatchings, text("batching"), defaultSettings.holdBatching),
    holdGroupCommitWindowMs: integerOption("group-commit-window-ms", text("group-commit-window-ms"), defaultSettings.holdGroupCommitWindowMs),
    maxHoldsPerGroupCommit: integerOption("max-holds-per-group-commit", text("max-holds-per-group-commit"), defaultSettings.maxHoldsPerGroupCommit, 1),
    seatClaimTieWindowMs: integerOption("seat-claim-tie-window-ms", text("seat-claim-tie-window-ms"), defaultSettings.seatClaimTieWindowMs),
    issuance: oneOf("issuance", issuanceVariants, text("issuance"), defaultSettings.issuance),
    outboxSweepIntervalMs: integerOption("outbox-poll-ms", text("outbox-poll-ms"), defaultSettings.outboxSweepIntervalMs, 1),
    outboxBatchSize: integerOption("outbox-batch-size", text("outbox-batch-size"), defaultSettings.outboxBatchSize, 1)
  }
}

/** `--db` names a SQLite file (the default store), `--store` a PostgreSQL database: one or the other. */
/** `clockScale`: how much faster than the wall the server's Clock runs; the pool's connect timeout is wall time. */
const storeOption = (db: string | undefined, store: string | undefined, maxConnections?: number, clockScale = 1) => {
  if (db !== undefined && store !== undefined) throw new UsageError("--db (a SQLite file) and --store (a PostgreSQL URL) exclude each other: give one")
  if (store !== undefined) {
    if (!isPostgresUrl(store)) throw new UsageError(`--store expects a postgres:// URL, got "${store}"`)
    return postgresStore({ url: store, ...(maxConnections === undefined ? {} : { maxConnections }), connectTimeoutMs: postgresConnectTimeoutMs * clockScale })
  }
  const filename = db ?? "./data/chunyun.db"
  if (filename !== ":memory:") mkdirSync(dirname(resolve(filename)), { recursive: true })
  return sqliteStore({ filename })
}

const codeVersion = () => {
  try {
    const head = execSync("git rev-parse --short HEAD", { stdio: ["ignore", "pipe", "ignore"] }).toString().trim()
    const dirty = execSync("git status --porcelain --untracked-files=no", { stdio: ["ignore", "pipe", "ignore"] }).toString().trim()
    return dirty ? `${head}-dirty` : head
  } catch {
    return "unknown"
  }
}

/**
 * The progress display of a run of `scenario` (a redrawn block on a terminal, a line a second in a log), by wall time;
 * its clock is the virtual one in virtual mode, else the scenario's timeline.
 */
const progressPrinter = (scenario: Scenario, mode: string) => {
  const startMs = Date.parse(scenario.startAt)
  return progressReporter({
    stream: process.stdout, startMs, endMs: scenarioEndMs(scenario), wallNowMs: () => performance.now(), clock: mode === "virtual" ? "virtual" : "scenario",
    startClockMs: (startMs + defaultSettings.utcOffsetMinutes * 60_000) % 86_400_000
  })
}

/** What the report says about the load: the executor, the dropped iterations, how latency was measured. */
const loadNotes = (scenario: Scenario, outcome: { readonly history: History; readonly dropped?: number; readonly driverProcesses?: number }) => {
  const executor = scenario.load ? `load: ${scenario.load.executor} executor; ` : ""
  const droppedBeyond = scenario.load && isArrivalRate(scenario.load)
    ? `more than maxVus ${maxVusOf(scenario.load)} purchasing` : `more than ${scenario.real.maxPassengersInFlight} passengers in flight`
  const drivers = outcome.driverProcesses
  const driven = drivers === undefined || drivers === 1 ? [] : [
    `Driven from ${drivers} processes: each drove the passengers whose index modulo ${drivers} was its own (the first also the faults and ` +
    `background work, after setting the scenario up); their histories were merged in time order, and the in-flight limit split between them.`
  ]
  if (outcome.dropped !== undefined) {
    return [`Real mode: ${executor}${outcome.dropped} iterations dropped (${droppedBeyond}); latencies are wall-clock ms measured from each request's intended send time (coordinated omission corrected, as wrk2).`, ...driven]
  }
  return scenario.load ? [`Virtual mode: ${executor}${outcome.history.count("dropped-iteration", "dropped")} iterations dropped (${droppedBeyond}).`] : []
}

const runCommand = async (args: ReadonlyArray<string>) => {
  const { values, positionals } = parseArgs({
    args: [...args], allowPositionals: true,
    options: {
      seed: { type: "string" }, mode: { type: "string" }, out: { type: "string" }, "time-scale": { type: "string" },
      "password-cost": { type: "string" }, inventory: { type: "string" }, unsafe: { type: "boolean" },
      threshold: { type: "string", multiple: true }, passengers: { type: "string" }, store: { type: "string" }, workers: { type: "string" },
      "out-json": { type: "string" },
      target: { type: "string" }, "admin-key": { type: "string" }, "audit-store": { type: "string" }, "audit-db": { type: "string" },
      "driver-processes": { type: "string" }
    }
  })
  const file = positionals[0]
  if (!file || positionals.length > 1) throw new UsageError("run takes exactly one scenario file")
  const target = runTargetOption(values)
  const postgres = runStoreOption(values.store, values.mode, values.workers)
  const mode = values.mode ?? (postgres === undefined && target === undefined ? "virtual" : "real")
  if (mode !== "virtual" && mode !== "real") throw new UsageError(`--mode expects virtual or real, got "${mode}"`)
  const driverProcesses = driverProcessesOption(values["driver-processes"], mode)
  const seed = integerOption("seed", values.seed, 42)
  const extraThresholds = (values.threshold ?? []).map(parseThresholdFlag)
  const loaded = await loadScenario(file)
  const passwordCost = integerOption("password-cost", values["password-cost"], loaded.server.passwordHashCostN, 256)
  if ((passwordCost & (passwordCost - 1)) !== 0) throw new UsageError(`--password-cost must be a power of two, got ${passwordCost}`)
  const inventory = inventoryOption(values.inventory, loaded.server.inventory, values.unsafe === true)
  const passengers = integerOption("passengers", values.passengers, loaded.passengers.count, 1)
  const scenario = {
    ...loaded, passengers: { ...loaded.passengers, count: passengers }, server: { ...loaded.server, passwordHashCostN: passwordCost, inventory }
  }
  const refusal = mode === "virtual" ? virtualModeRefusal(scenario) : undefined
  if (refusal !== undefined) throw new UsageError(`${file}: ${refusal}: add --mode real`)
  const driversRefusal = driverProcesses > 1 ? driverProcessesRefusal(scenario) : undefined
  if (driversRefusal !== undefined) throw new UsageError(`--driver-processes ${driverProcesses}: ${file}: ${driversRefusal}`)
  const targetFaultRefusal = target === undefined ? undefined : targetRefusal(scenario)
  if (targetFaultRefusal !== undefined) throw new TargetRefused(`${file}: ${targetFaultRefusal}`)
  const requestPoints = values["out-json"] === undefined ? undefined : openRequestPoints(values["out-json"])
  const outDir = resolve(values.out ?? `out/${scenario.name}-${seed}`)
  // the server's log lines go to a file beside the report, not between the progress display's lines; a --target server keeps its own
  if (target === undefined) mkdirSync(outDir, { recursive: true })
  const serverLog = target === undefined ? new ServerLog(join(outDir, serverLogFileName)) : undefined
  const runOptions = {
    allowUnsafeInventory: values.unsafe === true, ...(serverLog === undefined ? {} : { serverLog }),
    ...(requestPoints === undefined ? {} : { onHistoryEvent: requestPoints.record })
  }
  console.log(`chunyun: ${scenario.name}, seed ${seed}, ${mode} mode, ${passengers} passengers${passengers === loaded.passengers.count ? "" : ` (the file says ${loaded.passengers.count})`}`)
  const onProgress = progressPrinter(scenario, mode)
  // a server the harness did not start runs at the wall clock's pace unless told, and the harness cannot tell it
  const timeScale = () => integerOption("time-scale", values["time-scale"], target === undefined ? scenario.real.timeScale : 1, 1)
  const targetRun = target === undefined ? undefined
    : { ...target, timeScale: timeScale(), driverProcesses: { count: driverProcesses, cliEntry: fileURLToPath(import.meta.url) } }
  if (targetRun !== undefined && targetRun.timeScale !== 1) console.error(targetTimeScaleWarning(targetRun.timeScale, scenario))
  const { report, jsonPath, htmlPath, historyPath } = await runScenario({
    scenario, scenarioFile: file, seed, where: runWhere({ mode, postgres, targetRun, timeScale, driverProcesses }), runOptions, onProgress,
    outDir, codeVersion: codeVersion(), extraThresholds, historyOptions: { inventory, unsafe: values.unsafe === true }, startedAt: new Date().toISOString(),
    ...(targetRun === undefined ? {} : { target: targetRun.baseUrl }),
    onOutcome: (outcome) => onProgress({ nowMs: outcome.endMs, history: outcome.history, passengers: outcome.passengers }, true),
    notesOf: (outcome) => [...loadNotes(scenario, outcome), ...(targetRun === undefined ? [] : targetNotes(targetRun, targetRun.storeNamed))],
    finish: (built, historyPath) => withReplayCommands(built, {
      scenarioFile: file, seed, unsafe: values.unsafe === true, historyFile: shortPath(historyPath),
      ...(values.inventory === undefined ? {} : { inventory }), ...(values["password-cost"] === undefined ? {} : { passwordCost }),
      ...(values.passengers === undefined ? {} : { passengers })
    })
  }).finally(() => {
    serverLog?.close()
    requestPoints?.close()
  })
  console.log(renderSummary(report))
  if (serverLog !== undefined) console.log(serverLogLine(serverLog.counts(), shortPath(serverLog.path)))
  console.log(`report: ${[jsonPath, htmlPath, historyPath, ...(serverLog === undefined ? [] : [serverLog.path])].join("\n        ")}`)
  // closed when the run ended: closing again answers what was written
  if (requestPoints !== undefined) reportRequestPoints(requestPoints.path, requestPoints.close())
  if (report.invariants.some((invariant) => invariant.violations > 0)) return exitInvariantViolated
  return report.thresholds.some((threshold) => !threshold.passed) ? exitThresholdFailed : 0
}

/** Why a file could not be opened for writing, in plain words. */
const unwritableReason = (error: unknown) => {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined
  if (code === "ENOENT") return "its directory does not exist"
  if (code === "EACCES" || code === "EPERM") return "permission denied"
  if (code === "EISDIR") return "it is a directory"
  if (code === "ENOTDIR") return "a part of the path is not a directory"
  if (code === "EROFS") return "the file system is read-only"
  return error instanceof Error ? error.message : String(error)
}

/** `--out-json FILE`: the file the run's request points stream to, opened before the run; a usage error when it cannot be written. */
const openRequestPoints = (path: string) => {
  try {
    return new RequestPointsFile(path)
  } catch (error) {
    throw new UsageError(`--out-json ${path}: cannot write there: ${unwritableReason(error)}`)
  }
}

/** One line saying where the request points went; on stderr, why they stopped when the file failed during the run. */
const reportRequestPoints = (path: string, outcome: RequestPointsOutcome) => {
  console.log(`request points: ${outcome.points} requests → ${path}`)
  if (outcome.failure !== undefined) console.error(`chunyun: --out-json ${path}: writing stopped after ${outcome.points} requests: ${outcome.failure}`)
}

/**
 * The run the command line chose, announced: virtual; real on a server of its own, on SQLite or on PostgreSQL in a
 * schema of its own; or real against a server already running (`--target`).
 */
/** Where `chunyun run`'s options say the run goes, saying so when it is a server elsewhere or a PostgreSQL schema. */
const runWhere = (choice: {
  readonly mode: "virtual" | "real"
  readonly postgres: ReturnType<typeof runStoreOption>
  readonly targetRun: (TargetRunOptions & { readonly storeNamed?: string }) | undefined
  readonly timeScale: () => number
  readonly driverProcesses: number
}): RunWhere => {
  const { postgres, targetRun } = choice
  if (targetRun !== undefined) {
    console.log(`chunyun: driving the server at ${targetRun.baseUrl}; audits: the history${targetRun.store === undefined ? " (no store named)" : `, the store ${targetRun.storeNamed}`}`)
    return { kind: "target", options: targetRun }
  }
  if (choice.mode === "virtual") return { kind: "virtual" }
  const own = { kind: "own-server" as const, cliEntry: fileURLToPath(import.meta.url), timeScale: choice.timeScale(), driverProcesses: choice.driverProcesses }
  if (postgres === undefined) return own
  const schema = freshSchemaName(0)
  console.log(`chunyun: ${postgres.workers} server process${postgres.workers === 1 ? "" : "es"} on PostgreSQL, schema ${schema} (dropped after the run)`)
  return { ...own, postgres: { url: postgres.url, schema, workers: postgres.workers } }
}

/** the options that set up a server the harness starts, which a `--target` server was set up without */
const ownServerOptions = ["store", "workers", "inventory", "unsafe", "password-cost"] as const

/** A PostgreSQL URL as a report or a line may show it: without its password. */
const withoutPassword = (url: string) => {
  try {
    const parsed = new URL(url)
    if (parsed.password === "") return url
    parsed.password = ""
    return parsed.toString()
  } catch {
    return url
  }
}

/**
 * `run --target http://host:port --admin-key K [--audit-store postgres://… | --audit-db FILE]`: real mode against a
 * server the harness did not start. Undefined without `--target`; every option that only makes sense with it, or
 * only without it, is refused naming the option.
 */
const runTargetOption = (values: Record<string, string | boolean | ReadonlyArray<string> | undefined>) => {
  const text = (name: string) => typeof values[name] === "string" ? values[name] as string : undefined
  const address = text("target")
  if (address === undefined) {
    const stray = ["admin-key", "audit-store", "audit-db"].find((name) => values[name] !== undefined)
    if (stray !== undefined) throw new UsageError(`--${stray} goes with --target (a server the harness did not start); a run that starts its own server sets up and audits that server itself`)
    return undefined
  }
  let baseUrl: string
  try {
    const parsed = new URL(address)
    if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || parsed.pathname !== "/" || parsed.search !== "" || parsed.username !== "") throw new Error("not a server address")
    baseUrl = parsed.origin
  } catch {
    throw new UsageError(`--target expects the server's address, http://host:port, got "${address}"`)
  }
  if (values.mode === "virtual") throw new UsageError("--target drives a running server over HTTP, which is real mode: drop --mode virtual")
  const own = ownServerOptions.find((name) => values[name] !== undefined)
  if (own !== undefined) throw new UsageError(`--${own} sets up a server the harness starts; the --target server runs as it was served (give --${own} to its chunyun serve)`)
  const adminKey = text("admin-key") ?? process.env[serveSecretsEnvironment.adminKey]
  if (adminKey === undefined || adminKey === "") {
    throw new UsageError(`--target needs the server's admin key, to set the scenario's catalog up through its admin API: --admin-key K (or ${serveSecretsEnvironment.adminKey})`)
  }
  const [auditStore, auditDb] = [text("audit-store"), text("audit-db")]
  if (auditStore !== undefined && auditDb !== undefined) throw new UsageError("--audit-store (a PostgreSQL URL) and --audit-db (a SQLite file) exclude each other: name the target's one store")
  if (auditStore !== undefined && !isPostgresUrl(auditStore)) throw new UsageError(`--audit-store expects the target's PostgreSQL URL, postgres://user@host:5432/db, got "${auditStore}"`)
  if (auditDb !== undefined && (auditDb === ":memory:" || !existsSync(auditDb))) {
    throw new UsageError(`--audit-db expects the target's SQLite file (the --db it was served with), got "${auditDb}": no such file`)
  }
  const store: TargetStore | undefined = auditStore !== undefined ? { kind: "postgres", url: auditStore } : auditDb !== undefined ? { kind: "sqlite", file: auditDb } : undefined
  const storeNamed = auditStore !== undefined ? withoutPassword(auditStore) : auditDb
  return { baseUrl, adminKey, ...(store === undefined ? {} : { store }), ...(storeNamed === undefined ? {} : { storeNamed }) }
}

/** the most driver processes a run starts: one machine's cores, with room */
export const maxDriverProcesses = 64

/** `--driver-processes N`: real mode only (virtual mode is one deterministic process); 1 by default. */
const driverProcessesOption = (text: string | undefined, mode: string) => {
  const count = integerOption("driver-processes", text, 1, 1)
  if (count > maxDriverProcesses) throw new UsageError(`--driver-processes expects at most ${maxDriverProcesses}, got ${count}`)
  if (count > 1 && mode !== "real") throw new UsageError("--driver-processes drives a server over HTTP from several processes, which is real mode: add --mode real (virtual mode is one deterministic process)")
  return count
}

/** `--time-scale X` with `--target`: the harness runs the scenario X times faster; only the server's own start can make it do the same. */
const targetTimeScaleWarning = (timeScale: number, scenario: Scenario) =>
  `chunyun: warning: --time-scale ${timeScale} runs the scenario's timeline ${timeScale}× faster than the wall clock, and the harness cannot ` +
  `change the --target server's clock: it must run at the same scale from the scenario's start ` +
  `(chunyun serve --clock-scale ${timeScale} --clock-start-ms ${Date.parse(scenario.startAt)}), or holds, sales close and check-in windows will not line up`

/** `--workers N`: N server processes on one port; they share the store, so it must be PostgreSQL. */
/**
 * `run --store postgres://… [--workers N]`: real mode against `chunyun serve` on that database, in a schema of the
 * run's own (created, audited, dropped), with N server processes. Undefined without `--store`.
 */
const runStoreOption = (store: string | undefined, mode: string | undefined, workersText: string | undefined) => {
  const workers = workersOption(workersText, store)
  if (store === undefined) return undefined
  if (!isPostgresUrl(store)) throw new UsageError(`--store expects a postgres:// URL, got "${store}" (a run on SQLite needs no --store)`)
  if (mode === "virtual") throw new UsageError("--store runs the servers on PostgreSQL, which needs real mode: drop --mode virtual (virtual mode runs in memory)")
  return { url: store, workers }
}

const workersOption = (text: string | undefined, store: string | undefined) => {
  const workers = integerOption("workers", text, 1, 1)
  if (workers > maxServeWorkers) throw new UsageError(`--workers expects at most ${maxServeWorkers}, got ${workers}`)
  if (workers > 1 && store === undefined) throw new UsageError("--workers above 1 needs --store postgres://… (a SQLite file has one writer: serve it from one process)")
  return workers
}

/** A drawn admin key goes to its file (0600), and the path is printed; a given one is the giver's to keep. */
const announceAdminKey = (resolved: ResolvedServeSecrets, keyFile: string) => {
  if (!resolved.adminKeyGenerated) return console.log(`chunyun: admin key as given (--admin-key or ${serveSecretsEnvironment.adminKey})`)
  console.log(`chunyun: admin key written to ${writeAdminKeyFile(keyFile, resolved.secrets.adminKey)} (readable by this user only)`)
}


/**
 * `--seed-catalog`: the scenario's catalog through the API once the server answers, before it says it listens;
 * the catalog not loading (a store that has it already) stops the server with the API's refusal.
 */
const catalogSeeder = (file: string, scenario: Scenario, adminKey: string, seeded: () => void) => (address: HttpServer.Address) =>
  seedCatalog(scenario, loopbackUrlOf(address), adminKey).pipe(
    Effect.tap((catalog) => Effect.sync(() => { seeded(); console.log(seededCatalogLine(file, catalog)) })),
    Effect.catchAllCause((cause) => Effect.sync(() => {
      console.error(`chunyun: --seed-catalog ${file}: the catalog was not loaded (is the store fresh?): ${seedFailureText(cause)}`)
      process.exit(exitUsageError)
    }))
  )

const serveCommand = async (args: ReadonlyArray<string>) => {
  const { values } = parseArgs({
    args: [...args],
    options: {
      port: { type: "string" }, host: { type: "string" }, db: { type: "string" }, store: { type: "string" }, "password-cost": { type: "string" },
      "hold-ttl-ms": { type: "string" }, "clock-start-ms": { type: "string" }, "clock-scale": { type: "string" },
      inventory: { type: "string" }, unsafe: { type: "boolean" }, "crash-at": { type: "string" },
      "backup-dir": { type: "string" }, "upstream-sync": { type: "boolean" }, workers: { type: "string" },
      "max-queued-holds": { type: "string" }, batching: { type: "string" }, "group-commit-window-ms": { type: "string" },
      "max-holds-per-group-commit": { type: "string" }, "seat-claim-tie-window-ms": { type: "string" }, issuance: { type: "string" }, "outbox-poll-ms": { type: "string" },
      "outbox-batch-size": { type: "string" }, "store-max-connections": { type: "string" }, trace: { type: "boolean" },
      "admin-key": { type: "string" }, "gateway-webhook-secret": { type: "string" }, "admin-key-file": { type: "string" },
      quiet: { type: "boolean" }, "seed-catalog": { type: "string" }
    }
  })
  const workers = workersOption(values.workers, values.store)
  const seedFile = values["seed-catalog"]
  if (seedFile !== undefined && workers > 1) throw new UsageError("--seed-catalog loads the catalog through one process: seed with one serve, then start --workers on the same store")
  const resolved = resolveServeSecrets({ adminKey: values["admin-key"], gatewayWebhookSecret: values["gateway-webhook-secret"] })
  if ("refusal" in resolved) throw new UsageError(resolved.refusal)
  const maxConnections = integerOption("store-max-connections", values["store-max-connections"], defaultStoreMaxConnections, 1)
  if (maxConnections > maxStoreConnections) throw new UsageError(`--store-max-connections expects at most ${maxStoreConnections}, got ${maxConnections}`)
  const clockStartMs = values["clock-start-ms"] === undefined ? undefined : integerOption("clock-start-ms", values["clock-start-ms"], 0)
  const clockScale = Number(values["clock-scale"] ?? "1")
  if (!(clockScale > 0) || !Number.isFinite(clockScale)) throw new UsageError(`--clock-scale expects a number above 0, got "${values["clock-scale"]}"`)
  const store = storeOption(values.db, values.store, maxConnections, clockStartMs === undefined ? 1 : clockScale)
  const crashAt = values["crash-at"] === undefined ? undefined : parseCrashAt(values["crash-at"])
  if (typeof crashAt === "string") throw new UsageError(`--crash-at: ${crashAt}`)
  const seedScenario = seedFile === undefined ? undefined : await loadScenario(seedFile)
  // only once the command line is known good; a cluster worker was handed its primary's secrets in its environment
  if (!isClusterWorker()) announceAdminKey(resolved, values["admin-key-file"] ?? defaultAdminKeyFile(values.db, values.store))
  // the workers' scaled clocks count from the primary's start, so all of them read the same time
  const clockWallStartMs = isClusterWorker() && process.env[clockWallStartEnvironment] !== undefined
    ? Number(process.env[clockWallStartEnvironment]) : performance.timeOrigin + performance.now()
  if (workers > 1 && !isClusterWorker()) {
    return runWorkerPrimary(workers, values.host ?? "127.0.0.1", { ...serveSecretsEnv(resolved.secrets), [clockWallStartEnvironment]: String(clockWallStartMs) })
  }
  const settings = {
    passwordHashCostN: integerOption("password-cost", values["password-cost"], 16_384, 256),
    holdTtlMs: integerOption("hold-ttl-ms", values["hold-ttl-ms"], 600_000, 1),
    inventory: inventoryOption(values.inventory, "conditional", values.unsafe === true),
    allowUnsafeInventory: values.unsafe === true,
    ...(crashAt === undefined ? {} : { crashAt }),
    ...(values["backup-dir"] === undefined ? {} : { backupDirectory: values["backup-dir"] }),
    upstreamSync: values["upstream-sync"] === true,
    ...designSettings(values)
  }
  // the seeding's own requests are the one line that reports them, not a line each
  let seeding = seedScenario !== undefined
  /** one request's log line, written as it is (reference/operations/RequestLog.ts builds it whole) */
  const writeRequestLogLine = (line: string) => { if (!seeding) process.stdout.write(line) }
  const clockLayer = clockStartMs === undefined ? Layer.empty : Layer.setClock(scaledClock(clockStartMs, clockScale, clockWallStartMs))
  const layer = serveLayer({
    port: integerOption("port", values.port, 8080), host: values.host ?? "127.0.0.1", store, settings, secrets: resolved.secrets, tracing: values.trace === true,
    ...(values.quiet === true ? {} : { requestLog: writeRequestLogLine }),
    ...(seedFile === undefined || seedScenario === undefined ? {} : { whenServing: catalogSeeder(seedFile, seedScenario, resolved.secrets.adminKey, () => { seeding = false }) }),
    ...(isClusterWorker() ? { onServing: announceWorkerServing, clusterMetrics: clusterWorkerMetrics } : {})
  }).pipe(Layer.provide(clockLayer))
  NodeRuntime.runMain(Layer.launch(layer))
}

/** `chunyun restore`: a backup taken by `POST /admin/backups` into a fresh store (a new SQLite file or an empty PostgreSQL schema). */
const restoreCommand = async (args: ReadonlyArray<string>) => {
  const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { db: { type: "string" }, store: { type: "string" } } })
  const file = positionals[0]
  if (!file || positionals.length > 1) throw new UsageError("restore takes exactly one backup file")
  if ((values.db === undefined) === (values.store === undefined)) throw new UsageError("restore needs one target: --db (a new SQLite file) or --store (a PostgreSQL URL)")
  if (values.db !== undefined && existsSync(values.db)) throw new UsageError(`--db ${values.db} exists: restore writes a fresh store only`)
  if (values.store !== undefined && !isPostgresUrl(values.store)) throw new UsageError(`--store expects a postgres:// URL, got "${values.store}"`)
  const target = file.endsWith(".db")
    ? (values.db === undefined ? undefined : { kind: "sqlite-file" as const, filename: values.db })
    : { kind: "store" as const, store: values.db !== undefined ? sqliteStore({ filename: values.db }) : postgresStore({ url: values.store! }) }
  if (target === undefined) throw new UsageError("a SQLite backup file restores into --db only")
  await Effect.runPromise(restoreBackup(file, target).pipe(
    Effect.catchTag("BackupNotRestorable", (refused) => Effect.fail(new UsageError(refused.message)))))
  console.log(`chunyun: restored ${file} into ${values.db ?? values.store}`)
  return 0
}

/**
 * `chunyun matrix`: the scenario across every combination of server designs (simulator/Matrix.ts), one
 * report per combination and one comparison. Exit 1 when a run without the unsafe inventory broke an
 * invariant (the unsafe one is expected to, and its row shows the witness).
 */
const matrixCommand = async (args: ReadonlyArray<string>) => {
  const { values, positionals } = parseArgs({
    args: [...args], allowPositionals: true,
    options: {
      vary: { type: "string", multiple: true }, seed: { type: "string" }, out: { type: "string" }, mode: { type: "string" },
      passengers: { type: "string" }, "time-scale": { type: "string" }, unsafe: { type: "boolean" }, postgres: { type: "string" },
      "max-outside-load": { type: "string" }
    }
  })
  const file = positionals[0]
  if (!file || positionals.length > 1) throw new UsageError("matrix takes exactly one scenario file")
  const mode = values.mode ?? "auto"
  if (mode !== "auto" && mode !== "virtual" && mode !== "real") throw new UsageError(`--mode expects auto, virtual or real, got "${mode}"`)
  const postgresUrl = values.postgres ?? "postgres://root@127.0.0.1:5432/test"
  if (!isPostgresUrl(postgresUrl)) throw new UsageError(`--postgres expects a postgres:// URL, got "${postgresUrl}"`)
  const seed = integerOption("seed", values.seed, 42)
  const loaded = await loadScenario(file)
  const passengers = integerOption("passengers", values.passengers, loaded.passengers.count, 1)
  const scenario = { ...loaded, passengers: { ...loaded.passengers, count: passengers } }
  const outDir = resolve(values.out ?? `out/matrix-${scenario.name}-${seed}`)
  const maxOutsideCpuShare = shareOption("max-outside-load", values["max-outside-load"], defaultMaxOutsideCpuShare)
  try {
    const axes = (values.vary ?? []).map(parseVary)
    console.log(`chunyun matrix: ${scenario.name}, seed ${seed}, ${passengers} passengers${passengers === loaded.passengers.count ? "" : ` (scaled down from ${loaded.passengers.count})`}`)
    const matrix = await runMatrix({
      scenario, scenarioFile: file, axes, seed, mode, outDir, cliEntry: fileURLToPath(import.meta.url), postgresUrl,
      allowUnsafeInventory: values.unsafe === true, codeVersion: codeVersion(), startedAt: new Date().toISOString(),
      ...(values["time-scale"] === undefined ? {} : { timeScale: integerOption("time-scale", values["time-scale"], 1, 1) }),
      maxOutsideCpuShare,
      onRunStart: (combination, index, total) => console.log(`[${index + 1}/${total}] ${combination.label}`),
      onLoad: (_combination, event) => console.log(event.kind === "waited"
        ? `        waited ${Math.round(event.waitedMs / 1000)} s for a quiet machine (outside load ${formatShare(event.share)})`
        : `        outside load ${formatShare(event.share)} while it ran: ${event.rerun ? "running it again" : "flagged (loaded)"}`),
      onRow: (row) => console.log(`        issued ${row.ticketsIssued}, pay→issue p99 ${row.paymentToIssuanceP99Ms} ms, violations ${row.invariantViolations}, ${Math.round(row.wallDurationMs / 1000)} s`)
    })
    console.log(renderMatrixSummary(matrix))
    console.log(`matrix: ${join(outDir, "matrix.json")}
        ${join(outDir, "matrix.html")}`)
    const safeRowBroke = matrix.rows.some((row) => row.invariantViolations > 0 && (row.variant.inventory ?? scenario.server.inventory) !== "unsafe")
    return safeRowBroke ? exitInvariantViolated : 0
  } catch (error) {
    if (error instanceof MatrixUsageError) throw new UsageError(error.message)
    throw error
  }
}

/** `chunyun compare`: two report.json files side by side; exits 1 when the new one regressed. */
const compareCommand = (args: ReadonlyArray<string>) => {
  const { values, positionals } = parseArgs({
    args: [...args], allowPositionals: true, options: { tolerance: { type: "string" }, html: { type: "string" } }
  })
  const [baseFile, nextFile] = positionals
  if (baseFile === undefined || nextFile === undefined || positionals.length > 2) throw new UsageError("compare takes exactly two report files: <base.json> <new.json>")
  const tolerance = values.tolerance === undefined ? defaultCompareTolerancePercent : parseTolerancePercent(values.tolerance)
  if (typeof tolerance === "string") throw new UsageError(tolerance)
  const comparison = compareReports(loadReport(baseFile), loadReport(nextFile), tolerance)
  console.log(renderCompareSummary(comparison, baseFile, nextFile))
  if (values.html !== undefined) {
    const htmlPath = resolve(values.html)
    mkdirSync(dirname(htmlPath), { recursive: true })
    writeFileSync(htmlPath, renderCompareHtml(comparison, baseFile, nextFile))
    console.log(`comparison: ${htmlPath}`)
  }
  return comparison.regressed ? exitCompareRegressed : 0
}

/** `chunyun replay`: a recorded run again, in virtual mode on this code; exits 1 when an actor was answered differently. */
const replayCommand = async (args: ReadonlyArray<string>) => {
  const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { actor: { type: "string", multiple: true } } })
  const file = positionals[0]
  if (!file || positionals.length > 1) throw new UsageError("replay takes exactly one history file (the history.jsonl a run writes beside report.json)")
  const result = await replayHistory(file, {
    ...(values.actor === undefined ? {} : { actors: values.actor }),
    serverLogPath: join(dirname(resolve(file)), replayServerLogFileName),
    progress: (header) => {
      console.log(`chunyun replay: ${header.scenario.name}, seed ${header.seed}, ${header.scenario.passengers.count} passengers, again in virtual mode`)
      return progressPrinter(header.scenario, "virtual")
    }
  })
  console.log(renderReplay(result, codeVersion()))
  if (result.serverLog !== undefined) console.log(serverLogLine(result.serverLog.counts, shortPath(result.serverLog.path)))
  return result.differences.length > 0 ? exitReplayDiffers : 0
}

/**
 * `chunyun audit`: the auditor's invariants over a store left by any run (a k6 test's server, a served instance),
 * read without changing it (simulator/StoreAudit.ts). Exit 1 when one is broken, 2 when the store cannot be read.
 */
const auditCommand = async (args: ReadonlyArray<string>) => {
  const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { db: { type: "string" }, store: { type: "string" } } })
  if (positionals.length > 0) throw new UsageError(`audit takes no file of its own ("${positionals[0]}"): name the store with --db FILE or --store postgres://…`)
  if ((values.db === undefined) === (values.store === undefined)) throw new UsageError("audit needs one store: --db (a SQLite file) or --store (a PostgreSQL URL)")
  if (values.store !== undefined && !isPostgresUrl(values.store)) throw new UsageError(`--store expects a postgres:// URL, got "${values.store}"`)
  const target: AuditTarget = values.db !== undefined ? { kind: "sqlite", filename: values.db } : { kind: "postgres", url: values.store! }
  let invariants: Awaited<ReturnType<typeof auditStore>>
  try {
    invariants = await auditStore(target)
  } catch (error) {
    if (error instanceof StoreAuditRefused) throw new UsageError(error.message)
    throw error
  }
  console.log(renderStoreAudit(targetOption(target), invariants))
  return auditViolated(invariants) ? exitInvariantViolated : 0
}

/** `chunyun export-k6`: the scenario's load as a k6 script (reports/k6.ts), to a file or stdout. */
const exportK6Command = async (args: ReadonlyArray<string>) => {
  const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { out: { type: "string" }, "time-scale": { type: "string" } } })
  const file = positionals[0]
  if (!file || positionals.length > 1) throw new UsageError("export-k6 takes exactly one scenario file")
  const scenario = await loadScenario(file)
  // as run --mode real: the scenario's own time scale unless one is given
  const timeScale = integerOption("time-scale", values["time-scale"], scenario.real.timeScale, 1)
  if (timeScale > maxK6TimeScale) throw new UsageError(`--time-scale expects at most ${maxK6TimeScale}, got ${timeScale}`)
  const script = exportK6(scenario, timeScale)
  if (values.out === undefined) { process.stdout.write(script); return 0 }
  const outPath = resolve(values.out)
  mkdirSync(dirname(outPath), { recursive: true })
  writeFileSync(outPath, script)
  console.log(`k6 script: ${outPath}`)
  return 0
}

const main = async (argv: ReadonlyArray<string>) => {
  const [command, ...rest] = argv
  if (command === "help" || command === "--help" || command === "-h") { console.log(usageOf(rest[0])); return 0 }
  if (command === "run") return runCommand(rest)
  if (command === "serve") { await serveCommand(rest); return undefined }
  if (command === "restore") return restoreCommand(rest)
  if (command === "compare") return compareCommand(rest)
  if (command === "replay") return replayCommand(rest)
  if (command === "export-k6") return exportK6Command(rest)
  if (command === "matrix") return matrixCommand(rest)
  if (command === "audit") return auditCommand(rest)
  // not in the usage: the parent of a run with --driver-processes starts it (simulator/Drivers.ts)
  if (command === driverProcessCommand) return driverProcessMain()
  throw new UsageError(command ? `unknown command "${command}"` : "no command given")
}

/**
 * An event loop that empties before the command is done would exit 0 with nothing written. The virtual clock
 * turns that into an error (ClockStalled); if the loop empties again with the command still unfinished,
 * nothing else will: fail rather than exit 0.
 */
let commandDone = false
let loopEmptiedBeforeDone = 0
process.on("beforeExit", () => {
  if (commandDone) return
  if (++loopEmptiedBeforeDone === 1) { setImmediate(() => undefined); return }
  console.error("chunyun: run failed: nothing was left to do while the command was unfinished (a fiber waits on something that never comes)")
  process.exit(exitRunFailed)
})

main(process.argv.slice(2)).then(
  (code) => { commandDone = true; if (code !== undefined) process.exit(code) },
  (error: unknown) => {
    commandDone = true
    const command = process.argv[2]
    if (error instanceof UsageError) console.error(`chunyun: ${error.message}\n${usageOf(command)}`)
    else if (error instanceof ThresholdError) console.error(`chunyun: ${error.message}`)
    else if (error instanceof ScenarioFileError) console.error(`chunyun: invalid scenario\n${error.message}`)
    else if (error instanceof ReportFileError) console.error(`chunyun: invalid report\n${error.message}`)
    else if (error instanceof HistoryFileError) console.error(`chunyun: invalid history file\n${error.message}`)
    else if (error instanceof TargetRefused) console.error(`chunyun: ${error.message}`)
    else if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      console.error(`chunyun: ${parseArgsMessage(error, command)}\n${usageOf(command)}`)
    }
    else {
      console.error("chunyun: run failed:", error instanceof ClockStalled ? error.message : error)
      process.exit(exitRunFailed)
    }
    process.exit(exitUsageError)
  }
)
