/**
 * Runs the design matrix (Matrix.ts): each combination in turn (one at a time, so they do not compete
 * for the machine), its own report in `<out>/<slug>/`, then the comparison in `<out>/matrix.json` and
 * `<out>/matrix.html`.
 *
 * Real-mode rows are wall-clock measurements, so each waits for a quiet machine first and reads how busy
 * the machine was with other work while it ran (HostLoad.ts). A row above the limit runs once more after
 * waiting for quiet; if it is still loaded it is flagged, and takes no part in the best-value marks.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { Schema } from "effect"
import { formatShare } from "../reports/format.js"
import { markBest, Matrix, rowOf } from "../reports/matrix.js"
import type { MatrixRow } from "../reports/matrix.js"
import { renderMatrixHtml } from "../reports/matrixHtml.js"
import type { Scenario } from "../scenarios/Scenario.js"
import { defaultMaxOutsideCpuShare, measureQuietly } from "./HostLoad.js"
import type { HostProbe, LoadEvent } from "./HostLoad.js"
import { combinations, freshSchemaName, modeOf } from "./Matrix.js"
import type { Combination, MatrixAxis, MatrixMode } from "./Matrix.js"
import { shellWord, shortPath } from "./Replay.js"
import { runIn, writeRun } from "./RunScenario.js"
import type { RunWhere } from "./RunScenario.js"

export interface MatrixOptions {
  readonly scenario: Scenario
  /** the scenario file as named on the command line, for the rows' replay commands */
  readonly scenarioFile: string
  readonly axes: ReadonlyArray<MatrixAxis>
  readonly seed: number
  readonly mode: MatrixMode
  readonly outDir: string
  /** the `chunyun` entry point real mode starts servers from */
  readonly cliEntry: string
  readonly postgresUrl: string
  readonly allowUnsafeInventory: boolean
  /** real mode's speed-up; the scenario's own when undefined */
  readonly timeScale?: number
  readonly codeVersion: string
  readonly startedAt: string
  /** a real-mode row measured while other work kept more than this share of the machine busy is flagged */
  readonly maxOutsideCpuShare?: number
  readonly onRunStart?: (combination: Combination, index: number, total: number) => void
  /** a real-mode row is about to wait for the machine to become quiet, or to run again after a loaded run */
  readonly onLoad?: (combination: Combination, event: LoadEvent) => void
  readonly onRow?: (row: MatrixRow) => void
  /** where the load readings come from (tests); the machine's /proc by default */
  readonly host?: HostProbe
}

/** commands whose CPU time counts as the run's own: PostgreSQL's processes serve a PostgreSQL row */
const ownCommandsOf = (combination: Combination): ReadonlyArray<string> => combination.store.kind === "postgres" ? ["postgres"] : []


/** real mode's speed-up: the matrix's own, else the scenario's */
const timeScaleOf = (combination: Combination, options: MatrixOptions) => options.timeScale ?? combination.scenario.real.timeScale

/** Where a combination runs: virtual mode, or a server of its own on its store. */
const whereOf = (combination: Combination, index: number, mode: "virtual" | "real", options: MatrixOptions): RunWhere => {
  if (mode === "virtual") return { kind: "virtual" }
  const own = { kind: "own-server" as const, cliEntry: options.cliEntry, timeScale: timeScaleOf(combination, options) }
  if (combination.store.kind !== "postgres") return own
  return { ...own, postgres: { url: options.postgresUrl, schema: freshSchemaName(index), workers: combination.store.workers } }
}

/**
 * How to look at a broken row again: the matrix of that one combination (real mode repeats the design,
 * not the interleaving), and the recorded sessions of the actors its witness names, replayed virtually.
 */
export const replayCommandsOfRow = (
  options: Pick<MatrixOptions, "scenarioFile" | "seed" | "allowUnsafeInventory">, mode: "virtual" | "real", combination: Combination,
  historyFile: string, actors: ReadonlyArray<string>
): ReadonlyArray<string> => [
  ["npx", "chunyun", "matrix", options.scenarioFile, "--seed", String(options.seed), "--mode", mode,
    "--passengers", String(combination.scenario.passengers.count),
    ...Object.entries(combination.variant).flatMap(([key, value]) => ["--vary", `${key}=${value}`]),
    ...(options.allowUnsafeInventory ? ["--unsafe"] : [])].map(shellWord).join(" "),
  ["npx", "chunyun", "replay", historyFile, ...actors.flatMap((actor) => ["--actor", actor])].map(shellWord).join(" ")
]

