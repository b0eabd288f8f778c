import assert from "node:assert/strict"
import { test } from "node:test"
import { hostileWitnessLine, sampleFailingReport, sampleReport, sampleReportBeforeDistributions, sampleReportVersion1, sampleReportVersion2, sampleReportVersion3 } from "./fixture.js"
import { plotBottomPx as plotBottom, plotTopPx as plotTop, timeTicksMs } from "./chart.js"
import { formatClock } from "./format.js"
import { renderHtml } from "./html.js"
import { percentileLabel } from "./percentileChart.js"
import type { Report } from "./Report.js"

const chartOf = (html: string, kind: string): string => {
  const match = new RegExp(`<svg class="chart" data-chart="${kind}"[\\s\\S]*?</svg>`).exec(html)
  assert.ok(match, `chart ${kind} is missing`)
  return match[0]
}

const polylinePoints = (svg: string): Array<Array<{ x: number; y: number }>> =>
  [...svg.matchAll(/<polyline[^>]* points="([^"]*)"/g)].map((match) =>
    (match[1] ?? "").split(" ").map((pair) => {
      const [x = "", y = ""] = pair.split(",")
      return { x: Number(x), y: Number(y) }
    })
  )

const rowOf = (html: string, attribute: string): string => {
  const match = new RegExp(`<tr [^>]*${attribute}[^>]*>[\\s\\S]*?</tr>`).exec(html)
  assert.ok(match, `row with ${attribute} is missing`)
  return match[0]
}

test("a witness containing markup is escaped, and the page carries no script at all", () => {
  const html = renderHtml(sampleFailingReport)
  assert.ok(hostileWitnessLine.includes("<script>"))
  assert.ok(html.includes("order &lt;script&gt;alert(&quot;held&quot;)&lt;/script&gt; &amp; seat &#39;G1234/05A&#39;"))
  assert.doesNotMatch(html, /<script/i)
})

test("every report string is escaped: scenario, error tags, notes, threshold expressions", () => {
  const html = renderHtml({
    ...sampleReport,
    scenario: "<b>rush</b>",
    counts: { ...sampleReport.counts, errorsByTag: { "<img src=x>": 1 } },
    notes: ["a < b && c > d"],
    thresholds: [{ expression: "p(99)<500", passed: true, actual: 1 }]
  })
  assert.ok(html.includes("&lt;b&gt;rush&lt;/b&gt;"))
  assert.ok(html.includes("&lt;img src=x&gt;"))
  assert.ok(html.includes("a &lt; b &amp;&amp; c &gt; d"))
  assert.ok(html.includes("p(99)&lt;500"))
  assert.doesNotMatch(html, /<b>rush|<img/)
})

