/**
 * A scenario run as a library, the same steps for `chunyun run` and `chunyun matrix`:
 * - `runIn`: run the scenario where it is meant to run (virtual mode; a server of the run's own on SQLite or on
 *   PostgreSQL, driven from one process or several; a server already running), audited as each runner audits;
 * - `writeRun`: the report of an outcome, and the files beside it (report.json, report.html, history.jsonl);
 * - `runScenario`: the two, one after the other.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import type { Report } from "../reports/Report.js"
import type { Threshold } from "../reports/thresholds.js"
import { writeReport } from "../reports/write.js"
import type { Scenario } from "../scenarios/Scenario.js"
import { runRealPostgres } from "./MatrixReal.js"
import type { RunProgress } from "./Progress.js"
import { runReal } from "./Real.js"
import { historyFileName, writeHistoryFile } from "./Replay.js"
import type { HistoryHeader } from "./Replay.js"
import { buildReport } from "../reports/assemble.js"
import { runTarget } from "./Target.js"
import type { TargetRunOptions } from "./Target.js"
import { runVirtual } from "./Virtual.js"
import type { RunOptions, RunOutcome } from "./Virtual.js"

/** Where a run's server is, and how the run drives it. */
export type RunWhere =
  | { readonly kind: "virtual" }
  | {
    /** `chunyun serve` as a child of the run, on a fresh SQLite file, or on PostgreSQL in a schema of the run's own (dropped after) */
    readonly kind: "own-server"
    /** the CLI the server (and any driver process) runs */
    readonly cliEntry: string
    readonly timeScale: number
    readonly postgres?: { readonly url: string; readonly schema: string; readonly workers: number }
    /** driver processes, each with its share of the passengers (simulator/Drivers.ts); default 1 */
    readonly driverProcesses?: number
  }
  | { readonly kind: "target"; readonly options: TargetRunOptions }

/** What a run left: the outcome of any mode, and real mode's dropped arrivals. */
export type AnyRunOutcome = RunOutcome & { readonly dropped?: number }

/** Run `scenario` where `where` says; the outcome is audited. */
export const runIn = (
  scenario: Scenario, seed: number, where: RunWhere, options: RunOptions = {}, onProgress?: (progress: RunProgress) => void
): Promise<AnyRunOutcome> => {
  if (where.kind === "virtual") return runVirtual(scenario, seed, onProgress, options)
  if (where.kind === "target") return runTarget(scenario, seed, where.options, onProgress, options.onHistoryEvent)
  const real = { ...options, ...(where.driverProcesses === undefined ? {} : { driverProcesses: where.driverProcesses }) }
  if (where.postgres === undefined) return runReal(scenario, seed, where.cliEntry, where.timeScale, onProgress, real)
  return runRealPostgres(scenario, seed, where.cliEntry, where.timeScale, { ...real, ...where.postgres }, onProgress)
}

export interface WriteRunOptions {
  readonly scenario: Scenario
  /** the scenario file as named on the command line, for the history's header and replay commands */
  readonly scenarioFile: string
  readonly seed: number
  readonly mode: "virtual" | "real"
  readonly outcome: AnyRunOutcome
  readonly outDir: string
  readonly codeVersion: string
  readonly startedAt: string
  readonly wallDurationMs: number
  readonly notes: ReadonlyArray<string>
  readonly extraThresholds?: ReadonlyArray<Threshold>
  /** the base URL of a server the run drove without starting it */
  readonly target?: string
  /** the run's options as the history's header records them, for replay */
  readonly historyOptions: HistoryHeader["options"]
  /** the report as written: given the report and the history file's path (e.g. to add the commands that replay it) */
  readonly finish?: (report: Report, historyPath: string) => Report
}

export interface WrittenRun {
  readonly report: Report
  readonly jsonPath: string
  readonly htmlPath: string
  readonly historyPath: string
}

/** The report of `options.outcome`, written to `options.outDir` with the history beside it. */
export const writeRun = async (options: WriteRunOptions): Promise<WrittenRun> => {
  const built = buildReport({
    scenario: options.scenario, seed: options.seed, mode: options.mode, outcome: options.outcome, codeVersion: options.codeVersion,
    startedAt: options.startedAt, wallDurationMs: options.wallDurationMs, notes: options.notes,
    ...(options.extraThresholds === undefined ? {} : { extraThresholds: options.extraThresholds }),
    ...(options.target === undefined ? {} : { target: options.target })
  })
  mkdirSync(options.outDir, { recursive: true })
  const historyPath = join(options.outDir, historyFileName)
  writeHistoryFile(historyPath, {
    scenarioFile: options.scenarioFile, scenario: options.scenario, seed: options.seed, mode: options.mode,
    options: options.historyOptions, codeVersion: options.codeVersion
  }, options.outcome.history)
  const report = options.finish === undefined ? built : options.finish(built, historyPath)
  const written = await Effect.runPromise(writeReport(options.outDir, report).pipe(Effect.provide(NodeContext.layer)))
  return { report, jsonPath: written.jsonPath, htmlPath: written.htmlPath, historyPath }
}

/**
 * Run a scenario and write its report: `runIn`, then `writeRun` with the notes `notesOf` gives for the outcome.
 * The wall duration is the run's, from its start to its audit's end.
 */
export const runScenario = async (
  options: Omit<WriteRunOptions, "outcome" | "wallDurationMs" | "notes" | "startedAt" | "mode"> & {
    readonly where: RunWhere
    readonly runOptions?: RunOptions
    readonly onProgress?: (progress: RunProgress) => void
    readonly notesOf?: (outcome: AnyRunOutcome) => ReadonlyArray<string>
    /** told of the outcome before the report is built (the progress display's last line) */
    readonly onOutcome?: (outcome: AnyRunOutcome) => void
    /** when the run started, as the report's `startedAt` shows it: the caller's wall clock, not the simulation's */
    readonly startedAt: string
  }
): Promise<WrittenRun & { readonly outcome: AnyRunOutcome }> => {
  // the report's wall duration measures the harness itself; it never enters the history
  const wallStartMs = performance.now()
  const outcome = await runIn(options.scenario, options.seed, options.where, options.runOptions, options.onProgress)
  const wallDurationMs = performance.now() - wallStartMs
  options.onOutcome?.(outcome)
  const written = await writeRun({
    ...options, outcome, wallDurationMs, mode: options.where.kind === "virtual" ? "virtual" : "real",
    notes: options.notesOf?.(outcome) ?? []
  })
  return { ...written, outcome }
}
