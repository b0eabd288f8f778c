/**
 * The report's ticket rates, defined so that a run that issues more tickets never reads as slower:
 * - over the measuring window: tickets from the on-sale to the scenario's end, divided by that window's length,
 *   which is the same for every run of one scenario (k6's rate of a counter: count over the test's duration);
 * - peak sustained: the most tickets in `peakSustainedWindowMs` of consecutive buckets of the series, per second.
 * Reports before version 3 carry `issuedPerSecond` instead: tickets divided by the time to the last ticket.
 * The metrics, the summary, the page and compare all read the rates and their names from here.
 */
import { formatCount, formatDuration } from "./format.js"
import type { Report } from "./Report.js"

/** the length of the window the peak sustained rate is read over, when the series' buckets are narrower */
export const peakSustainedWindowMs = 60_000

/** buckets in the peak's window: as many as cover `peakSustainedWindowMs`, at least one */
export const peakBucketCountFor = (bucketMs: number): number => Math.max(1, Math.round(peakSustainedWindowMs / bucketMs))

export interface PeakWindow {
  /** index of its first bucket in the series */
  readonly startIndex: number
  readonly bucketCount: number
  readonly windowMs: number
  readonly tickets: number
}

/**
 * The consecutive buckets holding the most tickets, the earliest when two hold as many. A series shorter than the
 * window is read as if the buckets after it were empty: it ends a minute after the last ticket (reports/metrics.ts).
 */
export const peakWindowOf = (issuedPerBucket: ReadonlyArray<number>, bucketMs: number): PeakWindow => {
  const bucketCount = peakBucketCountFor(bucketMs)
  let best = { startIndex: 0, tickets: 0 }
  let tickets = 0
  for (let index = 0; index < issuedPerBucket.length; index++) {
    tickets += issuedPerBucket[index] ?? 0
    if (index >= bucketCount) tickets -= issuedPerBucket[index - bucketCount] ?? 0
    const startIndex = Math.max(0, index - bucketCount + 1)
    if (tickets > best.tickets) best = { startIndex, tickets }
  }
  return { ...best, bucketCount, windowMs: bucketCount * bucketMs }
}

/** significant digits a rate keeps: 1,000 tickets over six hours are 0.04789/s, which two decimals would flatten to 0.05 */
const rateSignificantDigits = 4

export const perSecond = (tickets: number, windowMs: number): number =>
  windowMs > 0 ? Number((tickets / (windowMs / 1_000)).toPrecision(rateSignificantDigits)) : 0

/** a rate as the views show it: four significant digits below 10 ("0.04789", "1.234"), two decimals above */
export const formatRate = (value: number): string =>
  value >= 10 || value === 0 ? formatCount(value, 2) : formatCount(value, Math.min(8, rateSignificantDigits - 1 - Math.floor(Math.log10(Math.abs(value)))))

/** The rates a report carries, in the order every view shows them. */
export type RateMetric = "issuedPerSecondOverWindow" | "peakIssuedPerSecond" | "issuedPerSecond"
export const rateMetrics: ReadonlyArray<RateMetric> = ["issuedPerSecondOverWindow", "peakIssuedPerSecond", "issuedPerSecond"]

export const rateOf = (report: Report, metric: RateMetric): number | undefined => report.throughput[metric]

/** What a rate is, in words a reader checks it against: "issued per second, on-sale to scenario end (5h 48m 00s)". */
export const rateLabel = (report: Report, metric: RateMetric): string => {
  const { measuringWindowMs, peakWindowMs } = report.throughput
  switch (metric) {
    case "issuedPerSecondOverWindow":
      return `issued per second, on-sale to scenario end${measuringWindowMs === undefined ? "" : ` (${formatDuration(measuringWindowMs)})`}`
    case "peakIssuedPerSecond":
      return `peak issued per second${peakWindowMs === undefined ? "" : `, best ${formatDuration(peakWindowMs)}`}`
    case "issuedPerSecond":
      return "issued per second, on-sale to last ticket (before report version 3)"
  }
}

/** The rates this report has, each with its label. */
export const ratesOf = (report: Report): Array<{ readonly metric: RateMetric; readonly label: string; readonly value: number }> =>
  rateMetrics.flatMap((metric) => {
    const value = rateOf(report, metric)
    return value === undefined ? [] : [{ metric, label: rateLabel(report, metric), value }]
  })

/** The rate over the measuring window, which thresholds (`tickets_issued_per_second`) and the matrix read; the old rate in an old report. */
export const overWindowRateOf = (report: Report): number =>
  report.throughput.issuedPerSecondOverWindow ?? report.throughput.issuedPerSecond ?? 0
