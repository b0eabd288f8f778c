/**
 * The run report: JSON first (this schema), then HTML and the stdout summary are rendered from it.
 * Field names are those of docs/design.md ("What a run writes"). All durations are integer milliseconds.
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
  paymentToIssuanceP99Ms: Schema.Number,
  /** the bucket's other payment→issuance percentiles (0 when none); absent in reports written before them */
  paymentToIssuanceP50Ms: Schema.optional(Schema.Number),
  paymentToIssuanceP90Ms: Schema.optional(Schema.Number),
  paymentToIssuanceP999Ms: Schema.optional(Schema.Number),
  /** requests sent in the bucket, answered or not; absent before version 2 */
  requests: Schema.optional(Schema.Number),
  /** passengers between their first request and their ticket (or giving up) at any time in the bucket; absent before version 2 */
  inFlight: Schema.optional(Schema.Number)
})
export type SeriesPoint = typeof SeriesPoint.Type

/**
 * What the report's fields mean changed at each version; a reader refuses a report newer than it knows.
 * 1 (absent): errors by tag counted answered calls only. 2: every request error, answered or not (a lost answer
 * is `ResponseLost`), counted once by tag and by endpoint (`counts.errors`, `endpoints`), and the scenario shown.
 * 3: throughput rates over the scenario's fixed measuring window and the peak sustained rate
 * (`throughput.issuedPerSecondOverWindow`, `peakIssuedPerSecond`) replace `issuedPerSecond`, tickets divided by the
 * time to the last ticket, which fell when a run issued more tickets but its last one later.
 * 4: the invariants come from two audits, of the store and of the history of client observations: each says its
 * `source`, and `auditSources` lists the audits that ran (a run against a server the harness did not start may have
 * no store to audit, so its invariants are the history's alone); `target` names such a server.
 */
export const currentReportVersion = 4

/**
 * Where an invariant was checked: `store`, SQL over the server's tables (with the history's events for witnesses
 * and for what only clients saw), or `history`, the run's history of client observations alone.
 */
export const auditSources = ["store", "history"] as const
export const AuditSource = Schema.Literal(...auditSources)
export type AuditSource = typeof AuditSource.Type

/** An error count of one tag; `status` is the HTTP status the contract gives the tag, absent when no answer came. */
export const ErrorCount = Schema.Struct({
  tag: Schema.String,
  status: Schema.optional(Schema.Number),
  count: Schema.Number
})
export type ErrorCount = typeof ErrorCount.Type

/** The requests sent (answered or not), the errors among them by tag, and the latency of the answered ones. */
const endpointFields = {
  requests: Schema.Number,
  errors: Schema.Number,
  /** most frequent first */
  errorsByTag: Schema.Array(ErrorCount),
  latency: LatencySummary
}
export const EndpointFields = Schema.Struct(endpointFields)
export type EndpointFields = typeof EndpointFields.Type

/**
 * The label of the requests no passenger's journey made: background actors (a kiosk attendant's rounds, a gateway's
 * pull loop, offline gates' syncs), faults, the operator. Never a journey kind's name.
 */
export const backgroundJourney = "background"

/** An endpoint's requests made in one journey kind (`app`, `sms` … or `backgroundJourney`). */
export const EndpointJourney = Schema.Struct({
  journey: Schema.String,
  ...endpointFields
})
export type EndpointJourney = typeof EndpointJourney.Type

/**
 * One endpoint, named as the devices name their calls in the history (search, register, login, top-up, hold, pay …):
 * the requests sent (answered or not), the errors among them by tag, and the latency of the answered ones.
 */
export const EndpointSummary = Schema.Struct({
  endpoint: Schema.String,
  ...endpointFields,
  /**
   * the same per journey kind that called it, busiest first: their requests and errors add up to the endpoint's.
   * A call counts for the journey of the passenger it was made for, a shared device's (a kiosk's, a call-centre
   * agent's) included. Absent in reports written before it.
   */
  journeys: Schema.optional(Schema.Array(EndpointJourney))
})
export type EndpointSummary = typeof EndpointSummary.Type

/** one point of an HdrHistogram-style percentile distribution: `percentile` in 0..100, its latency */
export const PercentilePoint = Schema.Struct({
  percentile: Schema.Number,
  valueMs: Schema.Number
})
export type PercentilePoint = typeof PercentilePoint.Type