test("a broken invariant's row is red and a holding one's is green", () => {
  const html = renderHtml(sampleFailingReport)
  const brokenRow = rowOf(html, `data-invariant="noDoubleBooking"`)
  const holdingRow = rowOf(html, `data-invariant="moneyConserved"`)
  assert.match(brokenRow, /^<tr class="fail"/)
  assert.match(brokenRow, /<pre>t=08:00:01\.204 hold order=O-000183/)
  assert.match(holdingRow, /^<tr class="pass"/)
  assert.match(html, /tr\.fail td \{[^}]*color: #b3261e/)
  assert.match(html, /tr\.pass td \{[^}]*color: #1e6b34/)
})

test("the invariants' table says which audits ran and each invariant's source", () => {
  const html = renderHtml(sampleReport)
  assert.match(html, /<h2>Invariants<\/h2><p class="audit-sources">Audited from the store and the history of client observations\.<\/p>/)
  assert.match(rowOf(html, `data-invariant="moneyConserved"`), /<td>store<\/td>/)
  assert.match(rowOf(html, `data-invariant="history-charged-once"`), /<td>history<\/td>/)
  assert.match(renderHtml(sampleReportVersion3), /<p class="audit-sources">Audited from the store\.<\/p>/)
  const target: Report = { ...sampleReport, target: "http://127.0.0.1:8080", auditSources: ["history"] }
  assert.match(renderHtml(target), /<td>target<\/td><td><code>http:\/\/127\.0\.0\.1:8080<\/code><\/td>/)
  assert.match(renderHtml(target), /Audited from the history of client observations alone \(no store was audited\)\./)
})

test("a broken invariant's row shows the replay command lines of its witness, escaped, one a line", () => {
  const replay = [
    "npx chunyun run 'scenarios/<rush> & co.ts' --seed 7 --unsafe",
    "npx chunyun replay out/rush-7/history.jsonl --actor phone-183 --actor phone-912"
  ]
  const html = renderHtml({
    ...sampleFailingReport,
    invariants: sampleFailingReport.invariants.map((invariant) => invariant.name === "noDoubleBooking" ? { ...invariant, replay } : invariant)
  })
  const brokenRow = rowOf(html, `data-invariant="noDoubleBooking"`)
  assert.ok(brokenRow.includes(
    `<pre class="replay">npx chunyun run &#39;scenarios/&lt;rush&gt; &amp; co.ts&#39; --seed 7 --unsafe\n` +
    `npx chunyun replay out/rush-7/history.jsonl --actor phone-183 --actor phone-912</pre>`), brokenRow)
  assert.doesNotMatch(html, /<rush>/)
  assert.doesNotMatch(rowOf(html, `data-invariant="moneyConserved"`), /replay/)
})

test("a failed threshold is marked failed and the verdict says FAIL; a clean run says PASS", () => {
  const failing = renderHtml(sampleFailingReport)
  assert.match(failing, /<tr class="fail"><td><code>payment_to_issuance\.p99 &lt; 500<\/code><\/td><td class="number">612<\/td>/)
  assert.match(failing, /class="verdict fail">FAIL</)
  assert.match(renderHtml(sampleReport), /class="verdict pass">PASS</)
})

test("the header shows the run's identity and the tables show counts and percentiles", () => {
  const html = renderHtml(sampleReport)
  for (const value of [sampleReport.traceHash, sampleReport.configHash, sampleReport.codeVersion, sampleReport.startedAt]) {
    assert.ok(html.includes(value), value)
  }
  assert.ok(html.includes("2h 00m 00s (7,200,000 ms)"))
  assert.ok(html.includes("<td class=\"number\">37,090</td>"), "orders held")
  assert.match(html, /payment → issuance<\/td><td class="number">33,381<\/td><td class="number">96<\/td><td class="number">214<\/td><td class="number">398<\/td>/)
  assert.match(html, /<code>SeatTaken<\/code><\/td><td>409<\/td><td class="number">2,022<\/td>/)
})

test("the throughput, errors and latency charts exist, and each throughput line has one point per series entry, in time order", () => {
  const html = renderHtml(sampleReport)
  const entries = sampleReport.throughput.series.length
  const throughputLines = polylinePoints(chartOf(html, "throughput"))
  assert.equal(throughputLines.length, 4)
  for (const points of throughputLines) {
    assert.equal(points.length, entries)
    assert.ok(points.every((point, index) => index === 0 || point.x > (points[index - 1]?.x ?? Infinity)))
  }
  assert.equal(polylinePoints(chartOf(html, "errors"))[0]?.length, entries)
  assert.equal(polylinePoints(chartOf(html, "latency"))[0]?.length, entries)
})

test("the chart's highest point is the busiest bucket (SVG y grows downwards)", () => {
  const [held = []] = polylinePoints(chartOf(renderHtml(sampleReport), "throughput"))
  const topmost = held.reduce((best, point, index) => ((point.y < (held[best]?.y ?? Infinity)) ? index : best), 0)
  const busiest = sampleReport.throughput.series.reduce(
    (best, point, index, series) => (point.held > (series[best]?.held ?? -Infinity) ? index : best),
    0
  )
  assert.equal(topmost, busiest)
})

test("the latency chart draws p50, p90, p99 and p99.9 over time, each above the one before", () => {
  const chart = chartOf(renderHtml(sampleReport), "latency")
  assert.deepEqual([...chart.matchAll(/data-series="([^"]+)"/g)].map((match) => match[1]), ["p50", "p90", "p99", "p99.9"])
  const [p50 = [], p90 = [], p99 = [], p999 = []] = polylinePoints(chart)
  // SVG y grows downwards: a higher percentile is never drawn below a lower one
  for (const [lower, higher] of [[p50, p90], [p90, p99], [p99, p999]] as const) {
    assert.ok(higher.every((point, index) => point.y <= (lower[index]?.y ?? -Infinity)))
  }
})

test("the percentile distribution runs left to right from 0% to the tail, rising, with the max as a level line", () => {
  const chart = chartOf(renderHtml(sampleReport), "distribution")
  const [curve = []] = polylinePoints(chart)
  const distribution = sampleReport.latencyDistribution?.paymentToIssuance
  assert.ok(distribution)
  // every point but the max (100%, at infinity on this axis) is on the curve
  assert.equal(curve.length, distribution.points.length - 1)
  assert.ok(curve.every((point, index) => index === 0 || (point.x > (curve[index - 1]?.x ?? Infinity) && point.y <= (curve[index - 1]?.y ?? -Infinity))))
  for (const label of ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]) assert.ok(chart.includes(`>${label}</text>`), label)
  assert.ok(chart.includes(">max 1,904 ms</text>"))
  assert.ok(chart.includes("payment → issuance (n = 33381)"))
  // 99% sits two fifths along a five-decade axis
  const plotWidth = 724 - 64
  const p99Index = distribution.points.findIndex((point) => point.percentile === 99)
  assert.equal(curve[p99Index]?.x, Number((64 + plotWidth * 2 / 5).toFixed(1)))
})

test("percentile labels name the tenfold steps of 1/(1 − p)", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 6].map(percentileLabel), ["0%", "90%", "99%", "99.9%", "99.99%", "99.9999%"])
})

