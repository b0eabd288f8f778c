import assert from "node:assert/strict"
import { describe, test } from "node:test"
import type { CompareRow, Comparison } from "./compare.js"
import { changeInterval, minBootstrapBuckets, seededRandom } from "./bootstrap.js"
import { compareReports, countChangeInterval, defaultCompareTolerancePercent, parseTolerancePercent, relativeChangePercent } from "./compare.js"
import { renderCompareHtml } from "./compareHtml.js"
import { renderCompareSummary } from "./compareSummary.js"
import { sampleFailingReport, sampleReport, sampleReportBeforeDistributions, sampleReportFromDistribution, sampleReportVersion1, sampleReportVersion2 } from "./fixture.js"
import type { Report } from "./Report.js"

const rowOf = (comparison: Comparison, section: string, metric: string): CompareRow => {
  const found = comparison.rows.find((compared) => compared.section === section && compared.metric === metric)
  assert.ok(found, `no row ${section} ${metric}`)
  return found
}

const withHoldP99 = (p99: number): Report => ({
  ...sampleReport, latency: { ...sampleReport.latency, hold: { ...sampleReport.latency.hold, p99 } }
})

const withTickets = (ticketsIssued: number): Report => ({ ...sampleReport, counts: { ...sampleReport.counts, ticketsIssued } })

