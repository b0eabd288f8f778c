/**
 * Metrics derived from the history: counts, HDR-histogram latency percentiles and per-bucket series.
 * Derived after the run rather than counted during it, so the history stays the single record.
 */
import * as hdr from "hdr-histogram-js"
import { peakWindowOf, perSecond } from "./rates.js"
import { backgroundJourney } from "./Report.js"
import type { EndpointFields, EndpointSummary, GateSummary, LatencyDistribution, LatencySummary, Report, SeriesPoint } from "./Report.js"
import { httpStatusOf } from "../simulator/ErrorStatuses.js"
import type { History } from "../simulator/History.js"
import type { HistoryEvent, HistoryKind } from "../devices/HistoryEvents.js"

/** bucket widths the series may use; the smallest that keeps it within `maxSeriesBuckets` is chosen */
export const seriesBucketChoicesMs = [1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000]
export const maxSeriesBuckets = 300
/** how long after the last issued ticket the series window stays open */
export const seriesTailMs = 60_000

export const bucketWidthFor = (spanMs: number) =>
  seriesBucketChoicesMs.find((widthMs) => spanMs / widthMs <= maxSeriesBuckets) ?? seriesBucketChoicesMs[seriesBucketChoicesMs.length - 1]!

/**
 * The series covers the sales window: from the on-sale to a minute after the last ticket was issued.
 * The rush is minutes long and the gates open hours later; one axis for both flattens the rush to a spike.
 */
export const salesWindowOf = (history: History, fromMs: number, toMs: number) => {
  let lastIssuedMs: number | undefined
  for (const event of history.read()) if (ok("ticket-received")(event)) lastIssuedMs = Math.max(lastIssuedMs ?? event.atMs, event.atMs)
  if (lastIssuedMs === undefined) lastIssuedMs = toMs
  return { fromMs, toMs: Math.min(toMs, Math.max(fromMs + 1, lastIssuedMs + seriesTailMs)) }
}
const maxTrackableLatencyMs = 24 * 3_600_000

/** distribution points per tenfold step of 1/(1 − p): 0%, 20.6%, 36.9% … 90%, 92.1% … 99% … */
export const distributionStepsPerDecade = 10
/** 99.9999%: beyond it a run of this size has no data, the max stands for the rest */
export const maxDistributionDecades = 6

/** A histogram of the values and what it reads; `atPercentile` never reads above the largest value recorded. */
interface Recorded {
  /** HDR's value at the percentile: the top of its bucket (3 significant digits), clamped to the max */
  readonly atPercentile: (percentile: number) => number
  readonly max: number
}

const newLatencyHistogram = () =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: maxTrackableLatencyMs, numberOfSignificantValueDigits: 3 })

/** What a filled histogram reads, given the largest value recorded into it. */
const recordedOf = (histogram: hdr.Histogram, max: number): Recorded =>
  // the top of the max's bucket is above the max itself (5,737 ms reads 5,739): a percentile never exceeds the max
  ({ atPercentile: (percentile) => Math.min(histogram.getValueAtPercentile(percentile), max), max })

const withHistogram = <A>(valuesMs: ReadonlyArray<number>, read: (recorded: Recorded) => A): A => {
  const histogram = newLatencyHistogram()
  try {
    let max = 0
    for (const value of valuesMs) {
      const recorded = Math.max(0, Math.round(value))
      histogram.recordValue(recorded)
      if (recorded > max) max = recorded
    }
    return read(recordedOf(histogram, max))
  } finally {
    histogram.destroy()
  }
}

const emptySummary: LatencySummary = { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 }

const summaryOf = (count: number, { atPercentile, max }: Recorded): LatencySummary =>
  ({ count, p50: atPercentile(50), p90: atPercentile(90), p99: atPercentile(99), p999: atPercentile(99.9), max })

export const summarize = (valuesMs: ReadonlyArray<number>): LatencySummary =>
  valuesMs.length === 0 ? emptySummary : withHistogram(valuesMs, (recorded) => summaryOf(valuesMs.length, recorded))

/**
 * The percentile curve HdrHistogram plots: points evenly spaced on the 1/(1 − p) scale, up to the
 * percentile one sample in `count` stands for (past it every value is the max), then the max at 100.
 */
