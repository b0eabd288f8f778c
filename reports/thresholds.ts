/**
 * Thresholds as k6 users write them: a metric name and a list of `aggregation op value` expressions,
 *   thresholds: { payment_to_issuance: ["p(99)<500"], http_req_failed: ["rate<0.01"], invariants: ["violations==0"] }
 * in a scenario, or `--threshold "payment_to_issuance: p(99)<500"` on the command line. Parsed once;
 * an unknown metric, an aggregation the metric does not have, or a malformed expression is an error that
 * names the threshold, never a silent pass. A failed threshold makes `chunyun run` exit 99, as k6 does.
 */
import { overWindowRateOf } from "./rates.js"
import { errorTotalOf } from "./Report.js"
import type { Report, ThresholdResult } from "./Report.js"
import { HarnessError } from "./HarnessError.js"

export type Thresholds = Readonly<Record<string, ReadonlyArray<string>>>

const expressionPattern = /^\s*([a-z_]+(?:\([0-9.]+\))?)\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/

const trendMetrics = { payment_to_issuance: "paymentToIssuance", hold: "hold", checkin: "checkin" } as const
const trendAggregations: Readonly<Record<string, keyof Report["latency"]["hold"]>> = {
  "p(50)": "p50", med: "p50", "p(90)": "p90", "p(99)": "p99", "p(99.9)": "p999", max: "max", count: "count"
}

/** every metric a threshold may name, with its aggregations and how to read them off a report */
const metrics: Readonly<Record<string, Readonly<Record<string, (report: Report) => number>>>> = {
  ...Object.fromEntries(Object.entries(trendMetrics).map(([metric, key]) => [metric, Object.fromEntries(
    Object.entries(trendAggregations).map(([aggregation, stat]) => [aggregation, (report: Report) => report.latency[key][stat]])
  )])),
  http_req_failed: {
    rate: (report) => report.counts.requests === 0 ? 0 : errorTotalOf(report) / report.counts.requests
  },
  tickets_issued_per_second: { value: overWindowRateOf },
  invariants: { violations: (report) => report.invariants.reduce((sum, invariant) => sum + invariant.violations, 0) }
}

export interface Threshold {
  readonly metric: string
  readonly aggregation: string
  readonly operator: string
  readonly value: number
  /** as shown in reports: `payment_to_issuance: p(99)<500` */
  readonly expression: string
}

export class ThresholdError extends HarnessError("ThresholdError") {}

export const parseThreshold = (metric: string, expression: string): Threshold => {
  const shown = `${metric}: ${expression.trim()}`
  const match = expressionPattern.exec(expression)
  if (!match) throw new ThresholdError(`threshold "${shown}": expected "aggregation <op> number", e.g. "p(99)<500"`)
  const [, aggregation, operator, value] = match
  if (!Object.hasOwn(metrics, metric)) {
    throw new ThresholdError(`threshold "${shown}": unknown metric ${metric} (known: ${Object.keys(metrics).join(", ")})`)
  }
  if (!Object.hasOwn(metrics[metric]!, aggregation!)) {
    throw new ThresholdError(`threshold "${shown}": ${metric} has no ${aggregation} (it has ${Object.keys(metrics[metric]!).join(", ")})`)
  }
  return { metric, aggregation: aggregation!, operator: operator!, value: Number(value), expression: shown }
}

/** `metric: expression` as given to --threshold */
export const parseThresholdFlag = (text: string): Threshold => {
  const colon = text.indexOf(":")
  if (colon < 0) throw new ThresholdError(`--threshold "${text}": expected "metric: aggregation <op> number", e.g. "payment_to_issuance: p(99)<500"`)
  return parseThreshold(text.slice(0, colon).trim(), text.slice(colon + 1))
}

export const parseThresholds = (thresholds: Thresholds): Array<Threshold> =>
  Object.entries(thresholds).flatMap(([metric, expressions]) => expressions.map((expression) => parseThreshold(metric, expression)))

const compare = (actual: number, operator: string, value: number) => {
  switch (operator) {
    case "<": return actual < value
    case "<=": return actual <= value
    case ">": return actual > value
    case ">=": return actual >= value
    case "!=": return actual !== value
    default: return actual === value
  }
}

/** the number of samples a trend threshold aggregates; undefined for a metric that is not a trend */
const samplesOf = (report: Report, threshold: Threshold): number | undefined => {
  const key = (trendMetrics as Readonly<Record<string, keyof Report["latency"]>>)[threshold.metric]
  return key === undefined ? undefined : report.latency[key].count
}

/**
 * Each threshold against the report. A trend's percentile or max over no samples fails, marked `noSamples`: a run
 * that paid for nothing has no payment→issuance p99, not one of 0 ms (its `count` is still compared as it is).
 */
export const evaluateThresholds = (report: Report, thresholds: ReadonlyArray<Threshold>): Array<ThresholdResult> =>
  thresholds.map((threshold) => {
    const actual = metrics[threshold.metric]![threshold.aggregation]!(report)
    if (threshold.aggregation !== "count" && samplesOf(report, threshold) === 0) {
      return { expression: threshold.expression, passed: false, actual, noSamples: true }
    }
    return { expression: threshold.expression, passed: compare(actual, threshold.operator, threshold.value), actual }
  })
