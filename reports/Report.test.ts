import assert from "node:assert/strict"
import { test } from "node:test"
import { Schema } from "effect"
import { compareReports } from "./compare.js"
import { sampleReport, sampleReportBeforeDistributions, sampleReportVersion1, sampleReportVersion2 } from "./fixture.js"
import { errorTotalOf, Report } from "./Report.js"

const roundTrip = (report: Report): Report =>
  Schema.decodeUnknownSync(Report)(JSON.parse(JSON.stringify(Schema.encodeSync(Report)(report))))

test("a report written before the distribution and the p50/p90/p99.9 series still decodes", () => {
  const old = roundTrip(sampleReportBeforeDistributions)
  assert.equal(old.latencyDistribution, undefined)
  assert.equal(old.throughput.series[0]?.paymentToIssuanceP50Ms, undefined)
  assert.equal(old.throughput.series[0]?.paymentToIssuanceP99Ms, sampleReport.throughput.series[0]?.paymentToIssuanceP99Ms)
})

test("the new fields survive JSON, and compare reads an old report against a new one", () => {
  const next = roundTrip(sampleReport)
  assert.deepEqual(next.latencyDistribution, sampleReport.latencyDistribution)
  assert.equal(next.throughput.series[0]?.paymentToIssuanceP999Ms, sampleReport.throughput.series[0]?.paymentToIssuanceP999Ms)
  const comparison = compareReports(roundTrip(sampleReportBeforeDistributions), next, 5)
  assert.equal(comparison.regressed, false)
  assert.deepEqual(comparison.mismatches, [
    "report versions differ: base 1, new 4 (before version 2 errors by tag counted answered calls only, not lost answers: ResponseLost is not compared)",
    "audit sources differ: base store, new store, history",
    "invariant history-no-double-booking checked in new only",
    "invariant history-charged-once checked in new only"
  ])
})

test("a version 1 report (no error total, no endpoints) decodes, and its error total is the sum of its tags", () => {
  const old = roundTrip(sampleReportVersion1)
  assert.equal(old.reportVersion, undefined)
  assert.equal(old.endpoints, undefined)
  assert.equal(old.counts.errors, undefined)
  assert.equal(errorTotalOf(old), errorTotalOf(sampleReport))
  assert.equal(compareReports(old, old).mismatches.length, 0)
})

test("a version 2 report (the rate to the last ticket, no window or peak) decodes from JSON and compares against a current one", () => {
  const old = roundTrip(sampleReportVersion2)
  assert.equal(old.throughput.issuedPerSecondOverWindow, undefined)
  assert.equal(old.throughput.issuedPerSecond, sampleReportVersion2.throughput.issuedPerSecond)
  const comparison = compareReports(old, roundTrip(sampleReport))
  assert.deepEqual(comparison.rows.filter((compared) => compared.verdict === "not compared").map((compared) => [compared.metric, compared.note]), [
    ["issuedPerSecondOverWindow", "missing from the base report (version 2)"],
    ["peakIssuedPerSecond", "missing from the base report (version 2)"],
    ["issuedPerSecond", "missing from the new report (version 4)"]
  ])
  assert.deepEqual(comparison.mismatches.slice(0, 2), ["report versions differ: base 2, new 4", "audit sources differ: base store, new store, history"])
})
