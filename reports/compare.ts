/**
 * Two reports side by side: every metric of the base run against the new one, with the change
 * and a verdict per row. Pure (two Report values and a tolerance in, rows and a verdict out), so
 * the CLI, a CI script or a test calls the same function.
 *
 * A rate or a payment→issuance percentile is better or worse only when the bootstrap interval of its change, read
 * from the two runs' per-bucket series (reports/bootstrap.ts), excludes 0 and the change is beyond the tolerance,
 * which is then a floor; where the series cannot give an interval, the tolerance alone decides and the row says so.
 * A count is judged the same way by an interval from the two counts themselves (as Poisson counts: the difference
 * ± z·√(base + next)); a count the base run did not have (a new kind of error) by the tolerance; invariants by any new
 * violation.
 */
import { changeInterval, confidencePercent, minBootstrapBuckets, seedOf } from "./bootstrap.js"
import type { BucketValue, ChangeInterval } from "./bootstrap.js"
import { peakWindowOf, rateMetrics, rateOf } from "./rates.js"
import type { RateMetric } from "./rates.js"
import type { LatencySummary, Report, SeriesPoint } from "./Report.js"
import { auditSourcesOf } from "./Report.js"
import { isInvariantBroken } from "./verdict.js"

/**
 * Changes smaller than this (relative to the base, in percent) are run-to-run noise: the floor below which a rate
 * or a latency with an interval is not called better or worse, and the whole rule for the rows without one.
 */
export const defaultCompareTolerancePercent = 5

/** Latency and errors: lower is better. Throughput and tickets: higher is better. */
export type Direction = "lowerIsBetter" | "higherIsBetter"
/** "not compared": the metric is missing from one report (written by a version that did not have it) */
export type RowVerdict = "better" | "worse" | "within noise" | "not compared"
export type RowKind = "count" | "latency" | "throughput" | "invariant"

export interface CompareRow {
  readonly section: string
  readonly metric: string
  readonly kind: RowKind
  readonly direction: Direction
  readonly base: number
  readonly next: number
  /** next − base */
  readonly absoluteChange: number
  /** (next − base) / |base| in percent; ±Infinity when the base is 0 and the new value is not */
  readonly relativeChangePercent: number
  readonly verdict: RowVerdict
  /** the `confidencePercent` bootstrap interval of the relative change, for the rows judged by one */
  readonly interval?: ChangeInterval
  /** why the row was judged as it was, when that is not its usual rule: a metric one report lacks, no interval */
  readonly note?: string
}

export interface Comparison {
  readonly tolerancePercent: number
  /** the confidence of the rows' intervals, in percent */
  readonly confidencePercent: number
  readonly rows: ReadonlyArray<CompareRow>
  /** rows judged worse (any new invariant violation among them) */
  readonly regressions: ReadonlyArray<CompareRow>
  /** the two runs differ in what they ran: the numbers may not be comparable (a warning, not a failure) */
  readonly mismatches: ReadonlyArray<string>
  readonly regressed: boolean
}

export const relativeChangePercent = (base: number, next: number): number => {
  if (base === next) return 0
  if (base === 0) return next > 0 ? Infinity : -Infinity
  // multiply first: (105 − 100) · 100 / 100 is exactly 5, so a change at the tolerance is not rounded past it
  return ((next - base) * 100) / Math.abs(base)
}

const judge = (base: number, next: number, direction: Direction, tolerancePercent: number): RowVerdict => {
  // A metric that could not be measured in the new run must not pass as "within noise".
  if (!Number.isFinite(next)) return Number.isFinite(base) || Number.isNaN(next) ? "worse" : "within noise"
  if (!Number.isFinite(base)) return "better"
  const change = relativeChangePercent(base, next)
  if (Math.abs(change) <= tolerancePercent) return "within noise"
  const increased = change > 0
  return increased === (direction === "higherIsBetter") ? "better" : "worse"
}

/**
 * With an interval: better or worse only when the interval excludes 0 on the side of the change and the change is
 * beyond the tolerance. A value that could not be measured is judged as without one.
 */
const judgeByInterval = (base: number, next: number, direction: Direction, tolerancePercent: number, interval: ChangeInterval): RowVerdict => {
  if (!Number.isFinite(base) || !Number.isFinite(next)) return judge(base, next, direction, tolerancePercent)
  const change = relativeChangePercent(base, next)
  const excludesZero = change > 0 ? interval.lowPercent > 0 : interval.highPercent < 0
  if (!excludesZero || Math.abs(change) <= tolerancePercent) return "within noise"
  return change > 0 === (direction === "higherIsBetter") ? "better" : "worse"
}

