/**
 * The design matrix as text (stdout) and as one self-contained HTML page (inline CSS, no scripts, every
 * string escaped): a row per combination, the best value of each column marked, each row linking to its
 * own run report, and the witness of any broken invariant under the table.
 */
import { escapeControlCharacters, escapeHtml } from "./escape.js"
import { formatCount, formatDuration, formatShare, formatTable } from "./format.js"
import type { Matrix, MatrixRow } from "./matrix.js"

interface Column { readonly key: string; readonly title: string; readonly text: (row: MatrixRow) => string }

const ms = (value: number) => formatCount(value)
const columns: ReadonlyArray<Column> = [
  { key: "ticketsIssued", title: "issued", text: (row) => formatCount(row.ticketsIssued) },
  { key: "issuedPerSecond", title: "issued/s", text: (row) => formatCount(row.issuedPerSecond, 2) },
  { key: "paymentToIssuanceP50Ms", title: "pay→issue p50", text: (row) => ms(row.paymentToIssuanceP50Ms) },
  { key: "paymentToIssuanceP99Ms", title: "pay→issue p99", text: (row) => ms(row.paymentToIssuanceP99Ms) },
  { key: "holdP99Ms", title: "hold p99", text: (row) => ms(row.holdP99Ms) },
  { key: "holdConflicts", title: "conflicts/retries", text: (row) => `${formatCount(row.holdConflicts)}/${formatCount(row.holdRetries)}` },
  { key: "queueWaitP99Ms", title: "queue wait p50/p99 (max pos)", text: (row) => `${ms(row.queueWaitP50Ms)}/${ms(row.queueWaitP99Ms)} (${row.maxQueuePosition})` },
  { key: "errors", title: "errors", text: (row) => formatCount(row.errors) },
  { key: "invariantViolations", title: "violations", text: (row) => formatCount(row.invariantViolations) }
]

/** a row without a reading (no /proc) shows a dash */
const percent = (share: number | undefined) => formatShare(share, "–")
/** the marker of a row measured under outside load, after its label */
export const loadedMarker = "(loaded)"
const labelOf = (row: MatrixRow) => row.underOutsideLoad ? `${row.label} ${loadedMarker}` : row.label

const loadedWarning = (matrix: Matrix): ReadonlyArray<string> => {
  const loaded = matrix.rows.filter((row) => row.underOutsideLoad)
  if (loaded.length === 0) return []
  return [`${loaded.length} of ${matrix.rows.length} rows ${loadedMarker} ran while other work kept more than ${percent(matrix.maxOutsideCpuShare)} of the machine busy, even after a re-run: their numbers are not comparable with the others (they take no best marks); re-run the matrix on a quiet machine.`]
}

const topErrors = (row: MatrixRow, count = 3) =>
  Object.entries(row.errorsByTag).sort(([, a], [, b]) => b - a).slice(0, count).map(([tag, n]) => `${tag} ${n}`).join(", ")

/** The table for a terminal: `*` marks the best value of a column. */
export const renderMatrixSummary = (matrix: Matrix): string => {
  const header = ["variant", "mode", ...columns.map((column) => column.title), "wall", "outside load", "top errors"]
  const body = matrix.rows.map((row) => [
    escapeControlCharacters(labelOf(row)), row.mode,
    ...columns.map((column) => `${column.text(row)}${row.best.includes(column.key) ? "*" : ""}`),
    formatDuration(row.wallDurationMs), percent(row.outsideCpuShare), escapeControlCharacters(topErrors(row))
  ])
  const table = formatTable([header, ...body], ["left", "left", ...columns.map(() => "right" as const), "right", "right", "left"])
  const witnesses = matrix.rows.filter((row) => row.witness.length > 0)
    .flatMap((row) => [
      `${escapeControlCharacters(row.label)}: ${row.invariantViolations} violation(s)`, ...row.witness.map((line) => `  ${escapeControlCharacters(line)}`),
      ...row.replay.map((command) => `  replay: ${escapeControlCharacters(command)}`)
    ])
  return [
    `matrix: ${matrix.scenario}, seed ${matrix.seed}, ${matrix.mode} mode, ${matrix.passengers} passengers, ${matrix.rows.length} combinations (* best)`,
    ...table, ...(witnesses.length > 0 ? ["", ...witnesses] : []), ...loadedWarning(matrix).map((line) => `warning: ${line}`),
    ...matrix.notes.map((note) => `note: ${note}`)
  ].join("\n")
}

