import assert from "node:assert/strict"
import { test } from "node:test"
import { Schema } from "effect"
import { compareReports } from "./compare.js"
import { sampleReport, sampleReportBeforeDistributions, sampleReportVersion1 } from "./fixture.js"
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
    "report versions differ: base 1, new 3 (before version 2 errors by tag counted answered calls only, not lost answers: ResponseLost is not compared)"
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