/** An invariant has no noise: any violation the base run lacks is a regression, whatever the tolerance. */
const judgeInvariant = (base: number, next: number): RowVerdict => {
  const nextBroken = isInvariantBroken({ name: "", description: "", violations: next })
  if (!nextBroken) return base === 0 ? "within noise" : "better"
  if (Number.isNaN(next) || base === 0 || next > base) return "worse"
  return next < base ? "better" : "within noise"
}

const row = (
  section: string, metric: string, kind: RowKind, direction: Direction, base: number, next: number, tolerancePercent: number
): CompareRow => ({
  section, metric, kind, direction, base, next,
  absoluteChange: next - base,
  relativeChangePercent: relativeChangePercent(base, next),
  verdict: kind === "invariant" ? judgeInvariant(base, next) : judge(base, next, direction, tolerancePercent)
})

/**
 * Where a row's spread comes from: each run's buckets as the bootstrap reads them, or why there are none. The buckets
 * of a rate weigh alike and hold their tickets; those of a percentile hold the bucket's percentile, weighed by its tickets.
 */
type SpreadSource =
  | { readonly base: ReadonlyArray<BucketValue>; readonly next: ReadonlyArray<BucketValue> }
  | { readonly missing: string }

/** a row judged by the interval its spread gives, or by the tolerance with a note saying why there is none */
const rowWithSpread = (
  section: string, metric: string, kind: RowKind, direction: Direction, base: number, next: number, tolerancePercent: number, source: SpreadSource
): CompareRow => {
  const plain = row(section, metric, kind, direction, base, next, tolerancePercent)
  const fallback = (why: string): CompareRow => ({ ...plain, note: `fixed ${tolerancePercent}% tolerance: ${why}` })
  if ("missing" in source) return fallback(source.missing)
  const interval = changeInterval(base, next, source.base, source.next, seedOf(`${section} ${metric}`))
  if (interval === undefined) {
    return fallback(base === 0 || next === 0 ? "a value of 0 has no relative spread" : fewBucketsNote)
  }
  return { ...plain, interval, verdict: judgeByInterval(base, next, direction, tolerancePercent, interval) }
}

/** the two-sided normal quantile of each confidence the intervals may be given at */
const zOfConfidencePercent: Readonly<Record<number, number>> = { 90: 1.6449, 95: 1.96, 99: 2.5758 }

/**
 * The `confidencePercent` interval of a count's relative change, from the two counts alone: each run's count as a
 * Poisson count, so their difference d has variance base + next, and the interval is (d ± z·√(base + next)) / base.
 * Undefined when the base is 0 (no relative change to bound) or a count is not a finite number.
 */
export const countChangeInterval = (base: number, next: number): ChangeInterval | undefined => {
  const z = zOfConfidencePercent[confidencePercent]
  if (z === undefined) throw new Error(`no normal quantile for a ${confidencePercent}% interval`)
  if (!(base > 0) || !Number.isFinite(base) || !Number.isFinite(next) || next < 0) return undefined
  const halfWidth = z * Math.sqrt(base + next)
  return { lowPercent: ((next - base - halfWidth) * 100) / base, highPercent: ((next - base + halfWidth) * 100) / base }
}

/** a count's row: judged by its Poisson interval, or by the tolerance when the base run had none of it */
const countRow = (section: string, metric: string, direction: Direction, base: number, next: number, tolerancePercent: number): CompareRow => {
  const plain = row(section, metric, "count", direction, base, next, tolerancePercent)
  const interval = countChangeInterval(base, next)
  return interval === undefined ? plain : { ...plain, interval, verdict: judgeByInterval(base, next, direction, tolerancePercent, interval) }
}

const byName = (left: string, right: string): number => (left < right ? -1 : left > right ? 1 : 0)

/** the tag of a request whose answer was lost: counted as an error from report version 2 on */
const lostAnswerTag = "ResponseLost"
const countsLostAnswersInOneOnly = (base: Report, next: Report) => ((base.reportVersion ?? 1) < 2) !== ((next.reportVersion ?? 1) < 2)