test("a report written before distributions renders: the p99 line alone, and a note instead of the curve", () => {
  const html = renderHtml(sampleReportBeforeDistributions)
  assert.equal(polylinePoints(chartOf(html, "latency")).length, 1)
  assert.match(chartOf(html, "latency"), /data-series="p99"/)
  assert.doesNotMatch(html, /data-chart="distribution"/)
  assert.match(html, /written before distributions were recorded/)
})

test("an empty series and an empty distribution draw empty charts labelled 'no data'", () => {
  const empty: Report = { ...sampleReport, throughput: { ...sampleReport.throughput, series: [] } }
  const html = renderHtml({ ...empty, latencyDistribution: { paymentToIssuance: { count: 0, points: [] } } })
  for (const kind of ["throughput", "errors", "latency", "distribution"]) {
    const chart = chartOf(html, kind)
    assert.match(chart, />no data</)
    assert.doesNotMatch(chart, /<polyline/)
  }
})

test("one bucket, a zero bucket width and non-finite values draw without NaN coordinates", () => {
  const [first] = sampleReport.throughput.series
  assert.ok(first)
  const odd: Report = {
    ...sampleReport,
    throughput: { ...sampleReport.throughput, bucketMs: 0, series: [{ ...first, paymentToIssuanceP99Ms: Number.NaN, errors: Infinity }] }
  }
  const html = renderHtml(odd)
  assert.doesNotMatch(html.slice(html.indexOf("<svg")), /NaN|Infinity/)
  assert.match(chartOf(html, "throughput"), /<circle /)
})

test("the page is self-contained: nothing is fetched from elsewhere", () => {
  const html = renderHtml(sampleReport)
  const withoutSvgNamespace = html.replaceAll(`xmlns="http://www.w3.org/2000/svg"`, "")
  assert.doesNotMatch(withoutSvgNamespace, /https?:|<link|<img|@import|url\(|src=/i)
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/)
})

test("rendering is deterministic", () => {
  assert.equal(renderHtml(sampleFailingReport), renderHtml(sampleFailingReport))
})

test("the page's error total is the report's one count, and each endpoint has a row with its errors by tag and HTTP status", () => {
  const report: Report = {
    ...sampleReport,
    counts: { ...sampleReport.counts, errors: 890, errorsByTag: { ResponseLost: 30, SoldOut: 860 } },
    endpoints: [
      { endpoint: "hold", requests: 2_000, errors: 860, errorsByTag: [{ tag: "SoldOut", status: 409, count: 860 }], latency: sampleReport.latency.hold },
      { endpoint: "search", requests: 5_000, errors: 0, errorsByTag: [], latency: sampleReport.latency.checkin },
      { endpoint: "pay", requests: 1_170, errors: 30, errorsByTag: [{ tag: "ResponseLost", count: 30 }], latency: sampleReport.latency.hold }
    ]
  }
  const html = renderHtml(report)
  assert.match(rowOf(html, `data-count="errors"`), /request errors<\/td><td class="number">890</)
  assert.match(html, /<code>ResponseLost<\/code><\/td><td>no answer<\/td><td class="number">30<\/td>/)
  assert.match(html, /all request errors<\/td><td class="number">890<\/td>/)
  assert.equal(rowOf(html, `data-endpoint="hold"`),
    `<tr data-endpoint="hold" class="warn"><td><code>hold</code></td><td class="number">2,000</td><td class="number">860</td>` +
    `<td class="number">43.00 %</td><td class="number">18</td><td class="number">61</td><td class="number">176</td><td class="number">933</td>` +
    `<td><code>SoldOut</code> 409 ×860</td></tr>`)
  assert.match(rowOf(html, `data-endpoint="search"`), /^<tr data-endpoint="search"><td><code>search<\/code><\/td><td class="number">5,000<\/td><td class="number">0<\/td><td class="number">0 %<\/td>/)
})

