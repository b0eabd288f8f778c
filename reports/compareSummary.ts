/**
 * A comparison as a plain-text table for stdout, in the style of summary.ts: no colours (CI logs),
 * control characters in report strings made visible.
 */
import type { Comparison, CompareRow } from "./compare.js"
import { rowName } from "./compare.js"
import { escapeControlCharacters } from "./escape.js"
import { formatCount, formatMs, formatTable, notANumberText } from "./format.js"
import { formatRate } from "./rates.js"

/** what a row shows for a metric one report lacks */
export const missingValueText = "missing"

export const formatRowValue = (compared: CompareRow, value: number): string =>
  compared.verdict === "not compared" && Number.isNaN(value) ? missingValueText
    : compared.kind === "latency" ? formatMs(value) : compared.kind === "throughput" ? formatRate(value) : formatCount(value)

export const formatAbsoluteChange = (compared: CompareRow): string => {
  if (compared.verdict === "not compared") return ""
  const change = compared.absoluteChange
  if (!Number.isFinite(change)) return notANumberText
  return change > 0 ? `+${formatRowValue(compared, change)}` : change < 0 ? `-${formatRowValue(compared, -change)}` : "0"
}

export const formatRelativeChange = (compared: CompareRow): string => {
  if (compared.verdict === "not compared") return ""
  const change = compared.relativeChangePercent
  if (Number.isNaN(change)) return notANumberText
  if (!Number.isFinite(change)) return "from 0"
  return `${change > 0 ? "+" : ""}${change.toFixed(1)}%`
}

const signedPercent = (value: number): string =>
  Number.isNaN(value) ? notANumberText : !Number.isFinite(value) ? (value > 0 ? "+inf" : "-inf") : `${value > 0 ? "+" : ""}${value.toFixed(1)}`

/** "-1.2 … +7.4": the row's interval of the relative change in percent, empty for a row without one */
export const formatInterval = (compared: CompareRow): string =>
  compared.interval === undefined ? "" : `${signedPercent(compared.interval.lowPercent)} … ${signedPercent(compared.interval.highPercent)}`

/** how the rows were judged, in one sentence under the header */
export const ruleOf = (comparison: Comparison): string =>
  `rates and payment->issuance p50-p99.9: better or worse only when the ${comparison.confidencePercent}% bootstrap interval ` +
  `of the change (the buckets of each run's series resampled) excludes 0 and the change is beyond ${comparison.tolerancePercent}%; ` +
  `counts: the same, with the ${comparison.confidencePercent}% interval of two Poisson counts (a kind of error new in the new run: worse); ` +
  `other rows: the ${comparison.tolerancePercent}% tolerance; invariants: any new violation`

/** The rows judged otherwise than usual, grouped by why: "missing from the base report (version 2): throughput peakIssuedPerSecond, …". */
export const notesOf = (comparison: Comparison): Array<string> => {
  const rowsByNote = new Map<string, Array<string>>()
  for (const compared of comparison.rows) {
    if (compared.note === undefined) continue
    rowsByNote.set(compared.note, [...(rowsByNote.get(compared.note) ?? []), rowName(compared)])
  }
  return [...rowsByNote].map(([note, names]) => `note: ${escapeControlCharacters(note)}: ${names.map(escapeControlCharacters).join(", ")}`)
}

export const renderCompareSummary = (comparison: Comparison, baseName: string, nextName: string): string => {
  const header = [
    `Chunyun compare: ${escapeControlCharacters(baseName)} -> ${escapeControlCharacters(nextName)} (tolerance ${comparison.tolerancePercent}%)`,
    ruleOf(comparison)
  ]
  const warnings = comparison.mismatches.map((mismatch) => `warning: ${escapeControlCharacters(mismatch)}`)
  const table = formatTable([
    ["section", "metric", "base", "new", "change", "change %", `${comparison.confidencePercent}% CI`, "verdict"],
    ...comparison.rows.map((compared) => [
      compared.section, escapeControlCharacters(compared.metric),
      formatRowValue(compared, compared.base), formatRowValue(compared, compared.next),
      formatAbsoluteChange(compared), formatRelativeChange(compared), formatInterval(compared), compared.verdict
    ])
  ], ["left", "left", "right", "right", "right", "right", "right", "left"])
  const notes = notesOf(comparison)
  const verdict = comparison.regressed
    ? `Result: WORSE (${comparison.regressions.length} row(s) worse: ${comparison.regressions.map((compared) => escapeControlCharacters(rowName(compared))).join(", ")})`
    : "Result: no regression"
  return [header, warnings, table, notes, [verdict]].filter((section) => section.length > 0).map((section) => section.join("\n")).join("\n\n") + "\n"
}
