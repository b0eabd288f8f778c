import assert from "node:assert/strict"
import { test } from "node:test"
import { sampleFailingReport, sampleReport, sampleReportVersion1, sampleReportVersion2, sampleReportVersion3 } from "./fixture.js"
import type { Report } from "./Report.js"
import { maxWitnessLinesShown, renderSummary } from "./summary.js"

const linesAfter = (summary: string, heading: string): Array<string> => {
  const lines = summary.split("\n")
  const start = lines.indexOf(heading)
  assert.ok(start >= 0, `section ${heading} is missing`)
  const end = lines.indexOf("", start)
  return lines.slice(start + 1, end)
}

test("a broken invariant shows FAIL with its witness; holding ones show PASS", () => {
  const invariants = linesAfter(renderSummary(sampleFailingReport), "Invariants")
  assert.match(invariants.find((line) => line.includes("noDoubleBooking")) ?? "", /^ {2}FAIL {2}noDoubleBooking +store +2$/)
  assert.match(invariants.find((line) => line.includes("moneyConserved")) ?? "", /^ {2}PASS {2}moneyConserved +store +0$/)
  assert.ok(invariants.some((line) => line.includes("| t=08:00:01.204 hold order=O-000183")))
})

test("the invariants say which audits ran and each its source; a report before version 4 was the store's alone", () => {
  const both = linesAfter(renderSummary(sampleReport), "Invariants")
  assert.equal(both[0], "  audited from the store and the history of client observations")
  assert.match(both.find((line) => line.includes("history-charged-once")) ?? "", /^ {2}PASS {2}history-charged-once +history +0$/)
  assert.equal(linesAfter(renderSummary(sampleReportVersion3), "Invariants")[0], "  audited from the store")
  const historyOnly: Report = {
    ...sampleReport, target: "http://127.0.0.1:8080", auditSources: ["history"],
    invariants: sampleReport.invariants.filter((invariant) => invariant.source === "history")
  }
  const summary = renderSummary(historyOnly)
  assert.equal(linesAfter(summary, "Invariants")[0], "  audited from the history of client observations alone (no store was audited)")
  assert.match(summary, /^ {2}target +http:\/\/127\.0\.0\.1:8080$/m)
  assert.doesNotMatch(renderSummary(sampleReport), /^ {2}target/m)
})

test("a clean run has no FAIL anywhere and ends with Result: PASS", () => {
  const summary = renderSummary(sampleReport)
  assert.doesNotMatch(summary, /FAIL/)
  assert.match(summary, /\nResult: PASS\n$/)
})

test("a failed threshold shows FAIL with its actual value and the result counts what failed", () => {
  const summary = renderSummary(sampleFailingReport)
  assert.match(summary, /\n {2}FAIL {2}payment_to_issuance\.p99 < 500 +612\n/)
  assert.match(summary, /Result: FAIL \(1 invariant\(s\) broken, 1 threshold\(s\) failed\)/)
})

test("the trace hash and the latency percentiles are printed", () => {
  const summary = renderSummary(sampleReport)
  assert.ok(summary.includes(`traceHash    ${sampleReport.traceHash}`))
  const latency = linesAfter(summary, "Latency (ms)")
  assert.match(latency[1] ?? "", /^ {2}payment->issuance +33,381 +96 +214 +398 +871 +1,904$/)
})

test("columns are fixed-width: numbers are right-aligned to the same column end", () => {
  const latency = linesAfter(renderSummary(sampleReport), "Latency (ms)")
  const lengths = new Set(latency.map((line) => line.length))
  assert.equal(lengths.size, 1, latency.join("\n"))
  const counts = linesAfter(renderSummary(sampleReport), "Counts")
  assert.equal(new Set(counts.map((line) => line.length)).size, 1, counts.join("\n"))
})

test("no ANSI or other control characters reach the terminal, even from a witness", () => {
  const summary = renderSummary(sampleFailingReport)
  assert.doesNotMatch(summary.replaceAll("\n", ""), /[\u0000-\u001f\u007f-\u009f]/)
  assert.ok(summary.includes("\\u001b[31m"))
})

