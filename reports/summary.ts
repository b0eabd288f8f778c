/**
 * The report as a plain-text table for stdout. No colours: the output is often piped to a file
 * or a CI log. Every string from the report has its control characters made visible.
 */
import { escapeControlCharacters } from "./escape.js"
import { formatCount, formatDuration, formatMs, formatTable } from "./format.js"
import type { Alignment } from "./format.js"
import { errorCountText, formatErrorRate, hasSamples, passengerJourneysOf } from "./endpoints.js"
import { formatRate, ratesOf } from "./rates.js"
import { auditSourceOf, auditSourcesOf, auditSourcesText, backgroundJourney, errorTotalOf } from "./Report.js"
import { afterOnSale, mixText, serverText } from "./scenarioText.js"
import type { AuditSource, EndpointJourney, InvariantResult, LatencySummary, Report, ThresholdResult } from "./Report.js"
import { brokenInvariants, failedThresholds, isInvariantBroken, reportPassed } from "./verdict.js"

const indent = "  "
/**
 * Long witness lists would bury the table; the HTML page and JSON keep the first few in full. Eight lines show a
 * violation's statement and the calls of the actors involved (simulator/audits/Witness.ts).
 */
export const maxWitnessLinesShown = 8

const renderHeader = (report: Report): Array<string> => [
  `Chunyun report: ${escapeControlCharacters(report.scenario)}`,
  ...formatTable([
    ["seed", String(report.seed)],
    ["mode", report.mode],
    ...(report.target === undefined ? [] : [["target", escapeControlCharacters(report.target)]]),
    ["traceHash", escapeControlCharacters(report.traceHash)],
    ["codeVersion", escapeControlCharacters(report.codeVersion)],
    ["configHash", escapeControlCharacters(report.configHash)],
    ["startedAt", escapeControlCharacters(report.startedAt)],
    // a real run's timeline is the wall clock, scaled: it has no virtual duration to claim
    ...(report.mode === "virtual" ? [["virtual", formatDuration(report.virtualDurationMs)]] : []),
    ["wall", formatDuration(report.wallDurationMs)]
  ], ["left", "left"])
]

/** What ran, in a few lines: the passengers and their journeys, the trains and venues, the faults. */
const renderScenario = (report: Report): Array<string> => {
  const summary = report.scenarioSummary
  if (summary === undefined) return []
  const rows = [
    ["passengers", `${formatCount(summary.passengers)} (${mixText(summary)}); ${summary.arrivals}`],
    ...summary.trains.map((train) => ["train", `${train.trainCode} ${train.serviceDate} ${train.route}, ${formatCount(train.seats)} seats`]),
    ...summary.venues.map((venue) => ["venue", venue]),
    ...summary.faults.map((fault) => ["fault", `${fault.kind} ${afterOnSale(fault.startAfterOnSaleMs)} to ${afterOnSale(fault.endAfterOnSaleMs)}: ${fault.parameters}`]),
    ["server", serverText(summary)]
  ].map(([name = "", value = ""]) => [name, escapeControlCharacters(value)])
  return ["Scenario", `${indent}${escapeControlCharacters(summary.description)}`, ...formatTable(rows, ["left", "left"])]
}

const renderCounts = (report: Report): Array<string> => {
  const counts = report.counts
  const errorRows = Object.entries(counts.errorsByTag)
    .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
    .map(([tag, count]) => [`  error ${escapeControlCharacters(tag)}`, formatCount(count)])
  const errorTotal = errorTotalOf(report)
  return ["Counts", ...formatTable([
    ["passengers", formatCount(counts.passengers)],
    ["requests", formatCount(counts.requests)],
    ["orders held", formatCount(counts.ordersHeld)],
    ["orders paid", formatCount(counts.ordersPaid)],
    ["tickets issued", formatCount(counts.ticketsIssued)],
    ["admitted", formatCount(counts.admitted)],
    ["refunds", formatCount(counts.refunds)],
    ["sold out", formatCount(counts.soldOut)],
    ...ratesOf(report).map(({ label, value }) => [label, formatRate(value)]),
    ["errors", errorTotal === 0 ? "none" : formatCount(errorTotal)],
    ...errorRows
  ], ["left", "right"])]
}