describe("compareReports", () => {
  test("a report against itself: every row within noise, no regression, no warning", () => {
    const comparison = compareReports(sampleReport, sampleReport)
    assert.ok(comparison.rows.every((compared) => compared.verdict === "within noise"))
    assert.equal(comparison.regressed, false)
    assert.deepEqual(comparison.mismatches, [])
    assert.equal(comparison.tolerancePercent, defaultCompareTolerancePercent)
  })

  test("has a row for every metric the issue names", () => {
    const comparison = compareReports(sampleReport, sampleReport)
    for (const metric of ["ordersHeld", "ordersPaid", "ticketsIssued", "admitted", "refunds"]) rowOf(comparison, "counts", metric)
    for (const tag of Object.keys(sampleReport.counts.errorsByTag)) rowOf(comparison, "errors", tag)
    for (const operation of ["paymentToIssuance", "hold", "checkin"]) {
      for (const percentile of ["p50", "p90", "p99", "p999", "max"]) rowOf(comparison, `latency ${operation}`, percentile)
    }
    rowOf(comparison, "throughput", "issuedPerSecondOverWindow")
    rowOf(comparison, "throughput", "peakIssuedPerSecond")
    assert.equal(comparison.rows.some((compared) => compared.metric === "issuedPerSecond"), false, "two version 3 reports have no rate to the last ticket")
    for (const invariant of sampleReport.invariants) rowOf(comparison, "invariants", invariant.name)
  })

  test("direction: latency up is worse, latency down is better", () => {
    assert.equal(rowOf(compareReports(sampleReport, withHoldP99(300)), "latency hold", "p99").verdict, "worse")
    assert.equal(rowOf(compareReports(sampleReport, withHoldP99(100)), "latency hold", "p99").verdict, "better")
  })

  test("direction: tickets and throughput up are better, down is worse", () => {
    const fewer = withTickets(Math.round(sampleReport.counts.ticketsIssued * 0.5))
    assert.equal(rowOf(compareReports(sampleReport, fewer), "counts", "ticketsIssued").verdict, "worse")
    assert.equal(rowOf(compareReports(fewer, sampleReport), "counts", "ticketsIssued").verdict, "better")
    const slower: Report = { ...sampleReport, throughput: { ...sampleReport.throughput, issuedPerSecondOverWindow: 1 } }
    assert.equal(rowOf(compareReports(sampleReport, slower), "throughput", "issuedPerSecondOverWindow").verdict, "worse")
    assert.equal(rowOf(compareReports(slower, sampleReport), "throughput", "issuedPerSecondOverWindow").verdict, "better")
  })

  test("direction: more errors of a tag is worse, a tag only in the new run is worse, far fewer is better", () => {
    const moreErrors: Report = {
      ...sampleReport,
      counts: { ...sampleReport.counts, errorsByTag: { ...sampleReport.counts.errorsByTag, GatewayTimeout: 420, DiskFull: 3 } }
    }
    const comparison = compareReports(sampleReport, moreErrors)
    assert.equal(rowOf(comparison, "errors", "GatewayTimeout").verdict, "worse")
    const diskFull = rowOf(comparison, "errors", "DiskFull")
    assert.equal(diskFull.base, 0)
    assert.equal(diskFull.verdict, "worse")
    assert.equal(diskFull.relativeChangePercent, Infinity)
    // the other way, 3 → 0 is within a Poisson count's spread: a kind of error going away needs more than 3 to show
    assert.equal(rowOf(compareReports(moreErrors, sampleReport), "errors", "DiskFull").verdict, "within noise")
    assert.equal(rowOf(compareReports(moreErrors, sampleReport), "errors", "GatewayTimeout").verdict, "better")
  })

  test("tolerance edges: exactly at the tolerance is noise, just past it is not", () => {
    // hold p99 is 176 in the fixture; 5% of it is 8.8
    const base = withHoldP99(200)
    assert.equal(rowOf(compareReports(base, withHoldP99(210), 5), "latency hold", "p99").verdict, "within noise")
    assert.equal(rowOf(compareReports(base, withHoldP99(190), 5), "latency hold", "p99").verdict, "within noise")
    assert.equal(rowOf(compareReports(base, withHoldP99(210.2), 5), "latency hold", "p99").verdict, "worse")
    assert.equal(rowOf(compareReports(base, withHoldP99(189.8), 5), "latency hold", "p99").verdict, "better")
    assert.equal(rowOf(compareReports(base, withHoldP99(210.2), 10), "latency hold", "p99").verdict, "within noise")
    assert.equal(rowOf(compareReports(base, withHoldP99(201), 0), "latency hold", "p99").verdict, "worse")
  })

  test("absolute and relative change", () => {
    const compared = rowOf(compareReports(withHoldP99(200), withHoldP99(250)), "latency hold", "p99")
    assert.equal(compared.absoluteChange, 50)
    assert.equal(compared.relativeChangePercent, 25)
    assert.equal(relativeChangePercent(0, 0), 0)
    assert.equal(relativeChangePercent(0, -1), -Infinity)
    assert.equal(relativeChangePercent(-10, -5), 50)
  })

  test("a new invariant violation is a regression whatever the tolerance", () => {
    const comparison = compareReports(sampleReport, sampleFailingReport, 1_000_000)
    assert.equal(rowOf(comparison, "invariants", "noDoubleBooking").verdict, "worse")
    assert.equal(comparison.regressed, true)
    assert.deepEqual(comparison.regressions.map((compared) => compared.metric), ["noDoubleBooking"])
    // the failing fixture's payment p99 rose 398 → 612 with the same buckets: its two-hour rush in 24 buckets leaves the
    // interval wide enough to hold 0, so the violation is the one regression
    const p99 = rowOf(compareReports(sampleReport, sampleFailingReport), "latency paymentToIssuance", "p99")
    assert.equal(p99.verdict, "within noise")
    assert.ok((p99.interval?.lowPercent ?? Infinity) < 0 && (p99.interval?.highPercent ?? -Infinity) > 53.8, JSON.stringify(p99.interval))
  })

  test("an invariant broken in both runs: fewer violations is better, more is worse, the same is noise", () => {
    const withViolations = (violations: number): Report => ({
      ...sampleReport,
      invariants: sampleReport.invariants.map((invariant) => invariant.name === "moneyConserved" ? { ...invariant, violations } : invariant)
    })
    assert.equal(rowOf(compareReports(withViolations(100), withViolations(101), 50), "invariants", "moneyConserved").verdict, "worse")
    assert.equal(rowOf(compareReports(withViolations(100), withViolations(3)), "invariants", "moneyConserved").verdict, "better")
    assert.equal(rowOf(compareReports(withViolations(3), withViolations(3)), "invariants", "moneyConserved").verdict, "within noise")
    assert.equal(rowOf(compareReports(withViolations(3), withViolations(0)), "invariants", "moneyConserved").verdict, "better")
    assert.equal(rowOf(compareReports(withViolations(0), withViolations(NaN)), "invariants", "moneyConserved").verdict, "worse")
  })

  test("an invariant checked in the new run only, and violated, is a regression and a warning", () => {
    const extra: Report = {
      ...sampleReport,
      invariants: [...sampleReport.invariants, { name: "noLostTickets", description: "", violations: 1 }]
    }
    const comparison = compareReports(sampleReport, extra)
    assert.equal(rowOf(comparison, "invariants", "noLostTickets").verdict, "worse")
    assert.deepEqual(comparison.mismatches, ["invariant noLostTickets checked in new only"])
  })

  test("a metric that became NaN is worse, never noise", () => {
    assert.equal(rowOf(compareReports(sampleReport, withHoldP99(NaN)), "latency hold", "p99").verdict, "worse")
  })

  test("mismatched scenario, seed, mode and configHash are warned about, not counted as regressions", () => {
    const other: Report = { ...sampleReport, scenario: "cinema-premiere", seed: 7, mode: "real", configHash: "sha256:other" }
    const comparison = compareReports(sampleReport, other)
    assert.deepEqual(comparison.mismatches, [
      "scenario differs: base spring-festival, new cinema-premiere",
      "seed differs: base 20260120, new 7",
      "mode differs: base virtual, new real",
      "configHash differs: base sha256:9b1e4c0f7d2a5e8b, new sha256:other"
    ])
    assert.equal(comparison.regressed, false)
  })
})