test(`a witness with a newline stays on one line, and long witnesses are cut to the first ${maxWitnessLinesShown}`, () => {
  const witness = ["first\nsecond", ...Array.from({ length: maxWitnessLinesShown + 1 }, (_, index) => String(index + 2))]
  const report: Report = {
    ...sampleReport,
    invariants: [{ name: "noDoubleAdmission", description: "", violations: 5, witness }]
  }
  const invariants = linesAfter(renderSummary(report), "Invariants")
  assert.ok(invariants.includes("    | first\\nsecond"))
  assert.ok(invariants.includes("    | ... 2 more in report.json"))
  assert.ok(invariants.includes(`    | ${maxWitnessLinesShown}`))
  assert.ok(!invariants.includes(`    | ${maxWitnessLinesShown + 1}`))
})

test("a broken invariant's replay command lines follow its witness", () => {
  const report: Report = {
    ...sampleReport,
    invariants: [{
      name: "no-double-booking", description: "", violations: 1, witness: ["seat 3: order O1 [0,1) overlaps order O2 [0,2)"], actors: ["phone-3", "phone-9"],
      replay: ["npx chunyun run scenarios/spring-festival.ts --seed 42", "npx chunyun replay out/history.jsonl --actor phone-3 --actor phone-9"]
    }]
  }
  const invariants = linesAfter(renderSummary(report), "Invariants")
  assert.deepEqual(invariants.slice(-3), [
    "    | seat 3: order O1 [0,1) overlaps order O2 [0,2)",
    "    replay: npx chunyun run scenarios/spring-festival.ts --seed 42",
    "    replay: npx chunyun replay out/history.jsonl --actor phone-3 --actor phone-9"
  ])
})

test("empty invariants, thresholds and errors are stated, not left blank", () => {
  const report: Report = {
    ...sampleReport,
    counts: { ...sampleReport.counts, errors: 0, errorsByTag: {} },
    invariants: [],
    thresholds: [],
    notes: []
  }
  const summary = renderSummary(report)
  assert.match(summary, /Invariants\n {2}none checked/)
  assert.match(summary, /Thresholds\n {2}none set/)
  assert.match(summary, /\n {2}errors +none\n/)
  assert.doesNotMatch(summary, /Notes/)
})

test("the error total is the report's one count, with its tags below it and the endpoints' table beside", () => {
  const report: Report = {
    ...sampleReport,
    counts: { ...sampleReport.counts, errors: 890, errorsByTag: { ResponseLost: 30, SoldOut: 860 } },
    endpoints: [
      { endpoint: "hold", requests: 2_000, errors: 860, errorsByTag: [{ tag: "SoldOut", status: 409, count: 860 }], latency: sampleReport.latency.hold },
      { endpoint: "pay", requests: 1_170, errors: 30, errorsByTag: [{ tag: "ResponseLost", count: 30 }], latency: sampleReport.latency.hold }
    ]
  }
  const summary = renderSummary(report)
  assert.match(summary, /\n {2}errors +890\n {4}error ResponseLost +30\n {4}error SoldOut +860\n/)
  const endpoints = linesAfter(summary, "Endpoints (latency in ms, of the answered requests)")
  assert.match(endpoints[1] ?? "", /^ {2}hold +2,000 +860 +43\.00 % +18 +61 +176 +933 +SoldOut 409 ×860$/)
  assert.match(endpoints[2] ?? "", /^ {2}pay +1,170 +30 +2\.56 % .* ResponseLost no answer ×30$/)
})

