/**
 * Sample reports for tests across the project: a two-hour 08:00 on-sale of a popular train, in
 * five-minute buckets. Written out as data (no clock, no randomness) so every test sees the same
 * report; the counts are the sums of the series so the two never disagree.
 */
import type { MatrixRow } from "./matrix.js"
import { seededRandom } from "./bootstrap.js"
import { peakSustainedWindowMs, peakWindowOf, perSecond } from "./rates.js"
import { backgroundJourney } from "./Report.js"
import type { EndpointJourney, EndpointSummary, InvariantResult, LatencySummary, Report, SeriesPoint } from "./Report.js"

const bucketMs = 300_000
const virtualDurationMs = 7_200_000

// Per five-minute bucket from 08:00: the on-sale spike, then the long tail of late buyers.
const heldPerBucket = [9_800, 7_400, 5_200, 3_600, 2_500, 1_800, 1_300, 1_000, 800, 650, 520, 430,
  360, 300, 260, 220, 190, 160, 140, 120, 100, 90, 80, 70] as const
const errorsPerBucket = [1_240, 610, 220, 90, 40, 22, 14, 9, 6, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0] as const
const p99PerBucketMs = [412, 388, 301, 240, 198, 176, 160, 151, 145, 140, 138, 136, 135, 134, 133, 133, 132,
  132, 131, 131, 131, 130, 130, 130] as const
// Boarding opens at 09:30 (bucket 18): admissions before that would be a bug.
const boardingStartsAtBucket = 18

const seriesPoint = (held: number, index: number): SeriesPoint => {
  const paid = Math.round(held * 0.9)
  return {
    tMs: index * bucketMs,
    held,
    paid,
    issued: paid,
    admitted: index < boardingStartsAtBucket ? 0 : 2_400 + (index - boardingStartsAtBucket) * 300,
    errors: errorsPerBucket[index] ?? 0,
    paymentToIssuanceP99Ms: p99PerBucketMs[index] ?? 0,
    paymentToIssuanceP50Ms: Math.round((p99PerBucketMs[index] ?? 0) * 0.3),
    paymentToIssuanceP90Ms: Math.round((p99PerBucketMs[index] ?? 0) * 0.6),
    paymentToIssuanceP999Ms: Math.round((p99PerBucketMs[index] ?? 0) * 1.8),
    requests: Math.round(held * 11.1),
    inFlight: Math.round(held * 0.4)
  }
}

const series: ReadonlyArray<SeriesPoint> = heldPerBucket.map(seriesPoint)

const total = (pick: (point: SeriesPoint) => number): number =>
  series.reduce((sum, point) => sum + pick(point), 0)

const totalErrors = total((point) => point.errors)
const gatewayTimeouts = 42
const paymentsDeclined = 210

const requestCount = 412_640
const heldCount = total((point) => point.held)
const paidCount = total((point) => point.paid)
const admittedCount = total((point) => point.admitted)
const seatTaken = totalErrors - gatewayTimeouts - paymentsDeclined

const latencySummary = (count: number, p50: number, p90: number, p99: number, p999: number, max: number): LatencySummary =>
  ({ count, p50, p90, p99, p999, max })

/** one endpoint, its latency percentiles those of its answered requests; errors most frequent first */
const endpoint = (name: string, requests: number, errorsByTag: EndpointSummary["errorsByTag"], percentilesMs: readonly [number, number, number, number, number]): EndpointSummary => {
  const errors = errorsByTag.reduce((sum, error) => sum + error.count, 0)
  return { endpoint: name, requests, errors, errorsByTag, latency: latencySummary(requests, ...percentilesMs) }
}