test("each endpoint's journeys have a row each, open for a run of mixed journeys, and add up to the endpoint's row", () => {
  const html = renderHtml(sampleReport)
  assert.match(html, /<details class="journeys" open><summary>By journey/)
  assert.equal(rowOf(html, `data-journey="sms"`),
    `<tr data-endpoint="register" data-journey="sms"><td class="nowrap"><code>sms</code></td><td class="number">15,000</td><td class="number">0</td>` +
    `<td class="number">0 %</td><td class="number">11</td><td class="number">25</td><td class="number">70</td><td class="number">402</td><td></td></tr>`)
  assert.match(rowOf(html, `data-endpoint="pay" data-journey="app"`),
    /^<tr data-endpoint="pay" data-journey="app"><td rowspan="2"><code>pay<\/code><\/td><td class="nowrap"><code>app<\/code><\/td><td class="number">25,225<\/td>.*<code>PaymentDeclined<\/code> 402 ×158<br><code>GatewayTimeout<\/code> no answer ×32<\/td><\/tr>$/)
  assert.match(rowOf(html, `data-journey="background"`), /^<tr data-endpoint="get-ticket" data-journey="background"><td class="nowrap"><code>background<\/code><\/td><td class="number">4,600<\/td>/)
  for (const endpoint of sampleReport.endpoints ?? []) {
    const rows = [...html.matchAll(new RegExp(`<tr data-endpoint="${endpoint.endpoint}" data-journey="[^"]+"(?: class="warn")?>(?:<td rowspan[^>]*>.*?</td>)?<td class="nowrap"><code>[^<]+</code></td><td class="number">([\\d,]+)</td>`, "g"))]
    assert.equal(rows.length, endpoint.journeys?.length, endpoint.endpoint)
    assert.equal(rows.reduce((sum, row) => sum + Number(row[1]?.replaceAll(",", "")), 0), endpoint.requests, endpoint.endpoint)
  }
})

test("a run of one journey keeps its journeys closed; a report before the split says so", () => {
  const oneJourney: Report = {
    ...sampleReport,
    endpoints: (sampleReport.endpoints ?? []).map((endpoint) => ({ ...endpoint, journeys: endpoint.journeys?.filter((journey) => journey.journey !== "sms") }))
  }
  assert.match(renderHtml(oneJourney), /<details class="journeys"><summary>/)
  const old = renderHtml(sampleReportVersion3)
  assert.ok(old.includes("This report was written before requests were split by journey."))
  assert.doesNotMatch(old, /data-journey=|<details/)
})

test("a version 1 report shows the sum of its tags as the error total and says it has no endpoint counts", () => {
  const html = renderHtml(sampleReportVersion1)
  assert.match(rowOf(html, `data-count="errors"`), /request errors<\/td><td class="number">2,274</)
  assert.ok(html.includes("This report was written before requests were counted per endpoint."))
  assert.doesNotMatch(html, /data-endpoint=/)
})

test("the latency chart's y axis is logarithmic: each power of ten one step up, p50 readable under a p99.9 ten times higher", () => {
  const chart = chartOf(renderHtml(sampleReport), "latency")
  const labels = [...chart.matchAll(/<text class="tick" x="58"[^>]*>([^<]+)<\/text>/g)].map((match) => match[1])
  // the fixture's percentiles run from 39 ms (p50 of the tail) to 742 ms (p99.9 of the on-sale)
  assert.deepEqual(labels, ["10", "20", "50", "100", "200", "500", "1,000"])
  const yOf = (label: string) => Number(new RegExp(`<text class="tick" x="58" y="([\\d.]+)"[^>]*>${label}</text>`).exec(chart)?.[1])
  assert.equal(Math.round(yOf("10") - yOf("100")), Math.round(yOf("100") - yOf("1,000")), "a decade is as tall at 10 ms as at 1,000 ms")
  const [p50 = [], , , p999 = []] = polylinePoints(chart)
  // on a linear axis to 800 ms the p50's 39 ms would sit 5 % up the plot; here it sits more than a quarter up
  const lowestP50 = Math.max(...p50.map((point) => point.y))
  assert.ok(lowestP50 < plotBottom - (plotBottom - plotTop) / 4, `p50 at y=${lowestP50}`)
  assert.ok(p999.every((point, index) => point.y < (p50[index]?.y ?? 0)))
  assert.match(chart, /ms \(log scale\)/)
})

