import assert from "node:assert/strict"
import { test } from "node:test"
import { httpStatusOf } from "../simulator/ErrorStatuses.js"
import { Effect } from "effect"
import { backgroundJourney } from "./Report.js"
import { currentJourney, History } from "../simulator/History.js"
import type { HistoryEvent, HistoryKind } from "../devices/HistoryEvents.js"
import { countsOf, distributionOf, endpointsOf, gatesOf, RequestTally, salesWindowOf, summarize, throughputOf } from "./metrics.js"

const oneToThousandMs = Array.from({ length: 1_000 }, (_, index) => index + 1)

test("the distribution has 10 points a decade of 1/(1 − p) up to one sample in n, then the max at 100%", () => {
  const distribution = distributionOf(oneToThousandMs)
  assert.equal(distribution.count, 1_000)
  // 1,000 samples reach 99.9% (three decades): 30 steps, the 0% point and the max
  assert.equal(distribution.points.length, 32)
  assert.deepEqual(distribution.points.slice(0, 2).map((point) => point.percentile), [0, 20.567177])
  assert.deepEqual(distribution.points.at(-2), { percentile: 99.9, valueMs: 999 })
  assert.deepEqual(distribution.points.at(-1), { percentile: 100, valueMs: 1_000 })
  const at = (percentile: number) => distribution.points.find((point) => point.percentile === percentile)?.valueMs
  assert.equal(at(90), 900)
  assert.equal(at(99), 990)
  assert.ok(distribution.points.every((point, index, points) =>
    index === 0 || (point.percentile > (points[index - 1]?.percentile ?? Infinity) && point.valueMs >= (points[index - 1]?.valueMs ?? Infinity))))
})

test("the distribution agrees with the summary's percentiles (same histogram)", () => {
  const skewedMs = oneToThousandMs.map((value) => Math.round(value ** 2 / 100))
  const summary = summarize(skewedMs)
  const points = distributionOf(skewedMs).points
  assert.equal(points.find((point) => point.percentile === 90)?.valueMs, summary.p90)
  assert.equal(points.find((point) => point.percentile === 99)?.valueMs, summary.p99)
  assert.equal(points.at(-1)?.valueMs, summary.max)
})

test("a huge run stops at 99.9999%, and no samples give no points", () => {
  const manyMs = Array.from({ length: 2_000_000 }, (_, index) => index % 5_000)
  const points = distributionOf(manyMs).points
  assert.equal(points.at(-2)?.percentile, 99.9999)
  assert.equal(points.length, 62)
  assert.deepEqual(distributionOf([]), { count: 0, points: [] })
})

test("orders paid: a purchase's pay is one order, a group order one per ticket (the server writes an order per holder); failures none", () => {
  const history = new History()
  history.add({ atMs: 1_000, actor: "phone-1", kind: "pay", outcome: "ok", durationMs: 3 })
  history.add({ atMs: 1_500, actor: "phone-2", kind: "pay", outcome: "InsufficientFunds", durationMs: 3 })
  history.add({ atMs: 2_000, actor: "organiser", kind: "group-order", outcome: "ok", durationMs: 9, detail: { tickets: 40, amountFen: 400_000 } })
  history.add({ atMs: 2_500, actor: "organiser", kind: "group-order", outcome: "ok", durationMs: 9, detail: { tickets: 7, amountFen: 70_000 } })
  history.add({ atMs: 3_000, actor: "organiser", kind: "group-order", outcome: "SoldOut", durationMs: 9 })
  assert.equal(countsOf(history, 48).ordersPaid, 48)
  const series = throughputOf(history, 0, 10_000, 10_000).series
  assert.equal(series.reduce((sum, point) => sum + point.paid, 0), 48)
  // a group order holds its orders in the same request that pays them: held as many as paid, in the counts and the series
  assert.equal(countsOf(history, 48).ordersHeld, 47)
  assert.equal(series.reduce((sum, point) => sum + point.held, 0), 47)
})

test("the gates' summary counts the codes a camera could not read, the phones' enlargements, and what came of them", () => {
  const history = new History()
  const scan = (actor: string, detail: Record<string, string | number | boolean>) =>
    history.add({ atMs: 9_000, actor, kind: "scan", outcome: "ok", durationMs: 80, detail: { ticketId: actor, gate: "JNK-01", pixels: false, ...detail } })
  scan("phone-1", {})
  assert.equal(gatesOf(history), undefined, "a clean run has nothing to tell about its gates")
  const note = (actor: string, kind: HistoryKind, outcome: string, enlargeFactor: number) =>
    history.add({ atMs: 8_000, actor, kind, outcome, detail: { gate: "JNK-01", enlargeFactor } })
  note("phone-2", "qr-unreadable", "UnreadableCode", 1)
  note("phone-2", "qr-enlarged", "ok", 2)
  scan("phone-2", { enlargeFactor: 2 })
  for (const factor of [1, 2, 4]) {
    note("phone-3", "qr-unreadable", "UnreadableCode", factor)
    if (factor < 4) note("phone-3", "qr-enlarged", "ok", factor * 2)
  }
  history.add({ atMs: 8_000, actor: "phone-3", kind: "gave-up", outcome: "UnreadableCode" })
  const gates = gatesOf(history)
  assert.deepEqual(
    [gates?.qrUnreadable, gates?.qrEnlarged, gates?.admittedEnlarged, gates?.unreadableGaveUp, gates?.admittedOnline, gates?.glareRetries],
    [4, 3, 1, 1, 2, 0])
})