// The requests of the counts, endpoint by endpoint: get-ticket takes what the others leave.
const endpointsWithoutTicket: ReadonlyArray<EndpointSummary> = [
  endpoint("search", 120_000, [], [6, 14, 41, 96, 310]),
  endpoint("register", 60_000, [], [11, 25, 70, 151, 402]),
  endpoint("login", 60_000, [], [9, 21, 62, 133, 377]),
  endpoint("hold", heldCount + seatTaken, [{ tag: "SeatTaken", status: 409, count: seatTaken }], [18, 61, 176, 402, 933]),
  endpoint("top-up", 35_000, [], [12, 30, 88, 190, 520]),
  endpoint("pay", paidCount + paymentsDeclined + gatewayTimeouts,
    [{ tag: "PaymentDeclined", status: 402, count: paymentsDeclined }, { tag: "GatewayTimeout", count: gatewayTimeouts }], [22, 71, 210, 480, 1_310]),
  endpoint("scan", admittedCount, [], [4, 9, 22, 57, 140])
]
const ticketRequests = requestCount - endpointsWithoutTicket.reduce((sum, summary) => sum + summary.requests, 0)

/** the endpoints the `sms` quarter of the mix calls too (the rest are the app's alone), and how much slower it is there */
const smsEndpoints: Readonly<Record<string, number>> = { register: 1, login: 1, "top-up": 1, hold: 1.4, pay: 3 }

/**
 * An endpoint split by journey: a quarter of its requests and errors (each tag) the `sms` journey's, at its latency
 * times its slowdown, for the endpoints in `smsEndpoints`; the rest the `app` journey's; get-ticket's polls of the
 * gateway's callbacks partly the background's.
 */
const byJourney = (summary: EndpointSummary): EndpointSummary => {
  const slowdown = smsEndpoints[summary.endpoint]
  const background = summary.endpoint === "get-ticket" ? Math.round(summary.requests / 10) : 0
  const quarter = (count: number) => slowdown === undefined ? 0 : Math.floor(count / 4)
  const share = (journey: string, part: (count: number) => number, factor: number): EndpointJourney => {
    const errorsByTag = summary.errorsByTag.map((error) => ({ ...error, count: part(error.count) })).filter((error) => error.count > 0)
    const requests = part(summary.requests)
    const { p50, p90, p99, p999, max } = summary.latency
    return {
      journey, requests, errors: errorsByTag.reduce((sum, error) => sum + error.count, 0), errorsByTag,
      latency: latencySummary(requests, ...([p50, p90, p99, p999, max].map((value) => Math.round(value * factor)) as [number, number, number, number, number]))
    }
  }
  const journeys = [
    share("app", (count) => count - quarter(count) - (count === summary.requests ? background : 0), 1),
    ...(slowdown === undefined ? [] : [share("sms", quarter, slowdown)]),
    ...(background === 0 ? [] : [share(backgroundJourney, (count) => count === summary.requests ? background : 0, 1)])
  ]
  return { ...summary, journeys }
}

const endpoints: ReadonlyArray<EndpointSummary> = [...endpointsWithoutTicket, endpoint("get-ticket", ticketRequests, [], [5, 12, 35, 80, 260])]
  .sort((left, right) => right.requests - left.requests)
  .map(byJourney)

const passingInvariants: ReadonlyArray<InvariantResult> = [
  { name: "noDoubleBooking", description: "No seat-segment held by two live orders or sold on two live tickets", violations: 0 },
  { name: "moneyConserved", description: "Every transfer balances; no wallet negative; balances equal the sum of entries", violations: 0 },
  { name: "paymentSettledOnce", description: "Every captured payment ends in exactly one issued ticket or one refund", violations: 0 },
  { name: "noTicketWithoutPayment", description: "No ticket exists without a captured payment", violations: 0 },
  { name: "noDoubleAdmission", description: "No ticket is admitted twice", violations: 0 },
  { name: "expiredHoldsReleased", description: "Every expired hold releases its seats", violations: 0 },
  { name: "carrierCapacityRespected", description: "No SIM carrier holds more than its capacity; every ticket is in one place", violations: 0 },
  { name: "idempotentRetries", description: "A retried request with the same idempotency key never charges twice", violations: 0 }
].map((invariant): InvariantResult => ({ ...invariant, source: "store" }))

/** the history audit's results beside the store's (version 4 on) */
const passingHistoryInvariants: ReadonlyArray<InvariantResult> = [
  { name: "history-no-double-booking", description: "No two clients are issued tickets for one seat on overlapping segments of a run", violations: 0, source: "history" },
  { name: "history-charged-once", description: "Every answer for one idempotency key names one charge", violations: 0, source: "history" }
]