export const LatencyDistribution = Schema.Struct({
  count: Schema.Number,
  /** ascending in percentile, evenly spaced on the 1/(1 − p) scale, the last one at 100 (the max) */
  points: Schema.Array(PercentilePoint)
})
export type LatencyDistribution = typeof LatencyDistribution.Type

export const InvariantResult = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  violations: Schema.Number,
  /** the events or rows that break it, first few only */
  witness: Schema.optional(Schema.Array(Schema.String)),
  /** the actors (devices) whose history events the witness shows */
  actors: Schema.optional(Schema.Array(Schema.String)),
  /** command lines that reproduce it: the run, then the session of its actors (`chunyun replay`) */
  replay: Schema.optional(Schema.Array(Schema.String)),
  /** the audit that checked it; absent before version 4, when every invariant was the store's */
  source: Schema.optional(AuditSource)
})
export type InvariantResult = typeof InvariantResult.Type

export const ThresholdResult = Schema.Struct({
  expression: Schema.String,
  passed: Schema.Boolean,
  actual: Schema.Number,
  /** the metric had no samples to aggregate (a percentile of no latencies): the threshold fails, `actual` means nothing */
  noSamples: Schema.optional(Schema.Literal(true))
})
export type ThresholdResult = typeof ThresholdResult.Type

/**
 * The gates, when they had something to tell: how people got in, what the offline gates' syncs found (the
 * stadium's), and the codes a camera could not read (glare, blur) and the phones that enlarged them.
 */
export const GateSummary = Schema.Struct({
  admittedOnline: Schema.Number,
  /** admitted by a gate without its link, on the signature alone; each reported at the gate's sync */
  admittedOffline: Schema.Number,
  /** read from a SIM carrier over RFID/NFC rather than a QR */
  admittedByCarrier: Schema.Number,
  /** captures the camera could not decode (glare), each followed by another presentation */
  glareRetries: Schema.Number,
  /** captures an app phone's code could not be read from (glare, blur); absent in reports written before it was counted */
  qrUnreadable: Schema.optional(Schema.Number),
  /** times an app phone enlarged its code after an unreadable capture and showed it again */
  qrEnlarged: Schema.optional(Schema.Number),
  /** admissions read from a code shown enlarged */
  admittedEnlarged: Schema.optional(Schema.Number),
  /** passengers whose code no camera capture could read, even enlarged, and who gave up */
  unreadableGaveUp: Schema.optional(Schema.Number),
  syncBatches: Schema.Number,
  /** the server's verdicts on the synced offline admissions */
  synced: Schema.Struct({ admitted: Schema.Number, double: Schema.Number, invalid: Schema.Number, bindingMismatch: Schema.Number }),
  /** double admissions the server reports after the syncs (GET /admin/gates/offline-admissions) */
  doublesFound: Schema.Number
})
export type GateSummary = typeof GateSummary.Type

/** The scenario as it ran, in words and numbers a reader checks the results against. */
export const ScenarioSummary = Schema.Struct({
  description: Schema.String,
  /** ISO instants, as the scenario wrote them */
  onSaleAt: Schema.String,
  endAt: Schema.optional(Schema.String),
  passengers: Schema.Number,
  /** each journey kind with its weight, heaviest first */
  mix: Schema.Array(Schema.Struct({ journey: Schema.String, weight: Schema.Number })),
  /** how passengers arrive: a k6 executor, an arrival ramp or the exponential curve */
  arrivals: Schema.String,
  trains: Schema.Array(Schema.Struct({
    trainCode: Schema.String,
    serviceDate: Schema.String,
    /** "BJP 09:00 → AOH 14:08, 6 stops" */
    route: Schema.String,
    seats: Schema.Number,
    popularity: Schema.Number
  })),
  /** a cinema's or an event's one-line description */
  venues: Schema.Array(Schema.String),
  faults: Schema.Array(Schema.Struct({
    kind: Schema.String,
    /** ms after the on-sale */
    startAfterOnSaleMs: Schema.Number,
    endAfterOnSaleMs: Schema.Number,
    /** "responseLossRate 0.02, timeoutMs 5000" */
    parameters: Schema.String
  })),
  /** "payment_to_issuance: p(99)<500" */
  thresholds: Schema.Array(Schema.String),
  /** the server's design knobs */
  server: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean) })
})
export type ScenarioSummary = typeof ScenarioSummary.Type

