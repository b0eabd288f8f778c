import assert from "node:assert/strict"
import { test } from "node:test"
import { Schema } from "effect"
import { compareReports } from "./compare.js"
import { sampleReport, sampleReportBeforeDistributions } from "./fixture.js"
import { Report } from "./Report.js"

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
  assert.deepEqual(comparison.mismatches, [])
})