// The payment→issuance curve through the summary's percentiles (decades of 1/(1 − p): 90% is 1, 99% is 2),
// drawn straight between them: 10 points a decade up to the 1-in-33,381 sample, then the max.
const distributionAnchors: ReadonlyArray<readonly [decades: number, valueMs: number]> = [
  [0, 12], [Math.log10(2), 96], [1, 214], [2, 398], [3, 871], [Math.log10(total((point) => point.issued)), 1_700]
]

const interpolatedMs = (decades: number): number => {
  const upper = distributionAnchors.findIndex(([anchor]) => anchor >= decades)
  const [fromDecades, fromMs] = distributionAnchors[Math.max(0, upper - 1)] ?? [0, 0]
  const [toDecades, toMs] = distributionAnchors[Math.max(0, upper)] ?? [0, 0]
  return toDecades === fromDecades ? toMs : Math.round(fromMs + ((decades - fromDecades) / (toDecades - fromDecades)) * (toMs - fromMs))
}

const distributionSteps = Math.floor(Math.log10(total((point) => point.issued)) * 10)

const paymentToIssuanceDistribution = {
  count: total((point) => point.issued),
  points: [
    ...Array.from({ length: distributionSteps + 1 }, (_, step) => ({
      percentile: Math.round((1 - 10 ** (-step / 10)) * 100_000_000) / 1_000_000,
      valueMs: interpolatedMs(step / 10)
    })),
    { percentile: 100, valueMs: 1_904 }
  ]
}

export const sampleReport: Report = {
  reportVersion: 4,
  scenario: "spring-festival",
  scenarioSummary: {
    description: "08:00 on-sale of three trains: 120,000 passengers, random segments, lost answers retried",
    onSaleAt: "2027-01-28T08:00:00+08:00",
    passengers: 120_000,
    mix: [{ journey: "app", weight: 3 }, { journey: "sms", weight: 1 }],
    arrivals: "exponential after the on-sale, mean delay 90 s",
    trains: [
      { trainCode: "G1", serviceDate: "2027-01-28", route: "BJP 09:00 → AOH 14:08, 6 stops", seats: 600, popularity: 3 },
      { trainCode: "D311", serviceDate: "2027-01-28", route: "TJP 08:50 → SZH 14:25, 4 stops", seats: 120, popularity: 1 }
    ],
    venues: [],
    faults: [{ kind: "client-timeouts", startAfterOnSaleMs: 0, endAfterOnSaleMs: 600_000, parameters: "responseLossRate 0.02, timeoutMs 5000, backoffMs 1000, maxRetries 3" }],
    thresholds: ["payment_to_issuance: p(99)<500", "invariants: violations==0"],
    server: { inventory: "conditional", batching: "per-request", issuance: "inline", payment: "wallet", holdTtlMs: 600_000 }
  },
  seed: 20_260_120,
  mode: "virtual",
  codeVersion: "0.1.0+3f9c2ab",
  configHash: "sha256:9b1e4c0f7d2a5e8b",
  traceHash: "sha256:4f7a1c9e2b8d6035a1e7c4b9f0d2863e5a7c1b9d4e6f8023a5c7e9b1d3f50718",
  startedAt: "2026-01-20T00:00:03.512Z",
  virtualDurationMs,
  wallDurationMs: 41_300,
  counts: {
    passengers: 120_000,
    requests: requestCount,
    ordersHeld: heldCount,
    ordersPaid: paidCount,
    ticketsIssued: total((point) => point.issued),
    admitted: total((point) => point.admitted),
    refunds: 318,
    soldOut: 61_450,
    errors: totalErrors,
    errorsByTag: {
      SeatTaken: seatTaken,
      PaymentDeclined: paymentsDeclined,
      GatewayTimeout: gatewayTimeouts
    }
  },
  endpoints,
  latency: {
    paymentToIssuance: { count: total((point) => point.issued), p50: 96, p90: 214, p99: 398, p999: 871, max: 1_904 },
    hold: { count: total((point) => point.held), p50: 18, p90: 61, p99: 176, p999: 402, max: 933 },
    checkin: { count: total((point) => point.admitted), p50: 4, p90: 9, p99: 22, p999: 57, max: 140 }
  },
  latencyDistribution: { paymentToIssuance: paymentToIssuanceDistribution },
  throughput: {
    measuringWindowMs: virtualDurationMs,
    issuedPerSecondOverWindow: perSecond(total((point) => point.issued), virtualDurationMs),
    peakIssuedPerSecond: perSecond(peakWindowOf(series.map((point) => point.issued), bucketMs).tickets, bucketMs),
    peakWindowMs: bucketMs,
    bucketMs,
    series
  },
  invariants: [...passingInvariants, ...passingHistoryInvariants],
  auditSources: ["store", "history"],
  thresholds: [
    { expression: "payment_to_issuance.p99 < 500", passed: true, actual: 398 },
    { expression: "hold.p99 < 250", passed: true, actual: 176 },
    { expression: "checkin.p99 < 100", passed: true, actual: 22 }
  ],
  notes: [
    "Population scaled 1:100: 120,000 simulated passengers stand for 12 million.",
    "Series buckets are 5 minutes wide; a bucket's p99 is 0 when nothing was issued in it."
  ]
}