const countRows = (base: Report, next: Report, tolerancePercent: number): Array<CompareRow> => {
  const higher: ReadonlyArray<readonly [string, (report: Report) => number]> = [
    ["ordersHeld", (report) => report.counts.ordersHeld],
    ["ordersPaid", (report) => report.counts.ordersPaid],
    ["ticketsIssued", (report) => report.counts.ticketsIssued],
    ["admitted", (report) => report.counts.admitted]
  ]
  const tags = [...new Set([...Object.keys(base.counts.errorsByTag), ...Object.keys(next.counts.errorsByTag)])].sort(byName)
    .filter((tag) => !(countsLostAnswersInOneOnly(base, next) && tag === lostAnswerTag))
  return [
    ...higher.map(([metric, pick]) => countRow("counts", metric, "higherIsBetter", pick(base), pick(next), tolerancePercent)),
    // refunds follow failed issuance or cancellations: fewer is better for the same workload
    countRow("counts", "refunds", "lowerIsBetter", base.counts.refunds, next.counts.refunds, tolerancePercent),
    ...tags.map((tag) =>
      countRow("errors", tag, "lowerIsBetter", base.counts.errorsByTag[tag] ?? 0, next.counts.errorsByTag[tag] ?? 0, tolerancePercent))
  ]
}

const percentiles = ["p50", "p90", "p99", "p999", "max"] as const satisfies ReadonlyArray<keyof LatencySummary>
const operations = ["paymentToIssuance", "hold", "checkin"] as const satisfies ReadonlyArray<keyof Report["latency"]>

/** the series field holding each bucket's payment→issuance percentile */
const percentileSeriesFields = {
  p50: "paymentToIssuanceP50Ms", p90: "paymentToIssuanceP90Ms", p99: "paymentToIssuanceP99Ms", p999: "paymentToIssuanceP999Ms"
} as const satisfies Partial<Record<(typeof percentiles)[number], keyof SeriesPoint>>

const percentileSource = (base: Report, next: Report, operation: (typeof operations)[number], percentile: (typeof percentiles)[number]): SpreadSource => {
  if (operation !== "paymentToIssuance") return { missing: `a report has no per-bucket series of ${operation} latency` }
  if (percentile === "max") return { missing: "a maximum has no per-bucket series" }
  const field = percentileSeriesFields[percentile]
  const bucketsOf = (report: Report) => report.throughput.series.every((point) => point[field] !== undefined)
    ? report.throughput.series.map((point) => ({ value: point[field] ?? 0, weight: point.issued }))
    : undefined
  const [baseBuckets, nextBuckets] = [bucketsOf(base), bucketsOf(next)]
  return baseBuckets === undefined || nextBuckets === undefined
    ? { missing: `a report written before per-bucket ${percentile} has none` }
    : { base: baseBuckets, next: nextBuckets }
}

const latencyRows = (base: Report, next: Report, tolerancePercent: number): Array<CompareRow> =>
  operations.flatMap((operation) =>
    percentiles.map((percentile) =>
      rowWithSpread(`latency ${operation}`, percentile, "latency", "lowerIsBetter",
        base.latency[operation][percentile], next.latency[operation][percentile], tolerancePercent,
        percentileSource(base, next, operation, percentile))))

const fewBucketsNote = `fewer than ${minBootstrapBuckets} buckets with tickets in a run`

/** A rate's buckets: the tickets of every bucket of the series, or of the peak's window for the peak. */
const rateSource = (base: Report, next: Report, metric: RateMetric): SpreadSource => {
  const bucketsOf = (report: Report): ReadonlyArray<number> => {
    const issued = report.throughput.series.map((point) => point.issued)
    if (metric !== "peakIssuedPerSecond") return issued
    const peak = peakWindowOf(issued, report.throughput.bucketMs)
    return Array.from({ length: peak.bucketCount }, (_, index) => issued[peak.startIndex + index] ?? 0)
  }
  const [baseBuckets, nextBuckets] = [bucketsOf(base), bucketsOf(next)]
  const withTickets = (buckets: ReadonlyArray<number>) => buckets.filter((tickets) => tickets > 0).length
  if (Math.min(withTickets(baseBuckets), withTickets(nextBuckets)) < minBootstrapBuckets) return { missing: fewBucketsNote }
  const weighAlike = (buckets: ReadonlyArray<number>) => buckets.map((tickets) => ({ value: tickets, weight: 1 }))
  return { base: weighAlike(baseBuckets), next: weighAlike(nextBuckets) }
}

const invariantRows = (base: Report, next: Report): Array<CompareRow> => {
  const names = [...new Set([...base.invariants, ...next.invariants].map((invariant) => invariant.name))]
  const violations = (report: Report, name: string) =>
    report.invariants.find((invariant) => invariant.name === name)?.violations ?? 0
  return names.map((name) => row("invariants", name, "invariant", "lowerIsBetter", violations(base, name), violations(next, name), 0))
}

