/**
 * A comparison as one self-contained HTML page, in the style of html.ts: inline CSS, no scripts,
 * no external resources, every report string escaped. Verdicts are coloured by row.
 */
import type { Comparison, CompareRow, RowVerdict } from "./compare.js"
import { rowName } from "./compare.js"
import { formatAbsoluteChange, formatInterval, formatRelativeChange, formatRowValue, ruleOf } from "./compareSummary.js"
import { escapeHtml } from "./escape.js"

const styles = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 960px; padding: 0 1rem; color: #1f2328; }
h1 { font-size: 1.6rem; margin-bottom: 0.25rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85rem; }
tr.worse td { background: #fde8e8; color: #b3261e; }
tr.better td { background: #e6f4ea; color: #1e6b34; }
tr.noise td { color: #57606a; }
tr.missing td { color: #57606a; font-style: italic; }
.warning { background: #fff8c5; padding: 0.3rem 0.6rem; border-radius: 4px; }
.verdict { display: inline-block; padding: 0.2rem 0.6rem; border-radius: 4px; font-weight: 600; }
.verdict.pass { background: #e6f4ea; color: #1e6b34; }
.verdict.fail { background: #fde8e8; color: #b3261e; }
`

// Blocks scripts and every external fetch even if some string slipped past escaping.
const contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'"

const verdictClass: Record<RowVerdict, string> = { better: "better", worse: "worse", "within noise": "noise", "not compared": "missing" }

const cell = (text: string): string => `<td>${escapeHtml(text)}</td>`
const numberCell = (text: string): string => `<td class="number">${escapeHtml(text)}</td>`

const compareRow = (compared: CompareRow): string =>
  `<tr class="${verdictClass[compared.verdict]}">` +
  cell(compared.section) + `<td><code>${escapeHtml(compared.metric)}</code></td>` +
  numberCell(formatRowValue(compared, compared.base)) + numberCell(formatRowValue(compared, compared.next)) +
  numberCell(formatAbsoluteChange(compared)) + numberCell(formatRelativeChange(compared)) + numberCell(formatInterval(compared)) + cell(compared.verdict) +
  cell(compared.note ?? "") + `</tr>`

const renderVerdict = (comparison: Comparison): string =>
  comparison.regressed
    ? `<p><span class="verdict fail">WORSE</span> ${comparison.regressions.length} row(s) worse: ` +
      `${comparison.regressions.map((compared) => escapeHtml(rowName(compared))).join(", ")}</p>`
    : `<p><span class="verdict pass">NO REGRESSION</span> nothing worse</p>`

const renderWarnings = (comparison: Comparison): string =>
  comparison.mismatches.map((mismatch) => `<p class="warning">warning: ${escapeHtml(mismatch)}</p>`).join("")

const headersOf = (comparison: Comparison) =>
  ["section", "metric", "base", "new", "change", "change %", `${comparison.confidencePercent}% CI`, "verdict", "note"]

export const renderCompareHtml = (comparison: Comparison, baseName: string, nextName: string): string =>
  `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chunyun compare: ${escapeHtml(baseName)} → ${escapeHtml(nextName)}</title>
<style>${styles}</style>
</head>
<body>
<h1>Chunyun compare: ${escapeHtml(baseName)} → ${escapeHtml(nextName)}</h1>
<p>tolerance ${escapeHtml(String(comparison.tolerancePercent))}%: ${escapeHtml(ruleOf(comparison))}</p>
${renderVerdict(comparison)}
${renderWarnings(comparison)}
<table><thead><tr>${headersOf(comparison).map((header) => `<th>${escapeHtml(header)}</th>`).join("")}</tr></thead>
<tbody>${comparison.rows.map(compareRow).join("")}</tbody></table>
</body>
</html>
`
