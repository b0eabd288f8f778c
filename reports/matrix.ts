/**
 * The design matrix's comparison: a row per combination of server designs, from its run report
 * and its history, the best value of each column marked. JSON first (this schema), then the text table
 * and the HTML page (matrixHtml.ts) are rendered from it.
 */
import { Schema } from "effect"
import type { History } from "../simulator/History.js"
import { isHeld, summarize } from "./metrics.js"
import { overWindowRateOf } from "./rates.js"
import type { Report } from "./Report.js"

/** witness lines a row keeps per broken invariant (the run's report has the rest) */
export const maxWitnessLinesPerInvariant = 5

/** the ids an auditor's witness names: orders, tickets, charges, print jobs… (a letter and 16+ hex digits) */
const namedIdPattern = /\b[A-Z][0-9a-f]{16,}\b/g

/**
 * What a row shows of an invariant's witness: its first violation (a line at the left margin) and, of the
 * history lines under it, those naming an id the violation names (the two holds of a double booking, not
 * the searches before them); the first lines under it when none does.
 */
export const witnessExcerpt = (lines: ReadonlyArray<string>, maxLines = maxWitnessLinesPerInvariant): ReadonlyArray<string> => {
  const [first, ...rest] = lines
  if (first === undefined) return []
  const nextViolation = rest.findIndex((line) => !/^\s/.test(line))
  const under = nextViolation === -1 ? rest : rest.slice(0, nextViolation)
  const ids = first.match(namedIdPattern) ?? []
  const naming = under.filter((line) => ids.some((id) => line.includes(id)))
  return [first, ...(naming.length > 0 ? naming : under)].slice(0, maxLines)
}

export const MatrixRow = Schema.Struct({
  label: Schema.String,
  variant: Schema.Record({ key: Schema.String, value: Schema.String }),
  mode: Schema.Literal("virtual", "real"),
  /** the run's report.json, relative to the matrix's directory */
  reportPath: Schema.String,
  wallDurationMs: Schema.Number,
  ordersHeld: Schema.Number,
  ticketsIssued: Schema.Number,
  issuedPerSecond: Schema.Number,
  paymentToIssuanceP50Ms: Schema.Number,
  paymentToIssuanceP90Ms: Schema.Number,
  paymentToIssuanceP99Ms: Schema.Number,
  holdP99Ms: Schema.Number,
  /** holds whose claim lost at least one race (wrote more than once) */
  holdConflicts: Schema.Number,
  /** seat writes beyond the first, summed over holds */
  holdRetries: Schema.Number,
  /** waiting queue / group commit: time in line, ms */
  queueWaitP50Ms: Schema.Number,
  queueWaitP99Ms: Schema.Number,
  maxQueuePosition: Schema.Number,
  errors: Schema.Number,
  errorsByTag: Schema.Record({ key: Schema.String, value: Schema.Number }),
  invariantViolations: Schema.Number,
  /**
   * the machine's CPU busy with work that is not the run's own, as a share of its capacity
   * (simulator/HostLoad.ts); absent where it cannot be read
   */
  outsideCpuShare: Schema.optional(Schema.Number),
  /** real mode, and the outside share above the matrix's limit even after one re-run: not comparable */
  underOutsideLoad: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** "invariant: witness line", first few per broken invariant */
  witness: Schema.Array(Schema.String),
  /** command lines that look at a broken row again (this combination alone, and its actors' replay) */
  replay: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** columns where this row has the best value of the matrix */
  best: Schema.Array(Schema.String)
})
export type MatrixRow = typeof MatrixRow.Type

export const Matrix = Schema.Struct({
  scenario: Schema.String,
  seed: Schema.Number,
  mode: Schema.Literal("virtual", "real"),
  passengers: Schema.Number,
  startedAt: Schema.String,
  codeVersion: Schema.String,
  axes: Schema.Array(Schema.Struct({ key: Schema.String, values: Schema.Array(Schema.String) })),
  rows: Schema.Array(MatrixRow),
  /** a real-mode row whose outside CPU share is above this is flagged and takes no best marks */
  maxOutsideCpuShare: Schema.optional(Schema.Number),
  notes: Schema.Array(Schema.String)
})
export type Matrix = typeof Matrix.Type

