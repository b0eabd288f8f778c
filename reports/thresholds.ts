/**
 * Thresholds as k6 users write them: a metric name and a list of `aggregation op value` expressions,
 *   thresholds: { payment_to_issuance: ["p(99)<500"], http_req_failed: ["rate<0.01"], invariants: ["violations==0"] }
 * in a scenario, or `--threshold "payment_to_issuance: p(99)<500"` on the command line. Parsed once: a scenario's
 * when the scenario is decoded (ScenarioThresholds), a flag's when the command line is read. An unknown metric, an aggregation the metric does not have, or a malformed expression is an error that
 * names the threshold, never a silent pass. A failed threshold makes `chunyun run` exit 99, as k6 does.
 */
import { Either, ParseResult, Schema } from "effect"
import { overWindowRateOf } from "./rates.js"
import { errorTotalOf } from "./Report.js"
import type { Report, ThresholdResult } from "./Report.js"
import { HarnessError } from "./HarnessError.js"

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

export const Threshold = Schema.Struct({
  metric: Schema.String,
  aggregation: Schema.String,
  operator: Schema.String,
  value: Schema.Number,
  /** as shown in reports: `payment_to_issuance: p(99)<500` */
  expression: Schema.String,
  /** the expression as it was written, without its metric: ` p(99) < 500` */
  source: Schema.String
})
export type Threshold = typeof Threshold.Type

export class ThresholdError extends HarnessError("ThresholdError") {}

/** the refusal of a metric's name, or undefined for a metric thresholds may name */
const unknownMetricReason = (metric: string): string | undefined => Object.hasOwn(metrics, metric) ? undefined
  : `unknown metric ${metric} (known: ${Object.keys(metrics).join(", ")})`

/** `source` (`aggregation op value`) under `metric`, or why it is refused */
const thresholdOf = (metric: string, source: string): Either.Either<Threshold, string> => {
  const match = expressionPattern.exec(source)
  if (!match) return Either.left(`expected "aggregation <op> number", e.g. "p(99)<500"`)
  const [, aggregation, operator, value] = match
  const unknownMetric = unknownMetricReason(metric)
  if (unknownMetric !== undefined) return Either.left(unknownMetric)
  if (!Object.hasOwn(metrics[metric]!, aggregation!)) {
    return Either.left(`${metric} has no ${aggregation} (it has ${Object.keys(metrics[metric]!).join(", ")})`)
  }
  return Either.right({ metric, aggregation: aggregation!, operator: operator!, value: Number(value), expression: `${metric}: ${source.trim()}`, source })
}

export const parseThreshold = (metric: string, expression: string): Threshold =>
  Either.getOrElse(thresholdOf(metric, expression), (reason) => {
    throw new ThresholdError(`threshold "${metric}: ${expression.trim()}": ${reason}`)
  })

/** `metric: expression` as given to --threshold */
export const parseThresholdFlag = (text: string): Threshold => {
  const colon = text.indexOf(":")
  if (colon < 0) throw new ThresholdError(`--threshold "${text}": expected "metric: aggregation <op> number", e.g. "payment_to_issuance: p(99)<500"`)
  return parseThreshold(text.slice(0, colon).trim(), text.slice(colon + 1))
}

const ThresholdSources = Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) })

/**
 * A scenario's thresholds, `{ metric: ["aggregation op value", …] }`, decoded to the parsed thresholds under the same
 * metrics, in the same order. An unknown metric is refused at its key, a malformed expression or an aggregation its
 * metric does not have at its place in the list; encoding gives back the expressions as they were written.
 */
export const ScenarioThresholds = Schema.transformOrFail(
  ThresholdSources,
  Schema.Record({ key: Schema.String, value: Schema.Array(Threshold) }),
  {
    strict: true,
    decode: (sources, _, ast) => {
      const parsed: Record<string, ReadonlyArray<Threshold>> = {}
      const issues: Array<ParseResult.ParseIssue> = []
      for (const [metric, expressions] of Object.entries(sources)) {
        const unknownMetric = unknownMetricReason(metric)
        if (unknownMetric !== undefined) {
          issues.push(new ParseResult.Pointer(metric, sources, new ParseResult.Type(ast, expressions, unknownMetric)))
          continue
        }
        const thresholds: Array<Threshold> = []
        expressions.forEach((source, index) => Either.match(thresholdOf(metric, source), {
          onLeft: (reason) => { issues.push(new ParseResult.Pointer([metric, index], sources, new ParseResult.Type(ast, source, reason))) },
          onRight: (threshold) => { thresholds.push(threshold) }
        }))
        parsed[metric] = thresholds
      }
      const [first, ...rest] = issues
      return first === undefined ? ParseResult.succeed(parsed)
        : ParseResult.fail(rest.length === 0 ? first : new ParseResult.Composite(ast, sources, [first, ...rest]))
    },
    encode: (parsed) => ParseResult.succeed(Object.fromEntries(
      Object.entries(parsed).map(([metric, thresholds]) => [metric, thresholds.map((threshold) => threshold.source)])
    ))
  }
)
export type ScenarioThresholds = typeof ScenarioThresholds.Type

/** a scenario's thresholds in the order they were written: metric by metric, each metric's in its list's order */
export const thresholdListOf = (thresholds: ScenarioThresholds): Array<Threshold> => Object.values(thresholds).flat()

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