/** The throughput as written before version 3: tickets over the time to the last ticket (the fixture's last bucket), no other rate. */
const throughputBeforeVersion3: Report["throughput"] = {
  issuedPerSecond: perSecond(total((point) => point.issued), virtualDurationMs - bucketMs),
  bucketMs,
  series
}

/**
 * A report of version 3: the store's invariants only, neither they nor the report saying where they were audited; its
 * endpoints not split by journey.
 */
export const sampleReportVersion3: Report = (() => {
  const { auditSources: _sources, ...rest } = sampleReport
  const invariants = passingInvariants.map(({ source: _source, ...invariant }) => invariant)
  return { ...rest, reportVersion: 3, invariants, endpoints: endpoints.map(({ journeys: _journeys, ...summary }) => summary) }
})()

/** A report of version 2: the rate to the last ticket instead of the rates over the measuring window and at the peak. */
export const sampleReportVersion2: Report = { ...sampleReportVersion3, reportVersion: 2, throughput: throughputBeforeVersion3 }

/** A report as written before versions (version 1): no error total, no endpoints. */
export const sampleReportVersion1: Report = (() => {
  const { reportVersion: _version, endpoints: _endpoints, scenarioSummary: _scenario, ...rest } = sampleReportVersion2
  const { errors: _errors, ...counts } = sampleReport.counts
  return { ...rest, counts }
})()

/** A report as written before the percentile distribution and the p50/p90/p99.9 series existed. */
export const sampleReportBeforeDistributions: Report = (() => {
  const { latencyDistribution: _distribution, ...rest } = sampleReportVersion1
  return {
    ...rest,
    throughput: {
      ...throughputBeforeVersion3,
      series: sampleReport.throughput.series.map(({ tMs, held, paid, issued, admitted, errors, paymentToIssuanceP99Ms }) =>
        ({ tMs, held, paid, issued, admitted, errors, paymentToIssuanceP99Ms }))
    }
  }
})()

/** Markup and a terminal escape in the witness: renderers must show it, never interpret it. */
export const hostileWitnessLine = "order <script>alert(\"held\")</script> & seat 'G1234/05A' \u001b[31m"

/** The same run with a double booking found and a threshold missed. */
export const sampleFailingReport: Report = {
  ...sampleReport,
  invariants: sampleReport.invariants.map((invariant) =>
    invariant.name === "noDoubleBooking"
      ? {
        ...invariant,
        violations: 2,
        witness: [
          "t=08:00:01.204 hold order=O-000183 seat=G1234/05A segment=Beijing→Wuhan",
          "t=08:00:01.207 hold order=O-000912 seat=G1234/05A segment=Beijing→Wuhan",
          hostileWitnessLine
        ]
      }
      : invariant
  ),
  latency: {
    ...sampleReport.latency,
    paymentToIssuance: { ...sampleReport.latency.paymentToIssuance, p99: 612, p999: 1_377 }
  },
  thresholds: sampleReport.thresholds.map((threshold) =>
    threshold.expression.startsWith("payment_to_issuance") ? { ...threshold, passed: false, actual: 612 } : threshold
  )
}