export const runMatrix = async (options: MatrixOptions): Promise<Matrix> => {
  const all = combinations(options.scenario, options.axes)
  const mode = modeOf(options.mode, all)
  if (!options.allowUnsafeInventory && all.some((combination) => combination.scenario.server.inventory === "unsafe")) {
    throw new Error("the unsafe inventory double-books by design: add --unsafe to run it")
  }
  mkdirSync(options.outDir, { recursive: true })
  const rows: Array<MatrixRow> = []
  const maxShare = options.maxOutsideCpuShare ?? defaultMaxOutsideCpuShare
  for (const [index, combination] of all.entries()) {
    options.onRunStart?.(combination, index, all.length)
    const { value: outcome, wallDurationMs, share, underOutsideLoad } = await measureQuietly(
      () => runIn(combination.scenario, options.seed, whereOf(combination, index, mode, options), { allowUnsafeInventory: options.allowUnsafeInventory }), {
        wallClock: mode === "real", maxShare, alsoOwn: ownCommandsOf(combination),
        ...(options.host ? { host: options.host } : {}), onLoad: (event) => options.onLoad?.(combination, event)
      })
    const notes = outcome.dropped !== undefined ? [`Real mode: ${outcome.dropped} arrivals dropped (more than ${combination.scenario.real.maxPassengersInFlight} in flight).`] : []
    const { report, jsonPath, historyPath } = await writeRun({
      scenario: combination.scenario, scenarioFile: options.scenarioFile, seed: options.seed, mode, outcome, outDir: join(options.outDir, combination.slug),
      codeVersion: options.codeVersion, startedAt: options.startedAt, wallDurationMs,
      historyOptions: { inventory: combination.scenario.server.inventory, unsafe: options.allowUnsafeInventory },
      notes: [
        `Design matrix combination ${combination.label}.`, ...notes,
        `Outside load while it ran: ${formatShare(share)} of the machine busy with other work${underOutsideLoad ? ` (above the matrix's ${formatShare(maxShare)}: not comparable)` : ""}.`
      ]
    })
    const broken = report.invariants.filter((invariant) => invariant.violations > 0)
    const row = {
      ...rowOf(combination.label, combination.variant, relative(options.outDir, jsonPath), report, outcome.history,
        mode === "real" ? timeScaleOf(combination, options) : 1),
      ...(share === undefined ? {} : { outsideCpuShare: share }), underOutsideLoad,
      replay: broken.length === 0 ? [] : replayCommandsOfRow(options, mode, combination, shortPath(historyPath),
        [...new Set(broken.flatMap((invariant) => invariant.actors ?? []))])
    }
    rows.push(row)
    options.onRow?.(row)
  }
  const matrix: Matrix = {
    scenario: options.scenario.name, seed: options.seed, mode, passengers: options.scenario.passengers.count,
    startedAt: options.startedAt, codeVersion: options.codeVersion, axes: options.axes.map((axis) => ({ key: axis.key, values: [...axis.values] })),
    rows: markBest(rows), maxOutsideCpuShare: maxShare,
    notes: [
      mode === "virtual"
        ? "Virtual mode: server work takes no virtual time and requests run one at a time, so latencies are the designed-in waits (network, polling, callbacks), not contention."
        : `Real mode: latencies are wall-clock ms on this machine, measured from each request's start; every combination ran alone, one after the other, each after waiting for the machine to be quiet. A row measured while other work kept more than ${formatShare(maxShare)} of the machine busy ran once more; if still loaded it is flagged and takes no best marks.`,
      "conflicts/retries: holds whose seat write lost a race / the extra writes they made (the optimistic variant's version check). Queue wait: time in the waiting queue or a group commit's window."
    ]
  }
  writeFileSync(join(options.outDir, "matrix.json"), JSON.stringify(Schema.encodeSync(Matrix)(matrix), null, 2) + "\n")
  writeFileSync(join(options.outDir, "matrix.html"), renderMatrixHtml(matrix))
  return matrix
}