type NumericColumn = { [K in keyof MatrixRow]-?: MatrixRow[K] extends number ? K : never }[keyof MatrixRow]

/** The columns compared, each with the direction that is better. */
export const comparedColumns: ReadonlyArray<{ readonly column: NumericColumn; readonly better: "higher" | "lower" }> = [
  { column: "ticketsIssued", better: "higher" },
  { column: "issuedPerSecond", better: "higher" },
  { column: "paymentToIssuanceP50Ms", better: "lower" },
  { column: "paymentToIssuanceP99Ms", better: "lower" },
  { column: "holdP99Ms", better: "lower" },
  { column: "holdConflicts", better: "lower" },
  { column: "queueWaitP99Ms", better: "lower" },
  { column: "errors", better: "lower" },
  { column: "invariantViolations", better: "lower" }
]

const holdDetails = (history: History) =>
  history.filter(isHeld).map((event) => event.detail ?? {})

/**
 * A row without its `best` marks: from the run's report and its history. `serverMsPerWallMs`: how fast the
 * server's clock ran (real mode's time scale): the queue waits it reports are divided by it, so they are
 * wall-clock ms like the latencies the phones measured.
 */
export const rowOf = (
  label: string, variant: Readonly<Record<string, string>>, reportPath: string, report: Report, history: History, serverMsPerWallMs = 1
): MatrixRow => {
  const holds = holdDetails(history)
  const attempts = holds.map((detail) => Number(detail.claimAttempts ?? 1))
  const waits = holds.filter((detail) => detail.queueWaitMs !== undefined).map((detail) => Number(detail.queueWaitMs) / serverMsPerWallMs)
  const queueWait = summarize(waits)
  const broken = report.invariants.filter((invariant) => invariant.violations > 0)
  return {
    label, variant: { ...variant }, mode: report.mode, reportPath, wallDurationMs: report.wallDurationMs,
    ordersHeld: report.counts.ordersHeld, ticketsIssued: report.counts.ticketsIssued,
    issuedPerSecond: overWindowRateOf(report),
    paymentToIssuanceP50Ms: report.latency.paymentToIssuance.p50,
    paymentToIssuanceP90Ms: report.latency.paymentToIssuance.p90,
    paymentToIssuanceP99Ms: report.latency.paymentToIssuance.p99,
    holdP99Ms: report.latency.hold.p99,
    holdConflicts: attempts.filter((count) => count > 1).length,
    holdRetries: attempts.reduce((sum, count) => sum + Math.max(0, count - 1), 0),
    queueWaitP50Ms: queueWait.p50, queueWaitP99Ms: queueWait.p99,
    maxQueuePosition: holds.reduce((max, detail) => Math.max(max, Number(detail.queuePosition ?? 0)), 0),
    errors: Object.values(report.counts.errorsByTag).reduce((sum, count) => sum + count, 0),
    errorsByTag: { ...report.counts.errorsByTag },
    invariantViolations: broken.reduce((sum, invariant) => sum + invariant.violations, 0),
    witness: broken.flatMap((invariant) => witnessExcerpt(invariant.witness ?? []).map((line) => `${invariant.name}: ${line}`)),
    underOutsideLoad: false,
    replay: [],
    best: []
  }
}

/**
 * Marks, in each compared column, the rows holding the best value (ties all marked; one row marks nothing).
 * A row measured under outside load, or one that broke an invariant (the unsafe design sells more seats
 * than there are, faster), is not compared: it takes no mark and sets no best value.
 */
export const markBest = (rows: ReadonlyArray<MatrixRow>): ReadonlyArray<MatrixRow> => {
  const isCompared = (row: MatrixRow) => !row.underOutsideLoad && row.invariantViolations === 0
  const compared = rows.filter(isCompared)
  if (compared.length < 2) return rows.map((row) => ({ ...row, best: [] }))
  const bestByColumn = new Map(comparedColumns.map(({ column, better }) => {
    const values = compared.map((row) => row[column])
    return [column, better === "higher" ? Math.max(...values) : Math.min(...values)] as const
  }))
  return rows.map((row) => ({
    ...row,
    best: !isCompared(row) ? [] : comparedColumns
      .filter(({ column }) => compared.some((other) => other[column] !== row[column]) && row[column] === bestByColumn.get(column))
      .map(({ column }) => column)
  }))
}