/** A design matrix row: 10 tickets, 5 ms everywhere, nothing broken, no marks; `values` set what a test is about. */
export const sampleMatrixRow = (label: string, values: Partial<MatrixRow> = {}): MatrixRow => ({
  label, variant: {}, mode: "real", reportPath: `${label}/report.json`, wallDurationMs: 0, ordersHeld: 0, ticketsIssued: 10, issuedPerSecond: 1,
  paymentToIssuanceP50Ms: 5, paymentToIssuanceP90Ms: 5, paymentToIssuanceP99Ms: 5, holdP99Ms: 5, holdConflicts: 0, holdRetries: 0,
  queueWaitP50Ms: 0, queueWaitP99Ms: 0, maxQueuePosition: 0, errors: 0, errorsByTag: {}, invariantViolations: 0, witness: [],
  underOutsideLoad: false, replay: [], best: [], ...values
})

/**
 * A run of five minutes in one-second buckets, its buckets drawn from one distribution by a seeded generator: each
 * bucket issues `ticketsPerBucket` ± 20 % tickets at payment→issuance percentiles `p99Ms` (and p50, p90, p99.9 in
 * proportion) ± 15 %. Two seeds of one distribution differ by chance alone; `ticketsPerBucket` or `p99Ms` shifted is
 * a real change. The run's percentiles are its buckets' weighted by their tickets; everything else is `sampleReport`'s.
 */
export const sampleReportFromDistribution = (seed: number, distribution: { readonly ticketsPerBucket: number; readonly p99Ms: number }): Report => {
  const random = seededRandom(seed)
  const bucketWidthMs = 1_000
  const windowMs = 600_000
  const drawn = Array.from({ length: 300 }, (_, index): SeriesPoint => {
    const issued = Math.round(distribution.ticketsPerBucket * (0.8 + 0.4 * random()))
    const p99 = Math.round(distribution.p99Ms * (0.85 + 0.3 * random()))
    return {
      tMs: index * bucketWidthMs, held: issued, paid: issued, issued, admitted: 0, errors: 0, requests: issued * 10, inFlight: issued,
      paymentToIssuanceP50Ms: Math.round(p99 * 0.3), paymentToIssuanceP90Ms: Math.round(p99 * 0.6), paymentToIssuanceP99Ms: p99,
      paymentToIssuanceP999Ms: Math.round(p99 * 1.8)
    }
  })
  const tickets = drawn.reduce((sum, point) => sum + point.issued, 0)
  const weighted = (pick: (point: SeriesPoint) => number) => Math.round(drawn.reduce((sum, point) => sum + pick(point) * point.issued, 0) / tickets)
  const p99 = weighted((point) => point.paymentToIssuanceP99Ms)
  return {
    ...sampleReport,
    counts: { ...sampleReport.counts, ordersHeld: tickets, ordersPaid: tickets, ticketsIssued: tickets },
    latency: {
      ...sampleReport.latency,
      paymentToIssuance: {
        count: tickets, p50: weighted((point) => point.paymentToIssuanceP50Ms ?? 0), p90: weighted((point) => point.paymentToIssuanceP90Ms ?? 0),
        p99, p999: weighted((point) => point.paymentToIssuanceP999Ms ?? 0), max: Math.round(p99 * 2.5)
      }
    },
    throughput: {
      measuringWindowMs: windowMs,
      issuedPerSecondOverWindow: perSecond(tickets, windowMs),
      peakIssuedPerSecond: perSecond(peakWindowOf(drawn.map((point) => point.issued), bucketWidthMs).tickets, peakSustainedWindowMs),
      peakWindowMs: peakSustainedWindowMs,
      bucketMs: bucketWidthMs,
      series: drawn
    }
  }
}
