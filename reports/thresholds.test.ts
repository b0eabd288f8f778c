/**
 * Thresholds as users write them: parsed once, evaluated against a report, and every mistake in an
 * expression (bad syntax, a metric that does not exist) is an error naming the expression.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { sampleFailingReport, sampleReport } from "./fixture.js"
import { evaluateThresholds, parseThreshold } from "./thresholds.js"

const evaluateOne = (expression: string, report = sampleReport) => {
  const results = evaluateThresholds(report, [expression])
  assert.equal(results.length, 1)
  return results[0]!
}

/** `evaluateThresholds` throws an Error whose message quotes `expression` and matches `detail`. */
const assertRejected = (expression: string, detail: RegExp) =>
  assert.throws(() => evaluateThresholds(sampleReport, [expression]), (error: unknown) => {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`)
    assert.ok(error.message.includes(`"${expression}"`), `message should quote the expression: ${error.message}`)
    assert.match(error.message, detail)
    return true
  })

describe("parsing", () => {
  test("metric, stat, operator and number come apart, with or without spaces", () => {
    assert.deepEqual(parseThreshold("payment_to_issuance.p99 < 500"),
      { ok: true, metric: "payment_to_issuance", stat: "p99", operator: "<", value: 500 })
    assert.deepEqual(parseThreshold("hold.p999<=250"), { ok: true, metric: "hold", stat: "p999", operator: "<=", value: 250 })
    assert.deepEqual(parseThreshold("  throughput.issued_per_second >= 0.75  "),
      { ok: true, metric: "throughput", stat: "issued_per_second", operator: ">=", value: 0.75 })
    assert.deepEqual(parseThreshold("checkin.max > -1"), { ok: true, metric: "checkin", stat: "max", operator: ">", value: -1 })
    assert.deepEqual(parseThreshold("invariants.violations == 0"), { ok: true, metric: "invariants", stat: "violations", operator: "==", value: 0 })
  })

  test("malformed expressions are refused with a message quoting them and showing the expected form", () => {
    for (const expression of [
      "", "p99 < 500", "payment_to_issuance.p99", "payment_to_issuance.p99 < ", "payment_to_issuance.p99 <> 500",
      "payment_to_issuance.p99 = 500", "payment_to_issuance.p99 < 500ms", "payment_to_issuance.p99 < five",
      "Payment_To_Issuance.p99 < 500", "payment_to_issuance.p99 < 500 and hold.p99 < 1", "hold..p99 < 1", "hold.p99 < 1e3"
    ]) {
      const parsed = parseThreshold(expression)
      assert.equal(parsed.ok, false, `"${expression}" should not parse`)
      if (parsed.ok) continue
      assert.ok(parsed.error.includes(`"${expression}"`), parsed.error)
      assert.match(parsed.error, /expected "metric\.stat <op> number"/)
      assertRejected(expression, /expected "metric\.stat <op> number"/)
    }
  })
})

describe("evaluation against the sample report", () => {
  const p99 = sampleReport.latency.paymentToIssuance.p99

  test("each operator, on both sides of its boundary", () => {
    const cases: ReadonlyArray<[string, boolean]> = [
      [`payment_to_issuance.p99 < ${p99 + 1}`, true], [`payment_to_issuance.p99 < ${p99}`, false],
      [`payment_to_issuance.p99 <= ${p99}`, true], [`payment_to_issuance.p99 <= ${p99 - 1}`, false],
      [`payment_to_issuance.p99 > ${p99 - 1}`, true], [`payment_to_issuance.p99 > ${p99}`, false],
      [`payment_to_issuance.p99 >= ${p99}`, true], [`payment_to_issuance.p99 >= ${p99 + 1}`, false],
      [`payment_to_issuance.p99 == ${p99}`, true], [`payment_to_issuance.p99 == ${p99 + 1}`, false]
    ]
    for (const [expression, passed] of cases) {
      assert.deepEqual(evaluateOne(expression), { expression, passed, actual: p99 }, expression)
    }
  })

  test("every latency stat of every latency metric reads its own number", () => {
    const metrics = { payment_to_issuance: sampleReport.latency.paymentToIssuance, hold: sampleReport.latency.hold, checkin: sampleReport.latency.checkin }
    for (const [metric, summary] of Object.entries(metrics)) {
      for (const stat of ["count", "p50", "p90", "p99", "p999", "max"] as const) {
        assert.equal(evaluateOne(`${metric}.${stat} >= 0`).actual, summary[stat], `${metric}.${stat}`)
      }
    }
    // the three metrics really are different numbers in the fixture, so a mix-up would show
    assert.notEqual(sampleReport.latency.hold.p99, sampleReport.latency.checkin.p99)
  })

  test("throughput and invariant totals", () => {
    const perSecond = sampleReport.throughput.issuedPerSecond
    assert.deepEqual(evaluateOne(`throughput.issued_per_second > ${Math.floor(perSecond)}`),
      { expression: `throughput.issued_per_second > ${Math.floor(perSecond)}`, passed: true, actual: perSecond })
    assert.deepEqual(evaluateOne("invariants.violations == 0"), { expression: "invariants.violations == 0", passed: true, actual: 0 })
    // the failing sample has two double bookings: the sum over every invariant
    assert.deepEqual(evaluateOne("invariants.violations == 0", sampleFailingReport),
      { expression: "invariants.violations == 0", passed: false, actual: 2 })
    assert.equal(evaluateOne("invariants.violations <= 2", sampleFailingReport).passed, true)
    assert.equal(evaluateOne("invariants.violations == 1").passed, false)
    const twoBroken = {
      ...sampleReport,
      invariants: sampleReport.invariants.map((invariant, index) => index === 1 ? { ...invariant, violations: 3 } : index === 4 ? { ...invariant, violations: 4 } : invariant)
    }
    assert.equal(evaluateOne("invariants.violations < 7", twoBroken).actual, 7)
  })

  test("results keep the order and exact text of the expressions; none gives none", () => {
    const expressions = ["hold.p99 < 250", "  checkin.p99<100", "payment_to_issuance.p99 < 300"]
    assert.deepEqual(evaluateThresholds(sampleReport, expressions), [
      { expression: "hold.p99 < 250", passed: true, actual: 176 },
      { expression: "  checkin.p99<100", passed: true, actual: 22 },
      { expression: "payment_to_issuance.p99 < 300", passed: false, actual: 398 }
    ])
    assert.deepEqual(evaluateThresholds(sampleReport, []), [])
  })

  test("the sample report's own thresholds evaluate to what it records", () => {
    assert.deepEqual(evaluateThresholds(sampleReport, sampleReport.thresholds.map((threshold) => threshold.expression)), sampleReport.thresholds)
  })
})

describe("unknown metrics", () => {
  test("an unknown metric or stat is an error naming the expression and the metric, not a silent pass", () => {
    assertRejected("latency.p99 < 500", /unknown metric latency\.p99/)
    assertRejected("hold.p75 < 500", /unknown metric hold\.p75/)
    assertRejected("invariants.count == 0", /unknown metric invariants\.count/)
    assertRejected("throughput.p99 < 5", /unknown metric throughput\.p99/)
    assertRejected("paymenttoissuance.p99 < 500", /unknown metric paymenttoissuance\.p99/)
  })

  test("one bad expression among good ones fails the whole evaluation", () => {
    assert.throws(() => evaluateThresholds(sampleReport, ["hold.p99 < 250", "hold.p98 < 250"]), /"hold\.p98 < 250"/)
  })

  test("names of Object.prototype properties are unknown metrics too", () => {
    assertRejected("constructor.p99 < 1", /unknown metric constructor\.p99/)
    assertRejected("__proto__.p99 < 1", /unknown metric __proto__\.p99/)
    assertRejected("hold.constructor < 1", /unknown metric hold\.constructor/)
    assertRejected("hold.__proto__ < 1", /unknown metric hold\.__proto__/)
  })
})