test("on the log axis a bucket with no ticket issued is a gap in the line, not a drop to the floor", () => {
  const series = sampleReport.throughput.series.map((point, index) => index === 3
    ? { ...point, paymentToIssuanceP50Ms: 0, paymentToIssuanceP90Ms: 0, paymentToIssuanceP99Ms: 0, paymentToIssuanceP999Ms: 0 }
    : point)
  const chart = chartOf(renderHtml({ ...sampleReport, throughput: { ...sampleReport.throughput, series } }), "latency")
  const p99Lines = [...chart.matchAll(/<polyline[^>]*data-series="p99"[^>]* points="([^"]*)"/g)]
  assert.deepEqual(p99Lines.map((match) => (match[1] ?? "").split(" ").length), [3, series.length - 4])
})

test("time ticks fall on round clock values: every half hour of a two-hour window, every two minutes of a twelve-minute one", () => {
  assert.deepEqual(timeTicksMs(0, 7_200_000).map(formatClock), ["00:00:00", "00:30:00", "01:00:00", "01:30:00", "02:00:00"])
  assert.deepEqual(timeTicksMs(0, 715_000).map(formatClock), ["00:00:00", "00:02:00", "00:04:00", "00:06:00", "00:08:00", "00:10:00"])
  assert.deepEqual(timeTicksMs(55_000, 200_000).map(formatClock), ["00:01:00", "00:01:30", "00:02:00", "00:02:30", "00:03:00"])
  const chart = chartOf(renderHtml(sampleReport), "throughput")
  const labels = [...chart.matchAll(/<text class="tick" x="[\d.]+" y="236"[^>]*>([^<]+)<\/text>/g)].map((match) => match[1])
  assert.deepEqual(labels, ["00:00:00", "00:30:00", "01:00:00", "01:30:00", "02:00:00"])
})

test("requests per second and passengers in flight are charted from the series; a version 1 report has neither chart", () => {
  const html = renderHtml(sampleReport)
  const [requests = []] = polylinePoints(chartOf(html, "requests"))
  const [inFlight = []] = polylinePoints(chartOf(html, "in-flight"))
  assert.equal(requests.length, sampleReport.throughput.series.length)
  assert.equal(inFlight.length, sampleReport.throughput.series.length)
  // the on-sale bucket is the busiest of both
  assert.equal(requests.findIndex((point) => point.y === Math.min(...requests.map((each) => each.y))), 0)
  assert.equal(inFlight.findIndex((point) => point.y === Math.min(...inFlight.map((each) => each.y))), 0)
  const old = renderHtml(sampleReportBeforeDistributions)
  assert.doesNotMatch(old, /data-chart="requests"|data-chart="in-flight"/)
})

test("the scenario is shown: its description, passengers and journeys, each train, each fault with its window, the thresholds", () => {
  const html = renderHtml(sampleReport)
  const section = html.slice(html.indexOf("<h2>Scenario</h2>"), html.indexOf("<h2>Counts</h2>"))
  assert.ok(section.includes("<p>08:00 on-sale of three trains: 120,000 passengers, random segments, lost answers retried</p>"))
  assert.ok(section.includes("<td>journeys</td><td>app 75 %, sms 25 %</td>"))
  assert.ok(section.includes("<td><code>G1</code></td><td>2027-01-28</td><td>BJP 09:00 → AOH 14:08, 6 stops</td><td class=\"number\">600</td>"))
  assert.match(section, /<tr data-fault="client-timeouts"><td class="nowrap"><code>client-timeouts<\/code><\/td><td class="nowrap">\+0 s<\/td><td class="nowrap">\+10m 00s<\/td><td>responseLossRate 0\.02,/)
  assert.ok(section.includes("<td>thresholds</td><td>payment_to_issuance: p(99)&lt;500; invariants: violations==0</td>"))
  assert.match(renderHtml(sampleReportVersion1), /<h2>Scenario<\/h2><p>This report was written before the scenario was recorded in it/)
})

