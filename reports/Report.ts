/**
 * The run report: JSON first (this schema), then HTML and the stdout summary are rendered from it.
 * Field names follow ../shared/DESIGN.md ("reports/"). All durations are integer milliseconds.
 */
import { Schema } from "effect"

export const LatencySummary = Schema.Struct({
  count: Schema.Number,
  p50: Schema.Number,
  p90: Schema.Number,
  p99: Schema.Number,
  p999: Schema.Number,
  max: Schema.Number
})
export type LatencySummary = typeof LatencySummary.Type

export const SeriesPoint = Schema.Struct({
  /** start of the bucket, ms since the scenario's start */
  tMs: Schema.Number,
  held: Schema.Number,
  paid: Schema.Number,
  issued: Schema.Number,
  admitted: Schema.Number,
  errors: Schema.Number,
  /** payment→issuance p99 of the orders issued in this bucket (0 when none) */
  paymentToIssuanceP99Ms: Schema.Number
})
export type SeriesPoint = typeof SeriesPoint.Type

export const InvariantResult = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  violations: Schema.Number,
  /** the events or rows that break it, first few only */
  witness: Schema.optional(Schema.Array(Schema.String)),
  /** the actors (devices) whose history events the witness shows */
  actors: Schema.optional(Schema.Array(Schema.String)),
  /** command lines that reproduce it: the run, then the session of its actors (`chunyun replay`) */
  replay: Schema.optional(Schema.Array(Schema.String))
})
export type InvariantResult = typeof InvariantResult.Type

export const ThresholdResult = Schema.Struct({
  expression: Schema.String,
  passed: Schema.Boolean,
  actual: Schema.Number
})
export type ThresholdResult = typeof ThresholdResult.Type

export const Report = Schema.Struct({
  scenario: Schema.String,
  seed: Schema.Number,
  mode: Schema.Literal("virtual", "real"),
  codeVersion: Schema.String,
  configHash: Schema.String,
  traceHash: Schema.String,
  /** ISO time of the wall clock when the run started (outside the simulation: reporting only) */
  startedAt: Schema.String,
  virtualDurationMs: Schema.Number,
  wallDurationMs: Schema.Number,
  counts: Schema.Struct({
    passengers: Schema.Number,
    requests: Schema.Number,
    ordersHeld: Schema.Number,
    ordersPaid: Schema.Number,
    ticketsIssued: Schema.Number,
    admitted: Schema.Number,
    refunds: Schema.Number,
    soldOut: Schema.Number,
    errorsByTag: Schema.Record({ key: Schema.String, value: Schema.Number })
  }),
  latency: Schema.Struct({
    paymentToIssuance: LatencySummary,
    hold: LatencySummary,
    checkin: LatencySummary
  }),
  throughput: Schema.Struct({
    issuedPerSecond: Schema.Number,
    /** bucket width of `series`, ms */
    bucketMs: Schema.Number,
    series: Schema.Array(SeriesPoint)
  }),
  invariants: Schema.Array(InvariantResult),
  thresholds: Schema.Array(ThresholdResult),
  /** plain sentences a reader must know to read the numbers (sampling, scaled parameters) */
  notes: Schema.Array(Schema.String)
})
export type Report = typeof Report.Type