export const distributionOf = (valuesMs: ReadonlyArray<number>): LatencyDistribution => {
  if (valuesMs.length === 0) return { count: 0, points: [] }
  const stepCount = Math.min(maxDistributionDecades * distributionStepsPerDecade,
    Math.floor(Math.log10(valuesMs.length) * distributionStepsPerDecade))
  return withHistogram(valuesMs, ({ atPercentile, max }) => {
    const percentiles = Array.from({ length: stepCount + 1 }, (_, step) =>
      // rounded so the JSON carries 36.904266 rather than 36.90426555198303
      Math.round((1 - 10 ** (-step / distributionStepsPerDecade)) * 100_000_000) / 1_000_000)
    const points = percentiles.map((percentile) => ({ percentile, valueMs: atPercentile(percentile) }))
    return { count: valuesMs.length, points: [...points, { percentile: 100, valueMs: max }] }
  })
}

const isCall = (event: HistoryEvent) => event.durationMs !== undefined
/** the outcome of a request whose answer the client-timeouts fault lost (devices/ClientRetries.ts): it has no latency */
export const lostAnswerOutcome = "ResponseLost"
/** a request a device sent: a call answered (it has a latency), or one whose answer was lost */
export const isRequest = (event: HistoryEvent) => isCall(event) || event.outcome === lostAnswerOutcome
/**
 * A request error: answered with an error, or not answered. The one definition the progress line, the summary and
 * the HTML count by; a passenger giving up, a camera's unreadable capture or a dropped iteration is not a request.
 */
export const isRequestError = (event: HistoryEvent) => isRequest(event) && event.outcome !== "ok"

interface EndpointTally {
  requests: number
  errors: number
  readonly errorsByTag: Map<string, number>
  /** latencies of the answered requests; absent when the tally counts only */
  readonly latency?: hdr.Histogram
  maxMs: number
  /** the same, per journey kind (`backgroundJourney` for the calls of no passenger's journey); absent unless split */
  readonly byJourney?: Map<string, EndpointTally>
}

const byCountThenName = <A extends { readonly count: number; readonly name: string }>(left: A, right: A) =>
  right.count - left.count || (left.name < right.name ? -1 : left.name > right.name ? 1 : 0)

const newEndpointTally = (options: RequestTallyOptions, split: boolean): EndpointTally => ({
  requests: 0, errors: 0, errorsByTag: new Map(), maxMs: 0,
  ...(options.latency ? { latency: newLatencyHistogram() } : {}),
  ...(split ? { byJourney: new Map() } : {})
})

const recordInto = (tally: EndpointTally, event: HistoryEvent): void => {
  tally.requests++
  if (event.durationMs !== undefined && tally.latency !== undefined) {
    const latencyMs = Math.min(maxTrackableLatencyMs, Math.max(0, Math.round(event.durationMs)))
    tally.latency.recordValue(latencyMs)
    tally.maxMs = Math.max(tally.maxMs, latencyMs)
  }
  if (event.outcome === "ok") return
  tally.errors++
  tally.errorsByTag.set(event.outcome, (tally.errorsByTag.get(event.outcome) ?? 0) + 1)
}

/** An endpoint's (or one journey's share of it) requests, errors by tag with their HTTP status, and latency. */
const endpointFieldsOf = (tally: EndpointTally): EndpointFields => ({
  requests: tally.requests,
  errors: tally.errors,
  errorsByTag: [...tally.errorsByTag]
    .map(([tag, count]) => ({ name: tag, count }))
    .sort(byCountThenName)
    .map(({ name: tag, count }) => {
      const status = httpStatusOf(tag)
      return status === undefined ? { tag, count } : { tag, status, count }
    }),
  latency: tally.latency === undefined || tally.latency.totalCount === 0
    ? emptySummary
    : summaryOf(tally.latency.totalCount, recordedOf(tally.latency, tally.maxMs))
})

/** busiest first, then by name */
const busiestFirst = (tallies: ReadonlyMap<string, EndpointTally>) =>
  [...tallies].map(([name, tally]) => ({ name, count: tally.requests, tally })).sort(byCountThenName)

const destroyTally = (tally: EndpointTally): void => {
  tally.latency?.destroy()
  for (const journey of tally.byJourney?.values() ?? []) destroyTally(journey)
}

export interface RequestTallyOptions {
  /** keep an HDR histogram of each endpoint's answered requests */
  readonly latency: boolean
  /** each endpoint's requests per journey kind too, as `record` is told each event's journey */
  readonly byJourney?: boolean
}

/**
 * Requests and their errors by endpoint (the history's kind) and by tag, read from the history's events as they
 * are recorded: `readNew` takes only the events added since its last call, so the progress line pays per event
 * once. With `latency`, each endpoint keeps an HDR histogram of its answered requests; with `journeysOf`, each
 * endpoint's tally is also kept per journey kind; `close` frees the histograms.
 */
