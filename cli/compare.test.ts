/**
 * `chunyun compare` as a user runs it: a child process on two fixture reports written to a temp
 * directory, its exit code (0 same, 1 regressed, 2 usage or file error) and what it prints.
 */
import assert from "node:assert/strict"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"
import { sampleFailingReport, sampleReport, sampleReportFromDistribution, sampleReportVersion1, sampleReportVersion2, sampleReportVersion3 } from "../reports/fixture.js"
import { currentReportVersion } from "../reports/Report.js"
import { chunyun as runChunyun, describeResult } from "./testing/chunyun.js"

const regressed = 1
const usageError = 2

const chunyun = (args: ReadonlyArray<string>) => runChunyun(args)

let directory: string
const file = (name: string) => join(directory, name)

before(() => {
  directory = mkdtempSync(join(tmpdir(), "chunyun-compare-"))
  writeFileSync(file("base.json"), JSON.stringify(sampleReport))
  writeFileSync(file("same.json"), JSON.stringify(sampleReport))
  writeFileSync(file("failing.json"), JSON.stringify(sampleFailingReport))
  writeFileSync(file("other-seed.json"), JSON.stringify({ ...sampleReport, seed: 7 }))
  writeFileSync(file("bad.json"), JSON.stringify({ ...sampleReport, latency: { ...sampleReport.latency, hold: { ...sampleReport.latency.hold, p99: "fast" } } }))
  writeFileSync(file("not-json.json"), "{ scenario: ")
  writeFileSync(file("version-1.json"), JSON.stringify(sampleReportVersion1))
  writeFileSync(file("version-2.json"), JSON.stringify(sampleReportVersion2))
  writeFileSync(file("version-3.json"), JSON.stringify(sampleReportVersion3))
  writeFileSync(file("drawn-1.json"), JSON.stringify(sampleReportFromDistribution(1, { ticketsPerBucket: 40, p99Ms: 400 })))
  writeFileSync(file("drawn-2.json"), JSON.stringify(sampleReportFromDistribution(2, { ticketsPerBucket: 40, p99Ms: 400 })))
  writeFileSync(file("drawn-slower.json"), JSON.stringify(sampleReportFromDistribution(2, { ticketsPerBucket: 30, p99Ms: 520 })))
  writeFileSync(file("version-99.json"), JSON.stringify({ ...sampleReport, reportVersion: 99, counts: "counted otherwise" }))
})
after(() => rmSync(directory, { recursive: true, force: true }))