/** One row per endpoint: requests, errors and their rate, latency, and the errors by tag with their HTTP status. */
const renderEndpoints = (report: Report): Array<string> => {
  const endpoints = report.endpoints ?? []
  if (endpoints.length === 0) return []
  const rows = endpoints.map((endpoint) => [
    escapeControlCharacters(endpoint.endpoint),
    formatCount(endpoint.requests),
    formatCount(endpoint.errors),
    formatErrorRate(endpoint),
    ...[endpoint.latency.p50, endpoint.latency.p90, endpoint.latency.p99, endpoint.latency.max].map(formatMs),
    endpoint.errorsByTag.map((error) => escapeControlCharacters(errorCountText(error))).join(", ")
  ])
  return ["Endpoints (latency in ms, of the answered requests)", ...formatTable(
    [["endpoint", "requests", "errors", "rate", "p50", "p90", "p99", "max", "errors by tag and status"], ...rows],
    ["left", "right", "right", "right", "right", "right", "right", "right", "left"])]
}

/** "9,223 (117)", and the error rate when some failed: "9,223 (117; 10.26 % errors)" */
const journeyCell = (journey: EndpointJourney | undefined): string => journey === undefined ? "" :
  `${formatMs(journey.latency.p99)} (${formatCount(journey.requests)}${journey.errors > 0 ? `; ${formatErrorRate(journey)} errors` : ""})`

/**
 * When the run mixed journeys: each endpoint more than one journey called (or one and the background), a line of its
 * p99 and requests per journey, a column per journey, busiest first and the background last. An endpoint one journey
 * alone called is its row above, and a run of one journey has nothing to split; report.html has every field.
 */
const renderEndpointJourneys = (report: Report): Array<string> => {
  if (passengerJourneysOf(report).length < 2) return []
  const shared = (report.endpoints ?? []).filter((endpoint) => (endpoint.journeys ?? []).length > 1)
  if (shared.length === 0) return []
  const requestsOf = new Map<string, number>()
  for (const journey of shared.flatMap((endpoint) => endpoint.journeys ?? [])) {
    requestsOf.set(journey.journey, (requestsOf.get(journey.journey) ?? 0) + journey.requests)
  }
  const columns = [...requestsOf]
    .sort(([leftName, left], [rightName, right]) =>
      Number(leftName === backgroundJourney) - Number(rightName === backgroundJourney) || right - left || (leftName < rightName ? -1 : leftName > rightName ? 1 : 0))
    .map(([journey]) => journey)
  const rows = shared.map((endpoint) => [
    escapeControlCharacters(endpoint.endpoint),
    ...columns.map((column) => journeyCell(endpoint.journeys?.find((journey) => journey.journey === column)))
  ])
  const background = columns.includes(backgroundJourney) ? ` (${backgroundJourney}: calls made for no passenger's journey)` : ""
  return ["Endpoints by journey", `${indent}p99 in ms and requests, of the endpoints more than one journey called${background}`, ...formatTable(
    [["endpoint", ...columns.map(escapeControlCharacters)], ...rows],
    ["left", ...columns.map((): Alignment => "right")])]
}

const latencyRow = (name: string, summary: LatencySummary): Array<string> => [
  name,
  formatCount(summary.count),
  ...[summary.p50, summary.p90, summary.p99, summary.p999, summary.max].map(formatMs)
]

const renderLatency = (report: Report): Array<string> => [
  "Latency (ms)",
  ...formatTable([
    ["operation", "count", "p50", "p90", "p99", "p99.9", "max"],
    ...latencyOperations(report).map(([name, summary]) => latencyRow(name, summary))
  ], ["left", "right", "right", "right", "right", "right", "right"])
]

/** the operations with at least one sample: a run that holds no seat or admits no one has no row of zeros for it */
const latencyOperations = (report: Report): Array<readonly [string, LatencySummary]> =>
  ([["payment->issuance", report.latency.paymentToIssuance], ["hold", report.latency.hold], ["check-in", report.latency.checkin]] as const)
    .filter(([, summary]) => hasSamples(summary))