export class RequestTally {
  private readEvents = 0
  private readonly byEndpoint = new Map<string, EndpointTally>()
  private readonly byTag = new Map<string, number>()
  requests = 0
  errors = 0

  constructor(private readonly options: RequestTallyOptions) {}

  /** counts `event`, recorded for `journey` (undefined: a background actor's) */
  record(event: HistoryEvent, journey?: string): void {
    if (!isRequest(event)) return
    const split = this.options.byJourney === true
    let endpoint = this.byEndpoint.get(event.kind)
    if (endpoint === undefined) {
      endpoint = newEndpointTally(this.options, split)
      this.byEndpoint.set(event.kind, endpoint)
    }
    this.requests++
    recordInto(endpoint, event)
    if (endpoint.byJourney !== undefined) {
      const journeyName = journey ?? backgroundJourney
      let share = endpoint.byJourney.get(journeyName)
      if (share === undefined) {
        share = newEndpointTally(this.options, false)
        endpoint.byJourney.set(journeyName, share)
      }
      recordInto(share, event)
    }
    if (event.outcome === "ok") return
    this.errors++
    this.byTag.set(event.outcome, (this.byTag.get(event.outcome) ?? 0) + 1)
  }

  /** Counts the events `history` recorded since the last call, each with its journey. */
  readNew(history: History): this {
    for (const [event, journey] of history.readWithJourneys(this.readEvents)) {
      this.readEvents++
      this.record(event, journey)
    }
    return this
  }

  errorsByTag(): Record<string, number> {
    return Object.fromEntries([...this.byTag].sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)))
  }

  /**
   * busiest endpoint first; a latency summary of zeros when the tally counts only; split by journey, each endpoint's
   * journeys too, busiest first
   */
  endpoints(): Array<EndpointSummary> {
    return busiestFirst(this.byEndpoint).map(({ name, tally }) => ({
      endpoint: name,
      ...endpointFieldsOf(tally),
      ...(tally.byJourney === undefined ? {} : {
        journeys: busiestFirst(tally.byJourney).map(({ name: journey, tally: share }) => ({ journey, ...endpointFieldsOf(share) }))
      })
    }))
  }

  close(): void {
    for (const tally of this.byEndpoint.values()) destroyTally(tally)
  }
}

/** The history's requests by endpoint, tag and journey kind, read in one pass. */
export const requestTallyOf = <A>(history: History, read: (tally: RequestTally) => A): A => {
  const tally = new RequestTally({ latency: true, byJourney: true }).readNew(history)
  try {
    return read(tally)
  } finally {
    tally.close()
  }
}

export const endpointsOf = (history: History): Array<EndpointSummary> => requestTallyOf(history, (tally) => tally.endpoints())
const ok = (kind: HistoryKind) => (event: HistoryEvent) => event.kind === kind && event.outcome === "ok"
/**
 * a seat held: by the app, SMS and kiosk phones (`hold`), a cinema phone choosing its seat (`hold-seat`), or a remote
 * booking made in the app (`book-remote`) or by a call-centre agent (`book-for-caller`)
 */
export const isHeld = (event: HistoryEvent) =>
  ok("hold")(event) || ok("hold-seat")(event) || ok("book-remote")(event) || ok("book-for-caller")(event)
const paymentToIssuanceOf = (event: HistoryEvent) => Number(event.detail?.paymentToIssuanceMs ?? 0)
/**
 * Orders an event paid: a purchase's `pay` (or a remote booking's `pay-remote` at a kiosk) one, or the gateway's capture a phone saw (`gateway-captured`); a group order (reference/ticketing/GroupOrders.ts) one per ticket,
 * as the server writes one paid order per holder. So "orders paid" counts orders, as its label says, and a
 * run's orders paid match its tickets issued whoever bought them.
 */
const ordersPaidBy = (event: HistoryEvent) =>
  ok("pay")(event) || ok("pay-remote")(event) || ok("gateway-captured")(event) ? 1 : ok("group-order")(event) ? Number(event.detail?.tickets ?? 0) : 0

/** Orders an event held: a hold one (`isHeld`), a group order one per ticket (its orders are held and paid in one request). */
const ordersHeldBy = (event: HistoryEvent) => isHeld(event) ? 1 : ok("group-order")(event) ? Number(event.detail?.tickets ?? 0) : 0

/** a passenger who gave up for one of these found nothing left: at search, at the hold, or on the seat map */
const soldOutReasons: ReadonlyArray<string> = ["no seats at search", "SoldOut", "NoSeatOnMap"]