export const Report = Schema.Struct({
  /** `currentReportVersion` when written; absent in reports written before versions (1) */
  reportVersion: Schema.optional(Schema.Int.pipe(Schema.positive())),
  scenario: Schema.String,
  /** what the scenario set up; absent before version 2 */
  scenarioSummary: Schema.optional(ScenarioSummary),
  seed: Schema.Number,
  mode: Schema.Literal("virtual", "real"),
  /** the base URL of the server a real run drove when it did not start one (`chunyun run --target`); absent otherwise */
  target: Schema.optional(Schema.String),
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
    /** paid orders: one per purchase paid, and one per ticket of a group order (the server writes an order per holder) */
    ordersPaid: Schema.Number,
    ticketsIssued: Schema.Number,
    admitted: Schema.Number,
    refunds: Schema.Number,
    soldOut: Schema.Number,
    /** passengers due at or after the scenario's endAt, who did not come; absent in reports written before it */
    arrivalsCut: Schema.optional(Schema.Number),
    /** every request error, answered or not: the sum of `errorsByTag` and of the endpoints' errors; absent before version 2 */
    errors: Schema.optional(Schema.Number),
    errorsByTag: Schema.Record({ key: Schema.String, value: Schema.Number })
  }),
  /** per endpoint, busiest first; absent before version 2 */
  endpoints: Schema.optional(Schema.Array(EndpointSummary)),
  latency: Schema.Struct({
    paymentToIssuance: LatencySummary,
    hold: LatencySummary,
    checkin: LatencySummary
  }),
  /** the whole payment→issuance curve; absent in reports written before it */
  latencyDistribution: Schema.optional(Schema.Struct({ paymentToIssuance: LatencyDistribution })),
  throughput: Schema.Struct({
    /** tickets divided by the time from the on-sale to the last ticket; written before version 3 only */
    issuedPerSecond: Schema.optional(Schema.Number),
    /**
     * the measuring window, ms: from the on-sale to the scenario's end (its `endAt`, or the last boarding departure
     * plus the gates' closing margin), the same for every run of one scenario; absent before version 3
     */
    measuringWindowMs: Schema.optional(Schema.Number),
    /** tickets issued in the measuring window divided by its length in seconds; absent before version 3 */
    issuedPerSecondOverWindow: Schema.optional(Schema.Number),
    /** the most tickets issued in `peakWindowMs` of consecutive buckets of `series`, per second; absent before version 3 */
    peakIssuedPerSecond: Schema.optional(Schema.Number),
    /** the length of the peak's window: `peakSustainedWindowMs`, or one bucket when a bucket is wider; absent before version 3 */
    peakWindowMs: Schema.optional(Schema.Number),
    /** bucket width of `series`, ms */
    bucketMs: Schema.Number,
    series: Schema.Array(SeriesPoint)
  }),
  invariants: Schema.Array(InvariantResult),
  /** the audits that ran, in this order: `store`, `history`; absent before version 4 (the store's alone) */
  auditSources: Schema.optional(Schema.Array(AuditSource)),
  /** present when the run had gates that can go offline */
  gates: Schema.optional(GateSummary),
  thresholds: Schema.Array(ThresholdResult),
  /** plain sentences a reader must know to read the numbers (sampling, scaled parameters) */
  notes: Schema.Array(Schema.String)
})
export type Report = typeof Report.Type

/** The audits a report's invariants came from: `auditSources`, or the store's alone in a report before version 4. */
export const auditSourcesOf = (report: Report): ReadonlyArray<AuditSource> => report.auditSources ?? ["store"]

/** An invariant's audit: its `source`, or the store's in a report before version 4. */
export const auditSourceOf = (invariant: InvariantResult): AuditSource => invariant.source ?? "store"

/** Which audits ran, in words: "the store and the history", "the history alone (no store was audited)". */
export const auditSourcesText = (sources: ReadonlyArray<AuditSource>): string => {
  const names: Record<AuditSource, string> = { store: "the store", history: "the history of client observations" }
  if (sources.length === 1 && sources[0] === "history") return `${names.history} alone (no store was audited)`
  return sources.map((source) => names[source]).join(" and ")
}

/** The run's request errors: the one total every view shows (a report before version 2 has only the tags to add up). */
export const errorTotalOf = (report: Report): number =>
  report.counts.errors ?? Object.values(report.counts.errorsByTag).reduce((sum, count) => sum + count, 0)