test("a percentile never reads above the max: HDR's bucket top is clamped to the largest value recorded", () => {
  // 5,737 ms falls in a bucket 4 ms wide whose top is 5,739
  const summary = summarize([12, 40, 5_737])
  assert.equal(summary.max, 5_737)
  for (const [name, value] of Object.entries(summary)) assert.ok(value <= summary.max, `${name} ${value} is above the max ${summary.max}`)
  assert.equal(summary.p999, 5_737)
  const distribution = distributionOf(Array.from({ length: 1_000 }, (_, index) => index === 999 ? 70_490 : 100 + index))
  for (const point of distribution.points) assert.ok(point.valueMs <= 70_490, `${point.percentile}%: ${point.valueMs} is above the max 70,490`)
  assert.equal(distribution.points.at(-1)?.valueMs, 70_490)
})

test("every request error is counted once, by tag and by endpoint: a lost answer as well as an answered SoldOut, and every total agrees", () => {
  const history = new History()
  history.add({ atMs: 1_000, actor: "phone-1", kind: "search", outcome: "ok", durationMs: 20 })
  history.add({ atMs: 1_100, actor: "phone-1", kind: "hold", outcome: "SoldOut", durationMs: 30 })
  history.add({ atMs: 1_200, actor: "phone-2", kind: "hold", outcome: "ok", durationMs: 40 })
  // the client-timeouts fault: the answer never came, so no latency; then the same key again, answered
  history.add({ atMs: 1_300, actor: "phone-2", kind: "pay", outcome: "ResponseLost", detail: { attempt: 0, key: "pay-2", answer: "ok" } })
  history.add({ atMs: 9_300, actor: "phone-2", kind: "pay", outcome: "ok", durationMs: 12 })
  // not requests: an outcome of a passenger, a camera's capture, an iteration the load dropped
  history.add({ atMs: 1_400, actor: "phone-1", kind: "gave-up", outcome: "SoldOut" })
  history.add({ atMs: 1_500, actor: "phone-2", kind: "qr-unreadable", outcome: "UnreadableCode" })
  history.add({ atMs: 1_600, actor: "phone-3", kind: "dropped-iteration", outcome: "dropped" })

  const counts = countsOf(history, 3)
  assert.deepEqual(counts.errorsByTag, { ResponseLost: 1, SoldOut: 1 })
  assert.equal(counts.errors, 2)
  assert.equal(counts.requests, 5, "the lost answer's request was sent")

  const endpoints = endpointsOf(history)
  assert.deepEqual(endpoints.map((endpoint) => [endpoint.endpoint, endpoint.requests, endpoint.errors]), [["hold", 2, 1], ["pay", 2, 1], ["search", 1, 0]])
  assert.deepEqual(endpoints.find((endpoint) => endpoint.endpoint === "hold")?.errorsByTag, [{ tag: "SoldOut", status: 409, count: 1 }])
  assert.deepEqual(endpoints.find((endpoint) => endpoint.endpoint === "pay")?.errorsByTag, [{ tag: "ResponseLost", count: 1 }], "no answer: no status")
  assert.equal(endpoints.find((endpoint) => endpoint.endpoint === "pay")?.latency.count, 1, "only the answered request has a latency")
  assert.equal(endpoints.reduce((sum, endpoint) => sum + endpoint.errors, 0), counts.errors)
  assert.equal(endpoints.reduce((sum, endpoint) => sum + endpoint.requests, 0), counts.requests)

  // the progress line's tally, fed event by event as the run records them, ends at the same total
  const progress = new RequestTally({ latency: false })
  const growing = new History(Effect.succeed(0))
  const totals = history.toArray().map((event) => { growing.add(event); return progress.readNew(growing).errors })
  assert.deepEqual(totals, [0, 1, 1, 2, 2, 2, 2, 2])
  assert.equal(progress.errors, counts.errors)
  assert.equal(throughputOf(history, 0, 10_000, 10_000).series.reduce((sum, point) => sum + point.errors, 0), counts.errors)
})

