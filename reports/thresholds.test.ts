/**
 * Thresholds in k6's form: parsing (metric + `aggregation op value`), every operator at its boundary,
 * errors that name the threshold (malformed, unknown metric, an aggregation the metric lacks, inherited
 * property names), and evaluation against a report.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Either, ParseResult, Schema } from "effect"
import { sampleReport } from "./fixture.js"
import { evaluateThresholds, parseThreshold, parseThresholdFlag, ScenarioThresholds, ThresholdError, thresholdListOf } from "./thresholds.js"
import type { Threshold } from "./thresholds.js"

const rejected = (run: () => unknown, pattern: RegExp) => assert.throws(run, (error: unknown) => error instanceof ThresholdError && pattern.test(error.message))

/** a scenario's thresholds as the scenario's decoding parses them, in order */
const parseThresholds = (sources: Readonly<Record<string, ReadonlyArray<string>>>): Array<Threshold> =>
  thresholdListOf(Schema.decodeUnknownSync(ScenarioThresholds)(sources))

/** each refusal of a scenario's thresholds: its path inside them and its message */
const refusalsOf = (sources: unknown) => {
  const decoded = Schema.decodeUnknownEither(ScenarioThresholds, { errors: "all" })(sources)
  assert.ok(Either.isLeft(decoded), "refused")
  return ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map((issue) => [issue.path.map(String).join("."), issue.message])
}

describe("parsing", () => {
  test("a k6 expression under its metric", () => {
    assert.deepEqual(parseThreshold("payment_to_issuance", "p(99)<500"),
      { metric: "payment_to_issuance", aggregation: "p(99)", operator: "<", value: 500, expression: "payment_to_issuance: p(99)<500", source: "p(99)<500" })
    assert.equal(parseThreshold("hold", " p(99.9) <= 250 ").operator, "<=")
    assert.equal(parseThreshold("invariants", "violations==0").value, 0)
    assert.equal(parseThreshold("http_req_failed", "rate<0.01").value, 0.01)
  })

  test("a scenario's map becomes one threshold per expression, in order", () => {
    const parsed = parseThresholds({ payment_to_issuance: ["p(99)<500", "max<2000"], invariants: ["violations==0"] })
    assert.deepEqual(parsed.map((threshold) => threshold.expression),
      ["payment_to_issuance: p(99)<500", "payment_to_issuance: max<2000", "invariants: violations==0"])
  })

  test("a scenario's thresholds encode back to the expressions as they were written", () => {
    const written = { hold: [" p(99.9) <= 250 ", "count>1"], invariants: ["violations==0"], checkin: [] }
    assert.deepEqual(Schema.encodeSync(ScenarioThresholds)(Schema.decodeUnknownSync(ScenarioThresholds)(written)), written)
  })

  test("a scenario's refused thresholds are each named at their place: the metric's key, or the expression in its list", () => {
    assert.deepEqual(refusalsOf({ latency: ["p(99)<500"], hold: ["p(99)<1", "p99 < 500", "p(95)<1"] }), [
      ["latency", "unknown metric latency (known: payment_to_issuance, hold, checkin, http_req_failed, tickets_issued_per_second, invariants)"],
      ["hold.1", `expected "aggregation <op> number", e.g. "p(99)<500"`],
      ["hold.2", "hold has no p(95) (it has p(50), med, p(90), p(99), p(99.9), max, count)"]
    ])
    assert.deepEqual(refusalsOf({ hold: "p(99)<1" }).map(([path]) => path), ["hold"])
  })

  test("--threshold takes `metric: expression`", () => {
    assert.equal(parseThresholdFlag("checkin: p(90) < 50").expression, "checkin: p(90) < 50")
    rejected(() => parseThresholdFlag("p(99)<500"), /expected "metric: aggregation <op> number"/)
  })

  test("malformed expressions are errors naming the threshold", () => {
    for (const expression of ["", "p(99)", "p(99) <", "p(99) <> 500", "p(99) = 500", "p(99) < 500ms", "p(99) < five", "P(99) < 1", "p(99) < 1e3"]) {
      rejected(() => parseThreshold("hold", expression), new RegExp(`threshold "hold: ${expression.trim().replace(/[()]/g, "\\$&")}": expected`))
    }
  })

  test("unknown metrics, missing aggregations and inherited property names are refused", () => {
    rejected(() => parseThreshold("latency", "p(99)<1"), /unknown metric latency/)
    rejected(() => parseThreshold("constructor", "p(99)<1"), /unknown metric constructor/)
    rejected(() => parseThreshold("__proto__", "p(99)<1"), /unknown metric __proto__/)
    rejected(() => parseThreshold("hold", "p(95)<1"), /hold has no p\(95\)/)
    rejected(() => parseThreshold("hold", "constructor<1"), /hold has no constructor/)
    rejected(() => parseThreshold("invariants", "rate<1"), /invariants has no rate/)
  })
})