describe("parseTolerancePercent", () => {
  test("accepts 5%, 5 and 2.5%", () => {
    assert.equal(parseTolerancePercent("5%"), 5)
    assert.equal(parseTolerancePercent("5"), 5)
    assert.equal(parseTolerancePercent("2.5%"), 2.5)
    assert.equal(parseTolerancePercent("0"), 0)
  })
  test("refuses a negative, a word and an empty string, saying what it expects", () => {
    for (const text of ["-5%", "five", "", "5%%"]) {
      const parsed = parseTolerancePercent(text)
      assert.equal(typeof parsed, "string", text)
      assert.match(String(parsed), /--tolerance expects a percentage/)
    }
  })
})

describe("renderCompareSummary", () => {
  test("aligned rows with values, changes and verdicts; names the regressed rows", () => {
    const text = renderCompareSummary(compareReports(sampleReport, sampleFailingReport), "base.json", "new.json")
    assert.match(text, /^Chunyun compare: base\.json -> new\.json \(tolerance 5%\)$/m)
    assert.match(text, /^rates and payment->issuance p50-p99\.9: better or worse only when the 95% bootstrap interval .* beyond 5%; counts: the same, with the 95% interval of two Poisson counts \(a kind of error new in the new run: worse\); other rows: the 5% tolerance; invariants: any new violation$/m)
    assert.match(text, /^\s+latency paymentToIssuance\s+p99\s+398\s+612\s+\+214\s+\+53\.8%\s+-\d+\.\d … \+\d+\.\d\s+within noise$/m)
    assert.match(text, /^\s+invariants\s+noDoubleBooking\s+0\s+2\s+\+2\s+from 0\s+worse$/m)
    assert.match(text, /^note: fixed 5% tolerance: a report has no per-bucket series of hold latency: latency hold p50, latency hold p90, latency hold p99, latency hold p999, latency hold max$/m)
    assert.match(text, /^Result: WORSE \(1 row\(s\) worse: invariants noDoubleBooking\)$/m)
    const tableLines = text.split("\n").filter((line) => /^\s+(counts|errors|latency|throughput|invariants)\s/.test(line))
    const verdictColumn = new Set(tableLines.map((line) => line.search(/(better|worse|within noise|not compared)$/)))
    assert.equal(verdictColumn.size, 1, "the verdict column is aligned")
  })

  test("prints the mismatch warnings and no regression", () => {
    const text = renderCompareSummary(compareReports(sampleReport, { ...sampleReport, seed: 1 }), "a", "b")
    assert.match(text, /^warning: seed differs: base 20260120, new 1$/m)
    assert.match(text, /^Result: no regression$/m)
  })
})