test("per-endpoint latency percentiles come from each endpoint's own histogram, clamped to its max", () => {
  const history = new History()
  for (let index = 1; index <= 1_000; index++) history.add({ atMs: index, actor: `phone-${index}`, kind: "search", outcome: "ok", durationMs: index })
  history.add({ atMs: 2_000, actor: "phone-1", kind: "login", outcome: "ok", durationMs: 5_737 })
  const [search, login] = endpointsOf(history)
  assert.deepEqual(search?.latency, summarize(Array.from({ length: 1_000 }, (_, index) => index + 1)))
  assert.deepEqual(login?.latency, { count: 1, p50: 5_737, p90: 5_737, p99: 5_737, p999: 5_737, max: 5_737 })
})

test("each endpoint is split by the journey of the fiber that recorded its calls, a shared kiosk's and a forked fiber's included; the rest is background", () => {
  const history = new History()
  const unsplit = new History()
  const events: ReadonlyArray<readonly [HistoryEvent, "app" | "app-gateway" | "kiosk" | undefined]> = [
    [{ atMs: 1_000, actor: "phone-1", kind: "pay", outcome: "ok", durationMs: 40 }, "app"],
    [{ atMs: 1_100, actor: "phone-1", kind: "pay", outcome: "ok", durationMs: 60 }, "app"],
    [{ atMs: 1_200, actor: "phone-2", kind: "pay", outcome: "InsufficientFunds", durationMs: 20 }, "app"],
    [{ atMs: 1_300, actor: "phone-3", kind: "pay", outcome: "ok", durationMs: 4_000 }, "app-gateway"],
    [{ atMs: 1_400, actor: "phone-3", kind: "pay", outcome: "ResponseLost", detail: { attempt: 0 } }, "app-gateway"],
    // a kiosk serving a walk-up passenger records on the passenger's fiber; its attendant's rounds on a fiber of their own
    [{ atMs: 1_500, actor: "kiosk-BJP-K01", kind: "pay", outcome: "ok", durationMs: 900 }, "kiosk"],
    [{ atMs: 1_600, actor: "kiosk-BJP-K01", kind: "print-jobs", outcome: "ok", durationMs: 30 }, undefined],
    [{ atMs: 1_700, actor: "kiosk-BJP-K01", kind: "print-jobs", outcome: "ok", durationMs: 50 }, "kiosk"],
    // not a request: in no endpoint, whatever its journey
    [{ atMs: 1_800, actor: "phone-2", kind: "gave-up", outcome: "InsufficientFunds" }, "app"]
  ]
  for (const [event, journey] of events) {
    const add = Effect.sync(() => history.add(event))
    // the journey as a passenger's fiber carries it: set around the journey, inherited by what it forks
    Effect.runSync(journey === undefined ? add : Effect.locally(Effect.flatMap(Effect.fork(add), (fiber) => fiber.await), currentJourney, journey))
    unsplit.add(event)
  }
  assert.equal(history.traceHash(), unsplit.traceHash(), "the journeys are beside the history: its lines and trace hash are the same")
  const journeys = Array.from(history.readWithJourneys(), ([, journey]) => journey)
  assert.equal(journeys[0], "app")
  assert.equal(journeys[6], undefined)

  const endpoints = endpointsOf(history)
  const pay = endpoints.find((endpoint) => endpoint.endpoint === "pay")
  assert.deepEqual(pay?.journeys?.map((journey) => [journey.journey, journey.requests, journey.errors]), [["app", 3, 1], ["app-gateway", 2, 1], ["kiosk", 1, 0]])
  const [app, gateway] = pay?.journeys ?? []
  assert.deepEqual(app?.errorsByTag, [{ tag: "InsufficientFunds", status: 402, count: 1 }])
  assert.deepEqual(app?.latency, summarize([40, 60, 20]), "each journey's percentiles come from its own histogram")
  assert.deepEqual(gateway?.errorsByTag, [{ tag: "ResponseLost", count: 1 }])
  assert.deepEqual(gateway?.latency, summarize([4_000]), "only the answered request has a latency")
  assert.deepEqual(endpoints.find((endpoint) => endpoint.endpoint === "print-jobs")?.journeys?.map((journey) => [journey.journey, journey.requests]),
    [[backgroundJourney, 1], ["kiosk", 1]])
  for (const endpoint of endpoints) {
    const journeys = endpoint.journeys ?? []
    assert.equal(journeys.reduce((sum, journey) => sum + journey.requests, 0), endpoint.requests, endpoint.endpoint)
    assert.equal(journeys.reduce((sum, journey) => sum + journey.errors, 0), endpoint.errors, endpoint.endpoint)
    assert.equal(journeys.reduce((sum, journey) => sum + journey.latency.count, 0), endpoint.latency.count, endpoint.endpoint)
  }
  // a history that knows no journeys (its events recorded on no passenger's fiber) has them all in the background
  assert.deepEqual(endpointsOf(unsplit).map((endpoint) => endpoint.journeys?.map((journey) => journey.journey)), [[backgroundJourney], [backgroundJourney]])
})