describe("evaluation", () => {
  const p99 = sampleReport.latency.paymentToIssuance.p99
  const passes = (expression: string) => evaluateThresholds(sampleReport, [parseThreshold("payment_to_issuance", expression)])[0]!.passed

  test("every operator at its boundary", () => {
    const cases: ReadonlyArray<readonly [string, boolean]> = [
      [`p(99)<${p99 + 1}`, true], [`p(99)<${p99}`, false], [`p(99)<=${p99}`, true], [`p(99)<=${p99 - 1}`, false],
      [`p(99)>${p99 - 1}`, true], [`p(99)>${p99}`, false], [`p(99)>=${p99}`, true], [`p(99)>=${p99 + 1}`, false],
      [`p(99)==${p99}`, true], [`p(99)===${p99}`, true], [`p(99)==${p99 + 1}`, false], [`p(99)!=${p99 + 1}`, true]
    ]
    for (const [expression, expected] of cases) assert.equal(passes(expression), expected, expression)
  })

  test("actual values come from the report: trends, the failed-request rate, invariants, throughput", () => {
    const results = evaluateThresholds(sampleReport, parseThresholds({
      hold: ["med<100000"], invariants: ["violations==0"], tickets_issued_per_second: ["value>=0"], http_req_failed: ["rate<=1"]
    }))
    assert.equal(results[0]!.actual, sampleReport.latency.hold.p50)
    assert.equal(results[1]!.actual, sampleReport.invariants.reduce((sum, invariant) => sum + invariant.violations, 0))
    assert.equal(results[2]!.actual, sampleReport.throughput.issuedPerSecondOverWindow)
    const errors = Object.values(sampleReport.counts.errorsByTag).reduce((sum, count) => sum + count, 0)
    assert.equal(results[3]!.actual, errors / sampleReport.counts.requests)
  })

  test("a percentile of a trend with no samples fails, marked noSamples; its count is compared as it is", () => {
    const empty = { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 }
    const noPayments = { ...sampleReport, latency: { ...sampleReport.latency, paymentToIssuance: { ...sampleReport.latency.paymentToIssuance, ...empty } } }
    const [percentile, maximum, count] = evaluateThresholds(noPayments, parseThresholds({ payment_to_issuance: ["p(99)<500", "max<60000", "count>=0"] }))
    assert.deepEqual([percentile?.passed, percentile?.noSamples], [false, true])
    assert.deepEqual([maximum?.passed, maximum?.noSamples], [false, true])
    assert.deepEqual([count?.passed, count?.noSamples], [true, undefined])
    // with samples, the same expression is judged on its value
    assert.equal(evaluateThresholds(sampleReport, parseThresholds({ payment_to_issuance: [`p(99)<${sampleReport.latency.paymentToIssuance.p99 + 1}`] }))[0]?.noSamples, undefined)
  })
})