const mismatchesOf = (base: Report, next: Report): Array<string> => {
  const fields: ReadonlyArray<readonly [string, (report: Report) => string]> = [
    ["scenario", (report) => report.scenario],
    ["seed", (report) => String(report.seed)],
    ["mode", (report) => report.mode],
    ["configHash", (report) => report.configHash]
  ]
  const differing = fields
    .filter(([, pick]) => pick(base) !== pick(next))
    .map(([name, pick]) => `${name} differs: base ${pick(base)}, new ${pick(next)}`)
  const baseVersion = base.reportVersion ?? 1
  const nextVersion = next.reportVersion ?? 1
  const versions = baseVersion === nextVersion ? [] : [
    `report versions differ: base ${baseVersion}, new ${nextVersion}` +
    (countsLostAnswersInOneOnly(base, next) ? ` (before version 2 errors by tag counted answered calls only, not lost answers: ${lostAnswerTag} is not compared)` : "")
  ]
  const [baseSources, nextSources] = [auditSourcesOf(base).join(", "), auditSourcesOf(next).join(", ")]
  const sources = baseSources === nextSources ? [] : [`audit sources differ: base ${baseSources}, new ${nextSources}`]
  const baseNames = new Set(base.invariants.map((invariant) => invariant.name))
  const nextNames = new Set(next.invariants.map((invariant) => invariant.name))
  const onlyIn = (names: Set<string>, others: Set<string>, which: string) =>
    [...names].filter((name) => !others.has(name)).map((name) => `invariant ${name} checked in ${which} only`)
  return [...differing, ...versions, ...sources, ...onlyIn(baseNames, nextNames, "base"), ...onlyIn(nextNames, baseNames, "new")]
}

/** a row for a metric one of the two reports lacks: shown with the value it has, judged neither way */
const missingRow = (
  section: string, metric: string, kind: RowKind, direction: Direction, base: number | undefined, next: number | undefined, missingFrom: "base" | "new", version: number
): CompareRow => ({
  section, metric, kind, direction, base: base ?? NaN, next: next ?? NaN, absoluteChange: NaN, relativeChangePercent: NaN,
  verdict: "not compared",
  note: `missing from the ${missingFrom} report (version ${version})`
})

/**
 * The ticket rates either report has (reports/rates.ts). A report before version 3 has only the rate to the last
 * ticket, a later one only the rates over the measuring window and at the peak: each is compared where both have it.
 */
const rateRows = (base: Report, next: Report, tolerancePercent: number): Array<CompareRow> =>
  rateMetrics.flatMap((metric) => {
    const [baseRate, nextRate] = [rateOf(base, metric), rateOf(next, metric)]
    if (baseRate === undefined && nextRate === undefined) return []
    if (baseRate === undefined || nextRate === undefined) {
      const missingFrom = baseRate === undefined ? "base" : "new"
      const version = (baseRate === undefined ? base : next).reportVersion ?? 1
      return [missingRow("throughput", metric, "throughput", "higherIsBetter", baseRate, nextRate, missingFrom, version)]
    }
    return [rowWithSpread("throughput", metric, "throughput", "higherIsBetter", baseRate, nextRate, tolerancePercent,
      rateSource(base, next, metric))]
  })

export const compareReports = (base: Report, next: Report, tolerancePercent = defaultCompareTolerancePercent): Comparison => {
  const rows = [
    ...countRows(base, next, tolerancePercent),
    ...latencyRows(base, next, tolerancePercent),
    ...rateRows(base, next, tolerancePercent),
    ...invariantRows(base, next)
  ]
  const regressions = rows.filter((compared) => compared.verdict === "worse")
  return { tolerancePercent, confidencePercent, rows, regressions, mismatches: mismatchesOf(base, next), regressed: regressions.length > 0 }
}

/** `--tolerance 5%` or `--tolerance 5`: a percentage ≥ 0; a message saying what was expected otherwise. */
export const parseTolerancePercent = (text: string): number | string => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text)
  const value = match === null ? NaN : Number(match[1])
  return Number.isFinite(value) ? value : `--tolerance expects a percentage such as 5% or 2.5, got "${text}"`
}

/** "latency hold p99", as the verdict names a row. */
export const rowName = (compared: CompareRow): string => `${compared.section} ${compared.metric}`