/**
 * The run's counts over every journey kind, read from the history's events as they are recorded: `readNew` takes only
 * the events added since its last call. The progress display reads it during a run and the report's counts at its
 * end, so the two count alike.
 */
export class CountsTally {
  private readEvents = 0
  readonly requests = new RequestTally({ latency: false })
  held = 0
  paid = 0
  issued = 0
  admitted = 0
  soldOut = 0
  /** iterations a load executor did not start (`maxVus` busy) */
  dropped = 0

  record(event: HistoryEvent): void {
    this.requests.record(event)
    this.held += ordersHeldBy(event)
    this.paid += ordersPaidBy(event)
    if (ok("ticket-received")(event)) this.issued++
    else if (ok("scan")(event)) this.admitted++
    else if (event.kind === "gave-up" && soldOutReasons.includes(event.outcome)) this.soldOut++
    else if (event.kind === "dropped-iteration") this.dropped++
  }

  /** Counts the events `history` recorded since the last call. */
  readNew(history: History): this {
    for (const event of history.readFrom(this.readEvents)) {
      this.readEvents++
      this.record(event)
    }
    return this
  }
}

export const countsOf = (history: History, passengers: number): Report["counts"] => {
  const counts = new CountsTally().readNew(history)
  return {
    passengers,
    requests: counts.requests.requests,
    ordersHeld: counts.held,
    ordersPaid: counts.paid,
    ticketsIssued: counts.issued,
    admitted: counts.admitted,
    refunds: 0,
    soldOut: counts.soldOut,
    errors: counts.requests.errors,
    errorsByTag: counts.requests.errorsByTag()
  }
}

/** The payment-to-issuance latency of every ticket received, in order. */
const paymentToIssuanceLatencies = (history: History): Array<number> => {
  const latencies: Array<number> = []
  for (const event of history.read()) if (ok("ticket-received")(event)) latencies.push(paymentToIssuanceOf(event))
  return latencies
}

export const latencyOf = (history: History): Report["latency"] => {
  const hold: Array<number> = []
  const checkin: Array<number> = []
  for (const event of history.read()) {
    if (isHeld(event)) hold.push(event.durationMs ?? 0)
    else if (ok("scan")(event)) checkin.push(event.durationMs ?? 0)
  }
  return { paymentToIssuance: summarize(paymentToIssuanceLatencies(history)), hold: summarize(hold), checkin: summarize(checkin) }
}

export const latencyDistributionOf = (history: History): NonNullable<Report["latencyDistribution"]> => ({
  paymentToIssuance: distributionOf(paymentToIssuanceLatencies(history))
})

/**
 * The per-bucket series over the sales window (`fromMs`..`toMs`), and the ticket rates: over the measuring window
 * (`fromMs`..`measuringEndMs`, the scenario's end: the same length for every run of one scenario) and the peak
 * sustained one (reports/rates.ts).
 */
export const throughputOf = (history: History, fromMs: number, toMs: number, measuringEndMs: number): Report["throughput"] => {
  const bucketMs = bucketWidthFor(toMs - fromMs)
  const bucketCount = Math.max(1, Math.ceil((toMs - fromMs) / bucketMs))
  const buckets = Array.from({ length: bucketCount }, (_, index) => ({
    tMs: index * bucketMs, held: 0, paid: 0, issued: 0, admitted: 0, errors: 0, latencies: [] as Array<number>
  }))
  const requests = Array.from({ length: bucketCount }, () => 0)
  let issuedInWindow = 0
  for (const event of history.read()) {
    if (ok("ticket-received")(event) && event.atMs >= fromMs && event.atMs < measuringEndMs) issuedInWindow++
    if (event.atMs < fromMs || event.atMs >= toMs) continue
    const index = Math.min(bucketCount - 1, Math.floor((event.atMs - fromMs) / bucketMs))
    if (isRequest(event)) requests[index]!++
    const bucket = buckets[index]!
    bucket.held += ordersHeldBy(event)
    bucket.paid += ordersPaidBy(event)
    if (ok("ticket-received")(event)) { bucket.issued++; bucket.latencies.push(paymentToIssuanceOf(event)) }
    else if (ok("scan")(event)) bucket.admitted++
    else if (isRequestError(event)) bucket.errors++
  }
  const inFlight = inFlightPerBucket(history, fromMs, bucketMs, bucketCount)
  const series: Array<SeriesPoint> = buckets.map(({ latencies, ...point }, index) => {
    const summary = summarize(latencies)
    return {
      ...point, paymentToIssuanceP99Ms: summary.p99,
      paymentToIssuanceP50Ms: summary.p50, paymentToIssuanceP90Ms: summary.p90, paymentToIssuanceP999Ms: summary.p999,
      requests: requests[index] ?? 0, inFlight: inFlight[index] ?? 0
    }
  })
  const measuringWindowMs = Math.max(0, measuringEndMs - fromMs)
  const peak = peakWindowOf(series.map((point) => point.issued), bucketMs)
  return {
    measuringWindowMs,
    issuedPerSecondOverWindow: perSecond(issuedInWindow, measuringWindowMs),
    peakIssuedPerSecond: perSecond(peak.tickets, peak.windowMs),
    peakWindowMs: peak.windowMs,
    bucketMs,
    series
  }
}