describe("renderCompareHtml", () => {
  test("self-contained, verdicts coloured by row, report strings escaped", () => {
    const hostile: Report = {
      ...sampleFailingReport,
      counts: { ...sampleFailingReport.counts, errorsByTag: { ...sampleFailingReport.counts.errorsByTag, "<script>x</script>": 1 } }
    }
    const html = renderCompareHtml(compareReports(sampleReport, hostile), "base.json", "new<b>.json")
    assert.ok(!html.includes("<script>"))
    assert.ok(html.includes("&lt;script&gt;x&lt;/script&gt;"))
    assert.ok(html.includes("new&lt;b&gt;.json"))
    assert.ok(!/(src|href)=["']?https?:/i.test(html), "no external resources")
    assert.match(html, /<tr class="worse"><td>invariants<\/td><td><code>noDoubleBooking<\/code><\/td>/)
    assert.match(html, /<tr class="noise"><td>latency hold<\/td><td><code>p99<\/code><\/td>/)
    assert.match(html, /<tr class="noise"><td>latency paymentToIssuance<\/td><td><code>p99<\/code><\/td><td class="number">398<\/td><td class="number">612<\/td><td class="number">\+214<\/td><td class="number">\+53\.8%<\/td><td class="number">-\d+\.\d … \+\d+\.\d<\/td><td>within noise<\/td><td><\/td>/)
    assert.match(html, /<td>fixed 5% tolerance: a maximum has no per-bucket series<\/td>/)
    assert.match(html, /class="verdict fail">WORSE</)
    assert.equal(html.match(/<tr class="(worse|better|noise|missing)">/g)?.length, compareReports(sampleReport, hostile).rows.length)
  })
})

describe("reports of two versions", () => {
  test("a version 1 report against a current one: lost answers, which version 1 did not count, are not a regression", () => {
    const next: Report = { ...sampleReport, counts: { ...sampleReport.counts, errorsByTag: { ...sampleReport.counts.errorsByTag, ResponseLost: 30 } } }
    const comparison = compareReports(sampleReportVersion1, next)
    assert.equal(comparison.rows.some((compared) => compared.metric === "ResponseLost"), false)
    assert.equal(comparison.regressed, false)
    assert.match(comparison.mismatches[0] ?? "", /^report versions differ: base 1, new 4 .*ResponseLost is not compared\)$/)
    // two version 2 reports compare lost answers like any tag
    assert.equal(rowOf(compareReports(sampleReport, next), "errors", "ResponseLost").verdict, "worse")
  })
})

describe("rates across report versions", () => {
  test("a version 2 report against a current one: each rate only one has is a row saying which report lacks it, not a crash or a regression", () => {
    const comparison = compareReports(sampleReportVersion2, sampleReport)
    const old = rowOf(comparison, "throughput", "issuedPerSecond")
    assert.deepEqual([old.verdict, old.base, old.next, old.note], ["not compared", sampleReportVersion2.throughput.issuedPerSecond, NaN, "missing from the new report (version 4)"])
    for (const metric of ["issuedPerSecondOverWindow", "peakIssuedPerSecond"]) {
      const added = rowOf(comparison, "throughput", metric)
      assert.deepEqual([added.verdict, added.note], ["not compared", "missing from the base report (version 2)"], metric)
      assert.ok(Number.isNaN(added.base))
    }
    assert.equal(comparison.regressed, false)
    const text = renderCompareSummary(comparison, "old.json", "new.json")
    assert.match(text, /^\s+throughput\s+peakIssuedPerSecond\s+missing\s+29\.40\s+not compared$/m)
    assert.match(text, /^note: missing from the base report \(version 2\): throughput issuedPerSecondOverWindow, throughput peakIssuedPerSecond$/m)
    assert.match(text, /^note: missing from the new report \(version 4\): throughput issuedPerSecond$/m)
    assert.match(renderCompareHtml(comparison, "old.json", "new.json"), /<tr class="missing"><td>throughput<\/td><td><code>issuedPerSecond<\/code><\/td><td class="number">4\.838<\/td><td class="number">missing<\/td>/)
  })

  test("two version 2 reports compare their rate to the last ticket as before", () => {
    const slower: Report = { ...sampleReportVersion2, throughput: { ...sampleReportVersion2.throughput, issuedPerSecond: 1 } }
    const comparison = compareReports(sampleReportVersion2, slower)
    assert.equal(rowOf(comparison, "throughput", "issuedPerSecond").verdict, "worse")
    assert.equal(comparison.rows.some((compared) => compared.verdict === "not compared"), false)
  })
})

describe("within noise, judged from the runs' own series", () => {
  const usual = { ticketsPerBucket: 40, p99Ms: 400 }
  const judgedRows = ["latency paymentToIssuance p50", "latency paymentToIssuance p90", "latency paymentToIssuance p99",
    "latency paymentToIssuance p999", "throughput issuedPerSecondOverWindow", "throughput peakIssuedPerSecond"]
  const judged = (comparison: Comparison) => comparison.rows.filter((compared) => judgedRows.includes(`${compared.section} ${compared.metric}`))

  test("two runs drawn from one distribution: every rate and percentile has an interval holding 0, within noise", () => {
    for (const [baseSeed, nextSeed] of [[1, 2], [3, 4], [5, 6]] as const) {
      const comparison = compareReports(sampleReportFromDistribution(baseSeed, usual), sampleReportFromDistribution(nextSeed, usual))
      assert.equal(judged(comparison).length, judgedRows.length)
      for (const compared of judged(comparison)) {
        assert.ok(compared.interval !== undefined, `${compared.metric} has an interval`)
        assert.ok(compared.interval.lowPercent < 0 && compared.interval.highPercent > 0, `${compared.metric} ${JSON.stringify(compared.interval)}`)
        assert.equal(compared.verdict, "within noise", compared.metric)
      }
      assert.equal(comparison.regressed, false, `seeds ${baseSeed}, ${nextSeed}`)
      // with no floor at all, chance differences still read as noise: the interval alone decides
      const noFloor = compareReports(sampleReportFromDistribution(baseSeed, usual), sampleReportFromDistribution(nextSeed, usual), 0)
      assert.ok(judged(noFloor).every((compared) => compared.verdict === "within noise"))
      assert.ok(judged(noFloor).some((compared) => compared.relativeChangePercent > 0.5), "a chance difference a fixed 0% tolerance would call better or worse")
    }
  })

  test("a clear shift: fewer tickets a second and slower issuance are worse, the reverse better, each interval excluding 0", () => {
    const base = sampleReportFromDistribution(1, usual)
    const shifted = sampleReportFromDistribution(2, { ticketsPerBucket: 30, p99Ms: 520 })
    const worse = compareReports(base, shifted)
    for (const compared of judged(worse)) {
      assert.equal(compared.verdict, "worse", compared.metric)
      const interval = compared.interval!
      assert.ok(compared.section === "throughput" ? interval.highPercent < 0 : interval.lowPercent > 0, `${compared.metric} ${JSON.stringify(interval)}`)
    }
    assert.equal(worse.regressed, true)
    assert.ok(judged(compareReports(shifted, base)).every((compared) => compared.verdict === "better"))
  })

  test("the tolerance is a floor: a change the interval proves but smaller than the tolerance is within noise", () => {
    const base = sampleReportFromDistribution(1, usual)
    const slightlySlower = sampleReportFromDistribution(1, { ...usual, p99Ms: 412 })
    const at = (tolerancePercent: number) => rowOf(compareReports(base, slightlySlower, tolerancePercent), "latency paymentToIssuance", "p99")
    const change = at(5).relativeChangePercent
    assert.ok(change > 2 && change < 5, String(change))
    assert.ok((at(5).interval?.lowPercent ?? 0) > 0, "the interval excludes 0")
    assert.equal(at(5).verdict, "within noise")
    assert.equal(at(1).verdict, "worse")
  })

  test("the bootstrap is deterministic: the same reports give the same intervals, whatever ran before", () => {
    const base = sampleReportFromDistribution(1, usual)
    const next = sampleReportFromDistribution(2, usual)
    const intervals = () => compareReports(base, next).rows.map((compared) => compared.interval)
    const first = intervals()
    Math.random()
    assert.deepEqual(intervals(), first)
    const buckets = base.throughput.series.map((point) => ({ value: point.issued, weight: 1 }))
    assert.deepEqual(changeInterval(10, 11, buckets, buckets, 7), changeInterval(10, 11, buckets, buckets, 7))
    assert.notDeepEqual(changeInterval(10, 11, buckets, buckets, 7), changeInterval(10, 11, buckets, buckets, 8))
    const draws = (seed: number) => Array.from({ length: 3 }, seededRandom(seed))
    assert.deepEqual(draws(42), draws(42))
  })

  test("too few buckets with tickets, or none at all, fall back to the fixed tolerance and say so", () => {
    const fewBuckets = (report: Report): Report => ({
      ...report, throughput: { ...report.throughput, series: report.throughput.series.slice(0, minBootstrapBuckets - 1) }
    })
    const base = fewBuckets(sampleReportFromDistribution(1, usual))
    const comparison = compareReports(base, fewBuckets(sampleReportFromDistribution(2, { ticketsPerBucket: 40, p99Ms: 440 })))
    const p99 = rowOf(comparison, "latency paymentToIssuance", "p99")
    assert.equal(p99.interval, undefined)
    assert.equal(p99.note, "fixed 5% tolerance: fewer than 12 buckets with tickets in a run")
    assert.equal(p99.verdict, "worse", "+10 % is beyond the tolerance")
    const rate = rowOf(comparison, "throughput", "issuedPerSecondOverWindow")
    assert.deepEqual([rate.interval, rate.note], [undefined, "fixed 5% tolerance: fewer than 12 buckets with tickets in a run"])
    const noSeries: Report = { ...sampleReport, throughput: { ...sampleReport.throughput, series: [] } }
    assert.equal(rowOf(compareReports(noSeries, noSeries), "latency paymentToIssuance", "p50").note, "fixed 5% tolerance: fewer than 12 buckets with tickets in a run")
    assert.equal(rowOf(compareReports(sampleReportBeforeDistributions, sampleReport), "latency paymentToIssuance", "p50").note,
      "fixed 5% tolerance: a report written before per-bucket p50 has none")
  })

  test("counts are judged by an interval from the counts themselves: two seeds' error counts are within noise, a real jump is worse", () => {
    const comparison = compareReports(sampleReportFromDistribution(1, usual), sampleReportFromDistribution(2, usual))
    assert.ok(comparison.rows.filter((compared) => compared.kind === "count" && compared.base > 0).every((compared) => compared.interval !== undefined))
    const withErrors = (seatTaken: number, soldOut: number): Report =>
      ({ ...sampleReport, counts: { ...sampleReport.counts, errorsByTag: { SeatTaken: seatTaken, SoldOut: soldOut } } })
    // seeds 42 and 43 of spring-festival at 3,000 passengers: the fixed 5 % called both worse
    const seeds = compareReports(withErrors(70, 32), withErrors(75, 43))
    assert.deepEqual([rowOf(seeds, "errors", "SeatTaken").verdict, rowOf(seeds, "errors", "SoldOut").verdict], ["within noise", "within noise"])
    const soldOut = rowOf(seeds, "errors", "SoldOut")
    assert.ok(soldOut.interval !== undefined && soldOut.interval.lowPercent < 0 && soldOut.interval.highPercent > 34.4, JSON.stringify(soldOut.interval))
    const jump = compareReports(withErrors(70, 32), withErrors(75, 80))
    assert.equal(rowOf(jump, "errors", "SoldOut").verdict, "worse", "32 → 80 sold-out answers is beyond any Poisson spread")
    assert.equal(rowOf(jump, "errors", "SeatTaken").verdict, "within noise")
    assert.equal(countChangeInterval(0, 5), undefined, "a count the base run did not have has no relative interval")
  })
})