test("a real-mode report claims no virtual duration; a virtual one shows it", () => {
  assert.match(renderHtml(sampleReport), /<td>virtual duration<\/td>/)
  const real = renderHtml({ ...sampleReport, mode: "real" })
  assert.doesNotMatch(real, /virtual duration/)
  assert.match(real, /<td>wall duration<\/td>/)
})

test("rows and lines that are zero throughout are left out: no hold row without holds, no admitted line without admissions", () => {
  const noHolds: Report = {
    ...sampleReport,
    latency: { ...sampleReport.latency, hold: { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 } },
    throughput: { ...sampleReport.throughput, series: sampleReport.throughput.series.map((point) => ({ ...point, admitted: 0 })) }
  }
  const html = renderHtml(noHolds)
  const latencyTable = html.slice(html.indexOf("<h2>Latency (ms)</h2>"), html.indexOf("<h2>Over time</h2>"))
  assert.doesNotMatch(latencyTable, /<td>hold<\/td>/)
  assert.match(latencyTable, /<td>check-in<\/td>/)
  const throughput = chartOf(html, "throughput")
  assert.deepEqual([...throughput.matchAll(/data-series="([^"]+)"/g)].map((match) => match[1]), ["held", "paid", "issued"])
  assert.doesNotMatch(throughput, />admitted</)
  const noIssuance: Report = {
    ...sampleReport,
    throughput: { ...sampleReport.throughput, series: sampleReport.throughput.series.map((point) =>
      ({ ...point, paymentToIssuanceP50Ms: 0, paymentToIssuanceP90Ms: 0, paymentToIssuanceP99Ms: 0, paymentToIssuanceP999Ms: 0 })) }
  }
  assert.match(chartOf(renderHtml(noIssuance), "latency"), />no data</)
})

test("hovering a bucket shows its time span and every line's value there, and a point of the distribution its percentile and latency", () => {
  const html = renderHtml(sampleReport)
  const throughput = chartOf(html, "throughput")
  const titles = [...throughput.matchAll(/<rect class="hover"[^>]*><title>([^<]*)<\/title><\/rect>/g)].map((match) => match[1])
  assert.equal(titles.length, sampleReport.throughput.series.length)
  assert.equal(titles[0], "00:00:00–00:05:00\nheld: 9,800\npaid: 8,820\nissued: 8,820\nadmitted: 0")
  const latency = chartOf(html, "latency")
  assert.match(latency, /<title>00:00:00–00:05:00\np50: 124 ms\np90: 247 ms\np99: 412 ms\np99\.9: 742 ms<\/title>/)
  assert.match(chartOf(html, "requests"), /<title>00:00:00–00:05:00\nrequests\/s: 362\.6\/s<\/title>/)
  const distribution = chartOf(html, "distribution")
  assert.match(distribution, /<circle class="hover"[^>]*><title>90%: 214 ms<\/title><\/circle>/)
  assert.match(distribution, /<title>99\.9%: 871 ms<\/title>/)
  // the columns sit over the plot, one per bucket, side by side
  const columns = [...throughput.matchAll(/<rect class="hover" x="([\d.]+)" y="32" width="([\d.]+)"/g)].map((match) => [Number(match[1]), Number(match[2])] as const)
  assert.equal(columns[0]?.[0], 64)
  columns.forEach(([x, width], index) => { if (index > 0) assert.ok(Math.abs(x - ((columns[index - 1]?.[0] ?? 0) + (columns[index - 1]?.[1] ?? 0))) < 0.2) })
  assert.doesNotMatch(html, /<script/i)
})

test("the counts name each rate by the window it divides by; a version 2 report shows its rate to the last ticket alone", () => {
  const html = renderHtml(sampleReport)
  assert.match(rowOf(html, 'data-rate="issuedPerSecondOverWindow"'), /<td>issued per second, on-sale to scenario end \(2h 00m 00s\)<\/td><td class="number">4\.636<\/td>/)
  assert.match(rowOf(html, 'data-rate="peakIssuedPerSecond"'), /<td>peak issued per second, best 5m 00s<\/td><td class="number">29\.40<\/td>/)
  assert.ok(!html.includes('data-rate="issuedPerSecond"'))
  const old = renderHtml(sampleReportVersion2)
  assert.match(rowOf(old, 'data-rate="issuedPerSecond"'), /on-sale to last ticket \(before report version 3\)<\/td><td class="number">4\.838</)
  assert.ok(!old.includes('data-rate="peakIssuedPerSecond"'))
})
