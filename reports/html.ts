/**
 * The report as one self-contained HTML page: inline CSS, charts as inline SVG, no scripts and no
 * external resources, so it opens offline and can be attached to a ticket as a single file.
 */
import { renderLineChart } from "./chart.js"
import type { ChartLine } from "./chart.js"
import { escapeHtml } from "./escape.js"
import { formatCount, formatDuration, formatMs } from "./format.js"
import { renderPercentileChart } from "./percentileChart.js"
import { errorRatePercent, formatErrorRate, hasSamples, passengerJourneysOf, statusText } from "./endpoints.js"
import { formatRate, ratesOf } from "./rates.js"
import { auditSourceOf, auditSourcesOf, auditSourcesText, backgroundJourney, errorTotalOf } from "./Report.js"
import { afterOnSale, mixText, serverText } from "./scenarioText.js"
import type { EndpointFields, EndpointSummary, InvariantResult, LatencySummary, Report, ScenarioSummary, ThresholdResult } from "./Report.js"
import { brokenInvariants, failedThresholds, isInvariantBroken, reportPassed } from "./verdict.js"

const styles = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 960px; padding: 0 1rem; color: #1f2328; }
h1 { font-size: 1.6rem; margin-bottom: 0.25rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; padding-bottom: 0.25rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85rem; }
pre { margin: 0; white-space: pre-wrap; word-break: break-all; }
tr.fail td { background: #fde8e8; color: #b3261e; }
tr.pass td { background: #e6f4ea; color: #1e6b34; }
tr.warn td { background: #fff8c5; }
tr.total td { font-weight: 600; }
.verdict { display: inline-block; padding: 0.2rem 0.6rem; border-radius: 4px; font-weight: 600; }
.verdict.pass { background: #e6f4ea; color: #1e6b34; }
.verdict.fail { background: #fde8e8; color: #b3261e; }
details.journeys { margin: 0.5rem 0; }
details.journeys > summary { cursor: pointer; font-weight: 600; }
/* the endpoint's cell spans its journeys' rows: a warning is the row's own, not the endpoint's */
tr.warn td[rowspan] { background: none; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 0.5rem 0 1.5rem; }
svg.chart .hover:hover { fill-opacity: 0.12; }
`

// Blocks scripts and every external fetch even if some string slipped past escaping.
const contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'"

const cell = (text: string): string => `<td>${escapeHtml(text)}</td>`
const numberCell = (text: string): string => `<td class="number">${escapeHtml(text)}</td>`
const codeCell = (text: string): string => `<td><code>${escapeHtml(text)}</code></td>`
const nowrapCell = (text: string): string => `<td class="nowrap">${escapeHtml(text)}</td>`
const nowrapCodeCell = (text: string): string => `<td class="nowrap"><code>${escapeHtml(text)}</code></td>`

const renderTable = (headers: ReadonlyArray<string>, rows: ReadonlyArray<string>): string =>
  `<table><thead><tr>${headers.map((header) => `<th>${escapeHtml(header)}</th>`).join("")}</tr></thead>` +
  `<tbody>${rows.join("")}</tbody></table>`

const renderVerdict = (report: Report): string => {
  const broken = brokenInvariants(report).length
  const failed = failedThresholds(report).length
  return reportPassed(report)
    ? `<p><span class="verdict pass">PASS</span> all invariants hold, all thresholds met</p>`
    : `<p><span class="verdict fail">FAIL</span> ${broken} invariant(s) broken, ${failed} threshold(s) failed</p>`
}

const renderHeader = (report: Report): string => {
  const rows: ReadonlyArray<readonly [string, string]> = [
    ["seed", String(report.seed)],
    ["mode", report.mode],
    ...(report.target === undefined ? [] : [["target", report.target] as const]),
    ["traceHash", report.traceHash],
    ["codeVersion", report.codeVersion],
    ["configHash", report.configHash],
    ["startedAt", report.startedAt],
    // a real run's timeline is the wall clock, scaled: it has no virtual duration to claim
    ...(report.mode === "virtual"
      ? [["virtual duration", `${formatDuration(report.virtualDurationMs)} (${formatCount(report.virtualDurationMs)} ms)`] as const]
      : []),
    ["wall duration", `${formatDuration(report.wallDurationMs)} (${formatCount(report.wallDurationMs)} ms)`]
  ]
  return `<h1>Chunyun report: ${escapeHtml(report.scenario)}</h1>` + renderVerdict(report) +
    renderTable(["field", "value"], rows.map(([name, value]) => `<tr>${cell(name)}${codeCell(value)}</tr>`))
}

const renderScenario = (report: Report): string => {
  const summary = report.scenarioSummary
  if (summary === undefined) return `<h2>Scenario</h2><p>This report was written before the scenario was recorded in it: see the scenario file.</p>`
  const rows: ReadonlyArray<readonly [string, string]> = [
    ["on-sale", summary.onSaleAt],
    ...(summary.endAt === undefined ? [] : [["ends", summary.endAt] as const]),
    ["passengers", formatCount(summary.passengers)],
    ["journeys", mixText(summary)],
    ["arrivals", summary.arrivals],
    ...summary.venues.map((venue) => ["venue", venue] as const),
    ["server", serverText(summary)],
    ["thresholds", summary.thresholds.length === 0 ? "none" : summary.thresholds.join("; ")]
  ]
  const trains = summary.trains.length === 0 ? "" : `<h3>Trains</h3>` + renderTable(["train", "date", "route", "seats", "popularity"],
    summary.trains.map((train) => `<tr>${codeCell(train.trainCode)}${cell(train.serviceDate)}${cell(train.route)}` +
      `${numberCell(formatCount(train.seats))}${numberCell(formatCount(train.popularity, Number.isInteger(train.popularity) ? 0 : 2))}</tr>`))
  const faults = `<h3>Faults</h3>` + (summary.faults.length === 0 ? `<p>none</p>` : renderTable(["fault", "from", "to", "parameters"],
    summary.faults.map((fault) => `<tr data-fault="${escapeHtml(fault.kind)}">${nowrapCodeCell(fault.kind)}${nowrapCell(afterOnSale(fault.startAfterOnSaleMs))}` +
      `${nowrapCell(afterOnSale(fault.endAfterOnSaleMs))}${cell(fault.parameters)}</tr>`)))
  return `<h2>Scenario</h2><p>${escapeHtml(summary.description)}</p>` +
    renderTable(["setting", "value"], rows.map(([name, value]) => `<tr>${cell(name)}${cell(value)}</tr>`)) + trains + faults
}

const renderCounts = (report: Report): string => {
  const counts = report.counts
  const rows: ReadonlyArray<readonly [string, number]> = [
    ["passengers", counts.passengers],
    ["requests", counts.requests],
    ["orders held", counts.ordersHeld],
    ["orders paid", counts.ordersPaid],
    ["tickets issued", counts.ticketsIssued],
    ["admitted", counts.admitted],
    ["refunds", counts.refunds],
    ["sold out", counts.soldOut]
  ]
  const countRows = rows.map(([name, value]) => `<tr>${cell(name)}${numberCell(formatCount(value))}</tr>`)
  const rateRows = ratesOf(report).map(({ metric, label, value }) => `<tr data-rate="${metric}">${cell(label)}${numberCell(formatRate(value))}</tr>`)
  const errorRow = `<tr data-count="errors">${cell("request errors")}${numberCell(formatCount(errorTotalOf(report)))}</tr>`
  return `<h2>Counts</h2>` + renderTable(["count", "value"], [...countRows, ...rateRows, errorRow]) +
    `<h3>Errors by tag</h3>` + renderErrorsByTag(report)
}

/** The HTTP status of each tag, as the endpoints saw it; a report before version 2 has none. */
const statusesOf = (report: Report): ReadonlyMap<string, string> =>
  new Map((report.endpoints ?? []).flatMap((endpoint) => endpoint.errorsByTag.map((error) => [error.tag, statusText(error)] as const)))

const renderErrorsByTag = (report: Report): string => {
  // Sorted by tag so two reports of the same run produce the same page.
  const entries = Object.entries(report.counts.errorsByTag).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
  const statuses = statusesOf(report)
  const total = errorTotalOf(report)
  const rows = entries.length === 0
    ? [`<tr><td colspan="3">no errors</td></tr>`]
    : [
      ...entries.map(([tag, count]) => `<tr>${codeCell(tag)}${cell(statuses.get(tag) ?? "")}${numberCell(formatCount(count))}</tr>`),
      `<tr class="total"><td colspan="2">all request errors</td>${numberCell(formatCount(total))}</tr>`
    ]
  return renderTable(["tag", "HTTP status", "count"], rows)
}

const endpointErrorsCell = (endpoint: EndpointFields): string =>
  `<td>${endpoint.errorsByTag.map((error) =>
    `<code>${escapeHtml(error.tag)}</code> ${escapeHtml(statusText(error))} ×${escapeHtml(formatCount(error.count))}`).join("<br>")}</td>`

/** requests, errors, error rate, p50, p90, p99, max and the errors by tag: the cells an endpoint's row and a journey's share */
const endpointFieldCells = (endpoint: EndpointFields): string =>
  numberCell(formatCount(endpoint.requests)) + numberCell(formatCount(endpoint.errors)) + numberCell(formatErrorRate(endpoint)) +
  [endpoint.latency.p50, endpoint.latency.p90, endpoint.latency.p99, endpoint.latency.max].map((value) => numberCell(formatMs(value))).join("") +
  endpointErrorsCell(endpoint)

const warnClass = (endpoint: EndpointFields): string => errorRatePercent(endpoint) >= 1 ? ` class="warn"` : ""

const endpointRow = (endpoint: EndpointSummary): string =>
  `<tr data-endpoint="${escapeHtml(endpoint.endpoint)}"${warnClass(endpoint)}>` + codeCell(endpoint.endpoint) + endpointFieldCells(endpoint) + `</tr>`

/** an endpoint's journeys, a row each, the endpoint's name once beside them all */
const endpointJourneyRows = (endpoint: EndpointSummary): Array<string> =>
  (endpoint.journeys ?? []).map((journey, index) =>
    `<tr data-endpoint="${escapeHtml(endpoint.endpoint)}" data-journey="${escapeHtml(journey.journey)}"${warnClass(journey)}>` +
    (index === 0 ? `<td rowspan="${endpoint.journeys?.length ?? 1}"><code>${escapeHtml(endpoint.endpoint)}</code></td>` : "") +
    nowrapCodeCell(journey.journey) + endpointFieldCells(journey) + `</tr>`)

/**
 * Each endpoint per journey kind that called it, in a section a reader opens: open when the run mixed journeys, closed
 * when it had one (its rows are the table above, and the background's calls).
 */
const renderEndpointJourneys = (report: Report): string => {
  const endpoints = report.endpoints ?? []
  if (endpoints.length === 0) return ""
  if (!endpoints.some((endpoint) => endpoint.journeys !== undefined)) return `<p>This report was written before requests were split by journey.</p>`
  const open = passengerJourneysOf(report).length > 1 ? " open" : ""
  return `<details class="journeys"${open}><summary>By journey: each endpoint's requests per journey kind that called it</summary>` +
    `<p>A request counts for the journey of the passenger it was made for, a kiosk's or a call-centre agent's serving ` +
    `that passenger included; <code>${escapeHtml(backgroundJourney)}</code> is the requests made for no passenger's journey ` +
    `(a kiosk attendant's rounds, a gateway's pull loop, offline gates' syncs, faults). Each endpoint's rows add up to its row above.</p>` +
    renderTable(["endpoint", "journey", "requests", "errors", "error rate", "p50", "p90", "p99", "max", "errors by tag, HTTP status"],
      endpoints.flatMap(endpointJourneyRows)) +
    `</details>`
}

/** Every endpoint the devices called: requests, errors by tag and HTTP status, latency of the answered ones; then per journey. */
const renderEndpoints = (report: Report): string =>
  `<h2>Endpoints</h2>` + (report.endpoints === undefined
    ? `<p>This report was written before requests were counted per endpoint.</p>`
    : `<p>Requests as the devices name them. A request whose answer was lost counts as sent and as an error; ` +
      `latencies (ms) are those of the answered requests.</p>` +
      renderTable(["endpoint", "requests", "errors", "error rate", "p50", "p90", "p99", "max", "errors by tag, HTTP status"],
        report.endpoints.length === 0 ? [`<tr><td colspan="9">no requests</td></tr>`] : report.endpoints.map(endpointRow)) +
      renderEndpointJourneys(report))

const latencyRow = (name: string, summary: LatencySummary): string =>
  `<tr>${cell(name)}${numberCell(formatCount(summary.count))}` +
  [summary.p50, summary.p90, summary.p99, summary.p999, summary.max].map((value) => numberCell(formatMs(value))).join("") +
  `</tr>`

/** the operations with at least one sample: a run that holds no seat (the stadium's fans) has no row of zeros for it */
const renderLatency = (report: Report): string => {
  const operations = ([["payment → issuance", report.latency.paymentToIssuance], ["hold", report.latency.hold], ["check-in", report.latency.checkin]] as const)
    .filter(([, summary]) => hasSamples(summary))
  return `<h2>Latency (ms)</h2>` +
    renderTable(["operation", "count", "p50", "p90", "p99", "p99.9", "max"],
      operations.length === 0 ? [`<tr><td colspan="7">no latency measured</td></tr>`] : operations.map(([name, summary]) => latencyRow(name, summary)))
}

/** Lines with something to show: a series that is 0 throughout (no admissions in the sales window) is left out. */
const nonZeroLines = (lines: ReadonlyArray<ChartLine>): Array<ChartLine> =>
  lines.filter((line) => line.values.some((value) => value !== 0))

const renderCharts = (report: Report): string => {
  const series = report.throughput.series
  const common = { bucketStartsMs: series.map((point) => point.tMs), bucketMs: report.throughput.bucketMs }
  const bucketText = `per ${formatDuration(report.throughput.bucketMs)} bucket`
  return `<h2>Over time</h2>` +
    `<h3>Throughput (${escapeHtml(bucketText)})</h3>` +
    renderLineChart({
      ...common, kind: "throughput", title: "Throughput over time", yAxisLabel: "orders", lines: nonZeroLines([
        { name: "held", color: "#1f77b4", values: series.map((point) => point.held) },
        { name: "paid", color: "#ff7f0e", values: series.map((point) => point.paid) },
        { name: "issued", color: "#2ca02c", values: series.map((point) => point.issued), dashed: true },
        { name: "admitted", color: "#9467bd", values: series.map((point) => point.admitted) }
      ])
    }) +
    renderLoad(report) +
    `<h3>Errors (${escapeHtml(bucketText)})</h3>` +
    renderLineChart({
      ...common, kind: "errors", title: "Errors over time", yAxisLabel: "errors",
      lines: [{ name: "errors", color: "#d62728", values: series.map((point) => point.errors) }]
    }) +
    `<h3>Payment → issuance percentiles (ms, log scale, ${escapeHtml(bucketText)})</h3>` +
    renderLineChart({
      ...common, kind: "latency", title: "Payment to issuance percentiles over time", yAxisLabel: "ms", yScale: "log", unit: " ms",
      lines: nonZeroLines(latencyLines(series))
    }) +
    renderDistribution(report)
}

/** Requests per second and passengers in flight, when the report has them (version 2). */
const renderLoad = (report: Report): string => {
  const series = report.throughput.series
  if (series.length === 0 || series.some((point) => point.requests === undefined || point.inFlight === undefined)) return ""
  const common = { bucketStartsMs: series.map((point) => point.tMs), bucketMs: report.throughput.bucketMs }
  const bucketSeconds = report.throughput.bucketMs / 1_000
  return `<h3>Requests per second (mean of each ${escapeHtml(formatDuration(report.throughput.bucketMs))} bucket)</h3>` +
    renderLineChart({
      ...common, kind: "requests", title: "Requests per second over time", yAxisLabel: "requests/s", unit: "/s",
      lines: [{ name: "requests/s", color: "#8c564b", values: series.map((point) => bucketSeconds > 0 ? (point.requests ?? 0) / bucketSeconds : 0) }]
    }) +
    `<h3>Passengers in flight (first request to ticket or giving up)</h3>` +
    renderLineChart({
      ...common, kind: "in-flight", title: "Passengers in flight over time", yAxisLabel: "passengers",
      lines: [{ name: "in flight", color: "#e377c2", values: series.map((point) => point.inFlight ?? 0) }]
    })
}

type Series = Report["throughput"]["series"]

/** p50 … p99.9 per bucket; a report written before they existed has the p99 only. */
const latencyLines = (series: Series): Array<ChartLine> => {
  const optional: ReadonlyArray<readonly [string, string, (point: Series[number]) => number | undefined]> = [
    ["p50", "#1f77b4", (point) => point.paymentToIssuanceP50Ms],
    ["p90", "#2ca02c", (point) => point.paymentToIssuanceP90Ms],
    ["p99.9", "#d62728", (point) => point.paymentToIssuanceP999Ms]
  ]
  const present = optional
    .filter(([, , pick]) => series.length > 0 && series.every((point) => pick(point) !== undefined))
    .map(([name, color, pick]): ChartLine => ({ name, color, values: series.map((point) => pick(point) ?? 0) }))
  const p99: ChartLine = { name: "p99", color: "#ff7f0e", values: series.map((point) => point.paymentToIssuanceP99Ms) }
  const order = ["p50", "p90", "p99", "p99.9"]
  return [...present, p99].sort((left, right) => order.indexOf(left.name) - order.indexOf(right.name))
}

const renderDistribution = (report: Report): string => {
  const distribution = report.latencyDistribution?.paymentToIssuance
  return `<h3>Payment → issuance percentile distribution (ms)</h3>` + (distribution === undefined
    ? `<p>This report was written before distributions were recorded.</p>`
    : renderPercentileChart({
      title: "Payment to issuance latency by percentile", name: "payment → issuance", color: "#17becf", distribution
    }))
}

const renderWitness = (invariant: InvariantResult): string => {
  const lines = invariant.witness ?? []
  if (lines.length > 0) return `<pre>${escapeHtml(lines.join("\n"))}</pre>`
  return isInvariantBroken(invariant) ? "(no witness recorded)" : ""
}

/** The command lines that reproduce a broken invariant (the run, then `chunyun replay` of its actors), one a line. */
const renderReplay = (invariant: InvariantResult): string => {
  const commands = invariant.replay ?? []
  return commands.length === 0 ? "" : `<p>reproduce:</p><pre class="replay">${escapeHtml(commands.join("\n"))}</pre>`
}

const invariantRow = (invariant: InvariantResult): string =>
  `<tr class="${isInvariantBroken(invariant) ? "fail" : "pass"}" data-invariant="${escapeHtml(invariant.name)}">` +
  codeCell(invariant.name) + cell(invariant.description) + cell(auditSourceOf(invariant)) + numberCell(formatCount(invariant.violations)) +
  `<td>${renderWitness(invariant)}${renderReplay(invariant)}</td></tr>`

/** The invariants with the audit that checked each (the store, the history), the audits that ran said above them. */
const renderInvariants = (report: Report): string =>
  `<h2>Invariants</h2>` +
  `<p class="audit-sources">Audited from ${escapeHtml(auditSourcesText(auditSourcesOf(report)))}.</p>` +
  renderTable(
    ["name", "description", "source", "violations", "witness"],
    report.invariants.length === 0 ? [`<tr><td colspan="5">no invariants checked</td></tr>`] : report.invariants.map(invariantRow)
  )

const thresholdRow = (threshold: ThresholdResult): string =>
  `<tr class="${threshold.passed ? "pass" : "fail"}">` +
  codeCell(threshold.expression) + numberCell(threshold.noSamples === true ? "no samples" : formatMs(threshold.actual)) + cell(threshold.passed ? "passed" : "failed") +
  `</tr>`

const renderThresholds = (report: Report): string =>
  `<h2>Thresholds</h2>` +
  renderTable(
    ["expression", "actual", "result"],
    report.thresholds.length === 0 ? [`<tr><td colspan="3">no thresholds set</td></tr>`] : report.thresholds.map(thresholdRow)
  )

const renderNotes = (report: Report): string =>
  `<h2>Notes</h2>` +
  (report.notes.length === 0
    ? `<p>none</p>`
    : `<ul>${report.notes.map((note) => `<li>${escapeHtml(note)}</li>`).join("")}</ul>`)

export const renderHtml = (report: Report): string =>
  `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chunyun report: ${escapeHtml(report.scenario)} (seed ${escapeHtml(String(report.seed))})</title>
<style>${styles}</style>
</head>
<body>
${renderHeader(report)}
${renderScenario(report)}
${renderCounts(report)}
${renderEndpoints(report)}
${renderLatency(report)}
${renderCharts(report)}
${renderInvariants(report)}
${renderThresholds(report)}
${renderNotes(report)}
</body>
</html>
`