test("an error tag's HTTP status is the one the contract declares; a response the client could not decode keeps its own; no answer has none", () => {
  assert.equal(httpStatusOf("SoldOut"), 409)
  assert.equal(httpStatusOf("HTTP502"), 502)
  assert.equal(httpStatusOf("ResponseLost"), undefined)
})

test("passengers are in flight from their first request to their ticket or giving up; requests are counted per bucket", () => {
  const history = new History()
  // phone-1 buys from 0.5 s to its ticket at 2.5 s, then scans at the gate at 9 s: not in flight then
  history.add({ atMs: 500, actor: "phone-1", kind: "search", outcome: "ok", durationMs: 5 })
  history.add({ atMs: 1_500, actor: "phone-1", kind: "pay", outcome: "ResponseLost" })
  history.add({ atMs: 2_500, actor: "phone-1", kind: "ticket-received", outcome: "ok" })
  history.add({ atMs: 9_000, actor: "phone-1", kind: "scan", outcome: "ok", durationMs: 5 })
  // phone-2 searches at 1.2 s and gives up at 3.1 s
  history.add({ atMs: 1_200, actor: "phone-2", kind: "search", outcome: "ok", durationMs: 5 })
  history.add({ atMs: 3_100, actor: "phone-2", kind: "gave-up", outcome: "no seats at search" })
  // an iteration the load dropped never sent a request: never in flight
  history.add({ atMs: 4_000, actor: "phone-3", kind: "dropped-iteration", outcome: "dropped" })
  const series = throughputOf(history, 0, 10_000, 10_000).series
  assert.equal(series.length, 10)
  assert.deepEqual(series.map((point) => point.inFlight), [1, 2, 2, 1, 0, 0, 0, 0, 0, 0])
  assert.deepEqual(series.map((point) => point.requests), [1, 2, 0, 0, 0, 0, 0, 0, 0, 1])
})

test("a run that issues more tickets, its last one later, is not slower: rates over the measuring window and at the peak", () => {
  const measuringEndMs = 3_600_000
  const ticketsAt = (atMs: ReadonlyArray<number>) => {
    const history = new History()
    atMs.forEach((at, index) => history.add({ atMs: at, actor: `phone-${index}`, kind: "ticket-received", outcome: "ok", detail: { paymentToIssuanceMs: 40 } }))
    const window = salesWindowOf(history, 0, measuringEndMs)
    return throughputOf(history, window.fromMs, window.toMs, measuringEndMs)
  }
  // one ticket a second for 100 s; the second run issues the same and 10 more up to 1,000 s in
  const rush = Array.from({ length: 100 }, (_, index) => index * 1_000)
  const fewer = ticketsAt(rush)
  const more = ticketsAt([...rush, ...Array.from({ length: 10 }, (_, index) => 100_000 + (index + 1) * 90_000)])
  // tickets over the time to the last one would read 100 / 99 s = 1.01 and 110 / 1,000 s = 0.11: slower for more work
  assert.equal(fewer.measuringWindowMs, measuringEndMs)
  assert.equal(more.measuringWindowMs, measuringEndMs)
  assert.equal(fewer.issuedPerSecondOverWindow, 0.02778)
  assert.equal(more.issuedPerSecondOverWindow, 0.03056)
  // the peak: 60 tickets in the best 60 s of both
  assert.equal(fewer.peakWindowMs, 60_000)
  assert.equal(fewer.peakIssuedPerSecond, 1)
  assert.equal(more.peakIssuedPerSecond, 1)
  assert.equal(fewer.issuedPerSecond, undefined, "the rate to the last ticket is no longer written")
})

test("the rate over the measuring window counts only the tickets inside it, and is exactly tickets over its length", () => {
  const history = new History()
  for (let index = 0; index < 36; index++) history.add({ atMs: 1_000 + index * 10_000, actor: `phone-${index}`, kind: "ticket-received", outcome: "ok" })
  history.add({ atMs: 400_000, actor: "phone-late", kind: "ticket-received", outcome: "ok" })
  const throughput = throughputOf(history, 0, 460_000, 360_000)
  assert.equal(throughput.issuedPerSecondOverWindow, 0.1)
  // 5 s buckets: the best 60 s are 12 of them, with 6 tickets
  assert.equal(throughput.bucketMs, 5_000)
  assert.deepEqual([throughput.peakWindowMs, throughput.peakIssuedPerSecond], [60_000, 0.1])
})