const styles = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #1f2328; }
h1 { font-size: 1.6rem; margin-bottom: 0.25rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.best { background: #e6f4ea; color: #1e6b34; font-weight: 600; }
tr.violated td.violations { background: #fde8e8; color: #b3261e; font-weight: 600; }
tr.loaded td { color: #6e7781; font-style: italic; }
p.warning { background: #fff8c5; border: 1px solid #d4a72c; padding: 0.5rem 0.75rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85rem; }
`
// Blocks scripts and every external fetch even if some string slipped past escaping.
const contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'"

const rowHtml = (row: MatrixRow): string =>
  `<tr class="${[row.invariantViolations > 0 ? "violated" : "", row.underOutsideLoad ? "loaded" : ""].filter(Boolean).join(" ")}">` +
  `<td><a href="${escapeHtml(row.reportPath.replace(/report\.json$/, "report.html"))}"><code>${escapeHtml(labelOf(row))}</code></a></td>` +
  `<td>${escapeHtml(row.mode)}</td>` +
  columns.map((column) => {
    const classes = ["number", row.best.includes(column.key) ? "best" : "", column.key === "invariantViolations" ? "violations" : ""].filter(Boolean).join(" ")
    return `<td class="${classes}">${escapeHtml(column.text(row))}</td>`
  }).join("") +
  `<td class="number">${escapeHtml(formatDuration(row.wallDurationMs))}</td><td class="number">${escapeHtml(percent(row.outsideCpuShare))}</td><td>${escapeHtml(topErrors(row))}</td></tr>`

const witnessHtml = (row: MatrixRow): string =>
  `<h3><code>${escapeHtml(row.label)}</code>: ${row.invariantViolations} violation(s)</h3><pre>${row.witness.map(escapeHtml).join("\n")}</pre>` +
  (row.replay.length === 0 ? "" : `<p>Look again:</p><pre>${row.replay.map(escapeHtml).join("\n")}</pre>`)

export const renderMatrixHtml = (matrix: Matrix): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy}">
<title>Chunyun design matrix: ${escapeHtml(matrix.scenario)}</title><style>${styles}</style></head><body>
<h1>Design matrix: ${escapeHtml(matrix.scenario)}</h1>
<p>Seed ${matrix.seed}, ${escapeHtml(matrix.mode)} mode, ${matrix.passengers} passengers, ${matrix.rows.length} combinations; code ${escapeHtml(matrix.codeVersion)}, started ${escapeHtml(matrix.startedAt)}.
Axes: ${matrix.axes.map((axis) => `<code>${escapeHtml(axis.key)}=${escapeHtml(axis.values.join(","))}</code>`).join(" ")}. Green: the best value of its column.</p>
<table><thead><tr><th>variant (its report)</th><th>mode</th>${columns.map((column) => `<th>${escapeHtml(column.title)}</th>`).join("")}<th>wall</th><th>outside load</th><th>top errors</th></tr></thead>
<tbody>${matrix.rows.map(rowHtml).join("\n")}</tbody></table>
${loadedWarning(matrix).map((line) => `<p class="warning">${escapeHtml(line)}</p>`).join("\n")}
${matrix.rows.filter((row) => row.witness.length > 0).map(witnessHtml).join("\n")}
<ul>${matrix.notes.map((note) => `<li>${escapeHtml(note)}</li>`).join("")}</ul>
</body></html>
`