const witnessLines = (invariant: InvariantResult): Array<string> => {
  const witness = invariant.witness ?? []
  const shown = witness.slice(0, maxWitnessLinesShown).map((line) => `${indent}${indent}| ${escapeControlCharacters(line)}`)
  const hiddenCount = witness.length - shown.length
  const replay = (invariant.replay ?? []).map((command) => `${indent}${indent}replay: ${escapeControlCharacters(command)}`)
  return [...(hiddenCount > 0 ? [...shown, `${indent}${indent}| ... ${hiddenCount} more in report.json`] : shown), ...replay]
}

/** The invariants, each with the audit that checked it (the store, the history); the audits that ran said first. */
const renderInvariants = (report: Report): Array<string> => renderInvariantTable(report.invariants, auditSourcesOf(report))

/**
 * The invariants as a table (PASS/FAIL, name, the audit that checked it, violations), each broken one followed by its
 * witness lines; `sources`, when given, the audits that ran.
 */
export const renderInvariantTable = (invariants: ReadonlyArray<InvariantResult>, sources?: ReadonlyArray<AuditSource>): Array<string> => {
  if (invariants.length === 0) return ["Invariants", `${indent}none checked`]
  const rows = invariants.map((invariant) => [
    isInvariantBroken(invariant) ? "FAIL" : "PASS",
    escapeControlCharacters(invariant.name),
    auditSourceOf(invariant),
    formatCount(invariant.violations)
  ])
  const lines = formatTable([["", "invariant", "source", "violations"], ...rows], ["left", "left", "left", "right"])
  const [headerLine = "", ...rowLines] = lines
  return [
    "Invariants",
    ...(sources === undefined ? [] : [`${indent}audited from ${auditSourcesText(sources)}`]),
    headerLine,
    ...rowLines.flatMap((line, index) => {
      const invariant = invariants[index]
      return invariant !== undefined && isInvariantBroken(invariant) ? [line, ...witnessLines(invariant)] : [line]
    })
  ]
}

const renderThresholds = (report: Report): Array<string> => {
  if (report.thresholds.length === 0) return ["Thresholds", `${indent}none set`]
  const rows = report.thresholds.map((threshold: ThresholdResult) => [
    threshold.passed ? "PASS" : "FAIL",
    escapeControlCharacters(threshold.expression),
    threshold.noSamples === true ? "no samples" : formatMs(threshold.actual)
  ])
  return ["Thresholds", ...formatTable([["", "threshold", "actual"], ...rows], ["left", "left", "right"])]
}

/** Notes say how to read the numbers (sampling, scaled parameters), so they travel with them. */
const renderNotes = (report: Report): Array<string> =>
  report.notes.length === 0 ? [] : ["Notes", ...report.notes.map((note) => `${indent}- ${escapeControlCharacters(note)}`)]

const renderVerdict = (report: Report): string =>
  reportPassed(report)
    ? "Result: PASS"
    : `Result: FAIL (${brokenInvariants(report).length} invariant(s) broken, ${failedThresholds(report).length} threshold(s) failed)`

export const renderSummary = (report: Report): string =>
  [
    renderHeader(report),
    renderScenario(report),
    renderCounts(report),
    renderEndpoints(report),
    renderEndpointJourneys(report),
    renderLatency(report),
    renderInvariants(report),
    renderThresholds(report),
    renderNotes(report),
    [renderVerdict(report)]
  ].filter((section) => section.length > 0).map((section) => section.join("\n")).join("\n\n") + "\n"

/**
 * What `chunyun audit` prints: the store audited, the invariants with their violations and witnesses, and a verdict.
 * A store's audit has no history, so it says which parts of the invariants it could not check.
 */
export const renderStoreAudit = (store: string, invariants: ReadonlyArray<InvariantResult>): string => {
  const broken = invariants.filter(isInvariantBroken)
  return [
    `Chunyun audit: ${escapeControlCharacters(store)}`,
    ...renderInvariantTable(invariants),
    `${indent}(the store's tables only: what devices saw in a run — admissions, keyed retries, printed sheets — is in its history, which chunyun run audits)`,
    broken.length === 0
      ? `Result: PASS (${invariants.length} invariants hold)`
      : `Result: FAIL (${broken.length} invariant(s) broken: ${broken.map((invariant) => escapeControlCharacters(invariant.name)).join(", ")})`
  ].join("\n")
}