test("a run of mixed journeys shows a line per endpoint more than one journey called: its p99 and requests per journey, busiest journey first", () => {
  const summary = renderSummary(sampleReport)
  const journeys = linesAfter(summary, "Endpoints by journey")
  assert.equal(journeys[0], "  p99 in ms and requests, of the endpoints more than one journey called (background: calls made for no passenger's journey)")
  assert.match(journeys[1] ?? "", /^ {2}endpoint +app +sms +background$/)
  assert.match(journeys.find((line) => line.startsWith("  pay ")) ?? "", /^ {2}pay +210 \(25,225; 0\.75 % errors\) +630 \(8,408; 0\.74 % errors\)$/)
  assert.match(journeys.find((line) => line.startsWith("  get-ticket ")) ?? "", /^ {2}get-ticket +35 \(41,395\) {2,}35 \(4,600\)$/)
  // search and scan are the app's alone: their rows above say it all
  assert.deepEqual(journeys.slice(2).map((line) => line.trim().split(" ")[0]), ["register", "login", "get-ticket", "hold", "top-up", "pay"])
})

test("a run of one journey, and a report written before the split, have no endpoints by journey", () => {
  const oneJourney: Report = {
    ...sampleReport,
    endpoints: (sampleReport.endpoints ?? []).map((endpoint) => ({ ...endpoint, journeys: endpoint.journeys?.filter((journey) => journey.journey !== "sms") }))
  }
  assert.doesNotMatch(renderSummary(oneJourney), /Endpoints by journey/)
  assert.doesNotMatch(renderSummary(sampleReportVersion3), /Endpoints by journey/)
})

test("a version 1 report's error total is the sum of its tags, and it has no endpoints section", () => {
  const summary = renderSummary(sampleReportVersion1)
  assert.match(summary, /\n {2}errors +2,274\n/)
  assert.doesNotMatch(summary, /Endpoints/)
})

test("the scenario's section names the passengers and journeys, each train and each fault", () => {
  const scenario = linesAfter(renderSummary(sampleReport), "Scenario")
  assert.equal(scenario[0], "  08:00 on-sale of three trains: 120,000 passengers, random segments, lost answers retried")
  assert.match(scenario[1] ?? "", /^ {2}passengers +120,000 \(app 75 %, sms 25 %\); exponential after the on-sale, mean delay 90 s$/)
  assert.match(scenario[2] ?? "", /^ {2}train +G1 2027-01-28 BJP 09:00 → AOH 14:08, 6 stops, 600 seats$/)
  assert.match(scenario[4] ?? "", /^ {2}fault +client-timeouts \+0 s to \+10m 00s: responseLossRate 0\.02, timeoutMs 5000/)
  assert.doesNotMatch(renderSummary(sampleReportVersion1), /\nScenario\n/)
})

test("a real-mode summary claims no virtual duration, and a latency row with no sample is left out", () => {
  const real = renderSummary({ ...sampleReport, mode: "real", latency: { ...sampleReport.latency, hold: { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 } } })
  assert.doesNotMatch(real, /\n {2}virtual /)
  assert.match(real, /\n {2}wall +41\.3 s\n/)
  const latency = linesAfter(real, "Latency (ms)")
  assert.deepEqual(latency.map((line) => line.trim().split(/ +/)[0]), ["operation", "payment->issuance", "check-in"])
  assert.match(renderSummary(sampleReport), /\n {2}virtual +2h 00m 00s\n/)
})

test("the rates are named for what they divide: the measuring window and the best window; an old report's rate says it ran to the last ticket", () => {
  const counts = linesAfter(renderSummary(sampleReport), "Counts")
  // 33,381 tickets over the two-hour window; the busiest five-minute bucket issued 8,820
  assert.ok(counts.some((line) => /^ {2}issued per second, on-sale to scenario end \(2h 00m 00s\) +4\.636$/.test(line)), counts.join("\n"))
  assert.ok(counts.some((line) => /^ {2}peak issued per second, best 5m 00s +29\.40$/.test(line)), counts.join("\n"))
  assert.ok(!counts.some((line) => line.includes("last ticket")))
  const old = linesAfter(renderSummary(sampleReportVersion2), "Counts")
  assert.ok(old.some((line) => /^ {2}issued per second, on-sale to last ticket \(before report version 3\) +4\.838$/.test(line)), old.join("\n"))
  assert.ok(!old.some((line) => line.includes("scenario end") || line.includes("peak")))
})