/** a passenger's purchase is over at its ticket or when it gives up; its later requests (the gate) are not in flight */
const endsPurchase = (event: HistoryEvent) => ok("ticket-received")(event) || event.kind === "gave-up"

/**
 * Passengers in flight per bucket: each actor that sent a request, from its first request to the end of its purchase
 * (or its last request when it has none), counted in every bucket that span touches.
 */
export const inFlightPerBucket = (history: History, fromMs: number, bucketMs: number, bucketCount: number): Array<number> => {
  const spans = new Map<string, { firstMs: number; lastMs: number; ended: boolean }>()
  for (const event of history.read()) {
    const span = spans.get(event.actor)
    if (span === undefined) {
      if (isRequest(event)) spans.set(event.actor, { firstMs: event.atMs, lastMs: event.atMs, ended: false })
      continue
    }
    if (span.ended) continue
    if (endsPurchase(event)) { span.lastMs = event.atMs; span.ended = true } else if (isRequest(event)) span.lastMs = event.atMs
  }
  // +1 where a span's first bucket starts, −1 after its last: the running sum is the count per bucket
  const changes = Array.from({ length: bucketCount + 1 }, () => 0)
  const bucketOf = (atMs: number) => Math.floor((atMs - fromMs) / bucketMs)
  for (const { firstMs, lastMs } of spans.values()) {
    const first = Math.max(0, bucketOf(firstMs))
    const last = Math.min(bucketCount - 1, bucketOf(lastMs))
    if (first > last) continue
    changes[first]!++
    changes[last + 1]!--
  }
  let running = 0
  return changes.slice(0, bucketCount).map((change) => (running += change))
}

const numberIn = (event: HistoryEvent, key: string) => Number(event.detail?.[key] ?? 0)

/** The gates' summary, when the run had gates that sync offline admissions or codes a camera could not read; else undefined. */
export const gatesOf = (history: History): GateSummary | undefined => {
  const syncs: Array<HistoryEvent> = []
  let lastReport: HistoryEvent | undefined
  let glareRetries = 0, qrUnreadable = 0, qrEnlarged = 0, unreadableGaveUp = 0
  let admittedOnline = 0, admittedOffline = 0, admittedByCarrier = 0, admittedEnlarged = 0, admittedVia = 0
  for (const event of history.read()) {
    if (ok("gate-sync")(event)) syncs.push(event)
    else if (ok("offline-report")(event)) lastReport = event
    else if (event.kind === "glare-retry") glareRetries++
    else if (event.kind === "qr-unreadable") qrUnreadable++
    else if (event.kind === "qr-enlarged") qrEnlarged++
    else if (event.kind === "gave-up" && event.outcome === "UnreadableCode") unreadableGaveUp++
    else if (ok("scan")(event)) {
      if (event.detail?.offline === true) admittedOffline++
      else admittedOnline++
      if (event.detail?.via !== undefined) admittedVia++
      if (event.detail?.via === "carrier") admittedByCarrier++
      if (numberIn(event, "enlargeFactor") > 1) admittedEnlarged++
    }
  }
  if (syncs.length === 0 && glareRetries === 0 && qrUnreadable === 0 && admittedVia === 0) return undefined
  const sum = (key: string) => syncs.reduce((total, event) => total + numberIn(event, key), 0)
  return {
    admittedOnline,
    admittedOffline,
    admittedByCarrier,
    glareRetries,
    qrUnreadable,
    qrEnlarged,
    admittedEnlarged,
    unreadableGaveUp,
    syncBatches: sum("batches"),
    synced: { admitted: sum("admitted"), double: sum("double"), invalid: sum("invalid"), bindingMismatch: sum("binding-mismatch") },
    doublesFound: lastReport ? numberIn(lastReport, "double") : sum("double")
  }
}