describe("chunyun compare", () => {
  test("the same report twice exits 0 with every row within noise", async () => {
    const result = await chunyun(["compare", file("base.json"), file("same.json")])
    assert.equal(result.code, 0, describeResult(result))
    assert.match(result.stdout, /^Result: no regression$/m)
    assert.match(result.stdout, /^\s+latency hold\s+p99\s+176\s+176\s+0\s+0\.0%\s+within noise$/m)
    assert.doesNotMatch(result.stdout, /warning:/)
  })

  test("a regressed report exits 1, names the rows, and writes the HTML page", async () => {
    const htmlPath = file("out/compare.html")
    const result = await chunyun(["compare", file("base.json"), file("failing.json"), "--html", htmlPath])
    assert.equal(result.code, regressed, describeResult(result))
    assert.match(result.stdout, /Result: WORSE \(1 row\(s\) worse: invariants noDoubleBooking\)/)
    assert.ok(existsSync(htmlPath))
    assert.match(readFileSync(htmlPath, "utf8"), /<tr class="worse"><td>invariants<\/td><td><code>noDoubleBooking<\/code>/)
  })

  test("a tolerance wide enough for any latency still fails on the new invariant violation", async () => {
    const result = await chunyun(["compare", file("base.json"), file("failing.json"), "--tolerance", "100%"])
    assert.equal(result.code, regressed, describeResult(result))
    assert.match(result.stdout, /\(tolerance 100%\)/)
    assert.match(result.stdout, /Result: WORSE \(1 row\(s\) worse: invariants noDoubleBooking\)/)
  })

  test("two runs of one distribution exit 0; a clear shift exits 1; each rate and percentile prints its interval", async () => {
    const [same, shifted] = await Promise.all([
      chunyun(["compare", file("drawn-1.json"), file("drawn-2.json")]),
      chunyun(["compare", file("drawn-1.json"), file("drawn-slower.json")])
    ])
    assert.equal(same.code, 0, describeResult(same))
    assert.match(same.stdout, /^\s+latency paymentToIssuance\s+p99\s+\S+\s+\S+\s+\S+\s+[-+]\d+\.\d%\s+-\d+\.\d … \+\d+\.\d\s+within noise$/m)
    assert.match(same.stdout, /^Result: no regression$/m)
    assert.equal(shifted.code, regressed, describeResult(shifted))
    assert.match(shifted.stdout, /^\s+latency paymentToIssuance\s+p99\s+\S+\s+\S+\s+\+\S+\s+\+\d+\.\d%\s+\+\d+\.\d … \+\d+\.\d\s+worse$/m)
    assert.match(shifted.stdout, /^\s+throughput\s+issuedPerSecondOverWindow\s+\S+\s+\S+\s+-\S+\s+-\d+\.\d%\s+-\d+\.\d … -\d+\.\d\s+worse$/m)
  })

  test("a different seed is a warning, not a failure", async () => {
    const result = await chunyun(["compare", file("base.json"), file("other-seed.json")])
    assert.equal(result.code, 0, describeResult(result))
    assert.match(result.stdout, /^warning: seed differs: base 20260120, new 7$/m)
  })

  test("a report written before versions compares against a new one, with a warning that errors were counted otherwise", async () => {
    const result = await chunyun(["compare", file("version-1.json"), file("base.json")])
    assert.equal(result.code, 0, describeResult(result))
    assert.match(result.stdout, /^warning: report versions differ: base 1, new 4 \(before version 2 errors by tag counted answered calls only, not lost answers: ResponseLost is not compared\)$/m)
  })

  test("a version 3 report, audited from the store alone, against a current one: the sources and the history's invariants are warned of, exit 0", async () => {
    const result = await chunyun(["compare", file("version-3.json"), file("base.json")])
    assert.equal(result.code, 0, describeResult(result))
    assert.match(result.stdout, /^warning: audit sources differ: base store, new store, history$/m)
    assert.match(result.stdout, /^warning: invariant history-no-double-booking checked in new only$/m)
    assert.match(result.stdout, /^Result: no regression$/m)
  })

  test("a version 2 report, whose only rate ran to the last ticket, against a current one: the rates one lacks are rows saying so, exit 0", async () => {
    const result = await chunyun(["compare", file("version-2.json"), file("base.json")])
    assert.equal(result.code, 0, describeResult(result))
    assert.match(result.stdout, /^\s+throughput\s+issuedPerSecond\s+4\.838\s+missing\s+not compared$/m)
    assert.match(result.stdout, /^\s+throughput\s+issuedPerSecondOverWindow\s+missing\s+4\.636\s+not compared$/m)
    assert.match(result.stdout, /^note: missing from the base report \(version 2\): throughput issuedPerSecondOverWindow, throughput peakIssuedPerSecond$/m)
    assert.match(result.stdout, /^Result: no regression$/m)
  })

  test("a report of a version newer than this code is refused by its version, not by whatever field changed", async () => {
    const result = await chunyun(["compare", file("base.json"), file("version-99.json")])
    assert.equal(result.code, usageError, describeResult(result))
    assert.ok(result.stderr.includes(`${file("version-99.json")}: report version 99 was written by a newer chunyun; this one reads versions up to ${currentReportVersion}`), result.stderr)
  })

  test("a report that does not match the schema names the file, the path and what was expected", async () => {
    const result = await chunyun(["compare", file("base.json"), file("bad.json")])
    assert.equal(result.code, usageError, describeResult(result))
    assert.ok(result.stderr.includes(`${file("bad.json")}: at latency.hold.p99: Expected number, actual "fast"`), result.stderr)
  })

  test("a missing file and a file that is not JSON", async () => {
    const [missing, notJson] = await Promise.all([
      chunyun(["compare", file("absent.json"), file("base.json")]),
      chunyun(["compare", file("base.json"), file("not-json.json")])
    ])
    assert.equal(missing.code, usageError, describeResult(missing))
    assert.ok(missing.stderr.includes(`${file("absent.json")}: no such report file`), missing.stderr)
    assert.equal(notJson.code, usageError, describeResult(notJson))
    assert.ok(notJson.stderr.includes(`${file("not-json.json")}: is not JSON`), notJson.stderr)
  })

  test("usage errors: one file, and a tolerance that is not a percentage", async () => {
    const [oneFile, badTolerance] = await Promise.all([
      chunyun(["compare", file("base.json")]),
      chunyun(["compare", file("base.json"), file("same.json"), "--tolerance", "lots"])
    ])
    assert.equal(oneFile.code, usageError, describeResult(oneFile))
    assert.match(oneFile.stderr, /compare takes exactly two report files/)
    assert.match(oneFile.stderr, /chunyun compare <base\.json> <new\.json> \[--tolerance 5%\]/)
    assert.equal(badTolerance.code, usageError, describeResult(badTolerance))
    assert.match(badTolerance.stderr, /--tolerance expects a percentage such as 5% or 2\.5, got "lots"/)
  })
})
