/**
 * The `chunyun` command as a user runs it: a child process, its exit code, what it prints, and the
 * report files it writes. A tiny scenario keeps each run to a few seconds.
 */
import assert from "node:assert/strict"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Redacted, Schema } from "effect"
import { Report } from "../reports/Report.js"
import { testPostgresUrl } from "../reference/testing/TestStore.js"
import { chunyun, describeResult } from "./testing/chunyun.js"
import type { CliResult } from "./testing/chunyun.js"

const tinyScenario = "simulator/testing/tiny-scenario.ts"
const usageError = 2
/** child processes at once for the refusal cases: more than the cores only thrashes */
const refusalConcurrency = 2

const printedTraceHash = (stdout: string) => /^\s*traceHash\s+([0-9a-f]{64})\s*$/m.exec(stdout)?.[1]

let directory: string
before(() => { directory = mkdtempSync(join(tmpdir(), "chunyun-cli-")) })
after(() => rmSync(directory, { recursive: true, force: true }))

describe("chunyun run", () => {
  let first: CliResult
  let second: CliResult
  let firstOut: string
  let secondOut: string
  let secondPoints: string
  before(async () => {
    firstOut = join(directory, "first")
    secondOut = join(directory, "second")
    secondPoints = join(directory, "second-points.jsonl")
    // two processes at once: the trace must not depend on what else the machine is doing, nor on --out-json
    ;[first, second] = await Promise.all([
      chunyun(["run", tinyScenario, "--seed", "3", "--out", firstOut]),
      chunyun(["run", tinyScenario, "--seed", "3", "--out", secondOut, "--out-json", secondPoints])
    ])
  })

  test("exits 0 and writes a report.json that decodes as a Report of this run", () => {
    assert.equal(first.code, 0, describeResult(first))
    const report = Schema.decodeUnknownSync(Report)(JSON.parse(readFileSync(join(firstOut, "report.json"), "utf8")))
    assert.equal(report.scenario, "spring-festival-tiny")
    assert.equal(report.seed, 3)
    assert.equal(report.mode, "virtual")
    assert.match(report.traceHash, /^[0-9a-f]{64}$/)
    assert.equal(report.counts.passengers, 200)
    assert.ok(report.counts.ticketsIssued > 0)
    assert.ok(report.invariants.length >= 5)
    assert.ok(report.invariants.every((invariant) => invariant.violations === 0), JSON.stringify(report.invariants))
    assert.ok(report.thresholds.length > 0 && report.thresholds.every((threshold) => threshold.passed))
  })

  test("report.html exists and shows the trace hash", () => {
    const report = JSON.parse(readFileSync(join(firstOut, "report.json"), "utf8")) as { traceHash: string }
    const htmlPath = join(firstOut, "report.html")
    assert.ok(existsSync(htmlPath))
    assert.ok(readFileSync(htmlPath, "utf8").includes(report.traceHash))
  })

  test("the trace hash printed on stdout is the one in report.json, and the report paths are printed", () => {
    const report = JSON.parse(readFileSync(join(firstOut, "report.json"), "utf8")) as { traceHash: string }
    assert.equal(printedTraceHash(first.stdout), report.traceHash, first.stdout)
    assert.ok(first.stdout.includes(join(firstOut, "report.json")))
    assert.equal(first.stderr, "")
  })

  test("the server's log goes to server.log beside the report, counted in one line, never between the progress lines", () => {
    const logPath = join(firstOut, "server.log")
    assert.ok(existsSync(logPath))
    const logLines = readFileSync(logPath, "utf8").split("\n").filter((line) => line !== "")
    const warnings = logLines.filter((line) => line.includes(" level=WARN ")).length
    const errors = logLines.filter((line) => line.includes(" level=ERROR ")).length
    assert.match(first.stdout, new RegExp(`\\nserver log: ${warnings} warnings?, ${errors} errors? → \\S*server\\.log\\n`))
    assert.doesNotMatch(first.stdout, /level=/)
  })

  test("running it again, streaming its requests with --out-json, gives the same trace hash", () => {
    assert.equal(second.code, 0, describeResult(second))
    const firstReport = JSON.parse(readFileSync(join(firstOut, "report.json"), "utf8")) as { traceHash: string; counts: unknown }
    const secondReport = JSON.parse(readFileSync(join(secondOut, "report.json"), "utf8")) as { traceHash: string; counts: unknown }
    assert.equal(secondReport.traceHash, firstReport.traceHash)
    assert.deepEqual(secondReport.counts, firstReport.counts)
    assert.equal(printedTraceHash(second.stdout), printedTraceHash(first.stdout))
  })

  test("--out-json writes one k6-style point per request of the report, each line parseable JSON", () => {
    assert.equal(second.code, 0, describeResult(second))
    const report = Schema.decodeUnknownSync(Report)(JSON.parse(readFileSync(join(secondOut, "report.json"), "utf8")))
    const lines = readFileSync(secondPoints, "utf8").split("\n").filter((line) => line !== "")
    const parsed = lines.map((line) => JSON.parse(line) as {
      type: string; metric: string; data: { time?: string; value?: number; tags?: Record<string, string> }
    })
    const points = parsed.filter((line) => line.type === "Point")
    assert.equal(points.length, report.counts.requests, "points written ≠ requests in the report")
    assert.ok(points.every((point) => ["http_req_duration", "http_req_lost"].includes(point.metric)
      && typeof point.data.value === "number" && !Number.isNaN(Date.parse(point.data.time ?? ""))
      && typeof point.data.tags?.["endpoint"] === "string" && typeof point.data.tags["actor_kind"] === "string"
      && typeof point.data.tags["outcome"] === "string"), "a point lacks its time, value or tags")
    // per endpoint, as the report's table counts them
    const byEndpoint = new Map<string, number>()
    for (const point of points) byEndpoint.set(point.data.tags!["endpoint"]!, (byEndpoint.get(point.data.tags!["endpoint"]!) ?? 0) + 1)
    assert.deepEqual(Object.fromEntries(byEndpoint), Object.fromEntries((report.endpoints ?? []).map((endpoint) => [endpoint.endpoint, endpoint.requests])))
    // and per endpoint and journey, as the report splits them
    const byJourney = new Map<string, number>()
    for (const point of points) {
      const key = `${point.data.tags!["endpoint"]} ${point.data.tags!["journey"]}`
      byJourney.set(key, (byJourney.get(key) ?? 0) + 1)
    }
    assert.deepEqual(Object.fromEntries(byJourney), Object.fromEntries((report.endpoints ?? []).flatMap((endpoint) =>
      (endpoint.journeys ?? []).map((journey) => [`${endpoint.endpoint} ${journey.journey}`, journey.requests]))))
    // each metric is declared once, before its first point
    assert.deepEqual(parsed.filter((line) => line.type === "Metric").map((line) => line.metric).sort(), [...new Set(points.map((point) => point.metric))].sort())
    assert.ok(second.stdout.includes(`\nrequest points: ${report.counts.requests} requests → ${secondPoints}\n`), second.stdout)
  })
})

test("run --passengers N runs the file's scenario with N passengers and says so", async () => {
  const out = join(directory, "fewer")
  const result = await chunyun(["run", tinyScenario, "--seed", "3", "--passengers", "40", "--out", out])
  // with 40 passengers one retried lost answer is the p99, past the scenario's threshold: 99 is a finished run too
  assert.ok(result.code === 0 || result.code === 99, describeResult(result))
  assert.match(result.stdout, /spring-festival-tiny, seed 3, virtual mode, 40 passengers \(the file says 200\)/)
  const report = Schema.decodeUnknownSync(Report)(JSON.parse(readFileSync(join(out, "report.json"), "utf8")))
  assert.equal(report.counts.passengers, 40)
})

describe("chunyun refuses bad input with exit code 2 and says why on stderr", () => {
  const assertRefused = (result: CliResult, message: RegExp) => {
    assert.equal(result.code, usageError, describeResult(result))
    assert.match(result.stderr, message)
    assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace")
  }
  const typoFile = () => join(directory, "typo.ts")
  const absentFile = () => join(directory, "absent.ts")

  // Each refusal is a process that mostly loads modules (~1 s of CPU): run them a few at a time, assert one by one.
  const invocations = {
    modeWarp: () => ["run", tinyScenario, "--mode", "warp"],
    seedLetters: () => ["run", tinyScenario, "--seed", "x"],
    seedFraction: () => ["run", tinyScenario, "--seed", "2.5"],
    unknownFlag: () => ["run", tinyScenario, "--sed", "3"],
    passwordCost: () => ["run", tinyScenario, "--password-cost", "1000"],
    typo: () => ["run", typoFile(), "--seed", "3", "--out", join(directory, "typo-out")],
    absent: () => ["run", absentFile()],
    unknownCommand: () => ["nosuch"],
    serveTwoStores: () => ["serve", "--db", ":memory:", "--store", "postgres://root@127.0.0.1:5432/test"],
    serveStoreNotPostgres: () => ["serve", "--store", "mysql://root@127.0.0.1/test"],
    matrixLoadPercent: () => ["matrix", tinyScenario, "--vary", "inventory=conditional", "--max-outside-load", "10%"],
    noPassengers: () => ["run", tinyScenario, "--passengers", "0"],
    runStoreNotPostgres: () => ["run", tinyScenario, "--store", "data/chunyun.db"],
    runStoreVirtual: () => ["run", tinyScenario, "--store", testPostgresUrl(), "--mode", "virtual"],
    runWorkersWithoutStore: () => ["run", tinyScenario, "--workers", "2"],
    outJsonNoDirectory: () => ["run", tinyScenario, "--out", join(directory, "points-refused"), "--out-json", join(directory, "no-such-directory", "points.jsonl")]
  } satisfies Record<string, () => ReadonlyArray<string>>
  const results = new Map<keyof typeof invocations, CliResult>()
  const resultOf = (name: keyof typeof invocations) => {
    const result = results.get(name)
    assert.ok(result, `no result for ${name}`)
    return result
  }

  before(async () => {
    const springFestivalUrl = new URL("../scenarios/spring-festival.ts", import.meta.url).href
    writeFileSync(typoFile(), `import base from ${JSON.stringify(springFestivalUrl)}
const { passengers, ...rest } = base
export default { ...rest, pasengers: passengers }
`)
    const pending = Object.keys(invocations) as Array<keyof typeof invocations>
    const worker = async () => {
      for (let name = pending.shift(); name !== undefined; name = pending.shift()) results.set(name, await chunyun(invocations[name]()))
    }
    await Promise.all(Array.from({ length: refusalConcurrency }, worker))
  })

  test("--mode warp", () => {
    assertRefused(resultOf("modeWarp"), /--mode expects virtual or real, got "warp"/)
  })

  test("--seed x, and a fractional seed", () => {
    assertRefused(resultOf("seedLetters"), /--seed expects an integer ≥ 0, got "x"/)
    assertRefused(resultOf("seedFraction"), /--seed expects an integer ≥ 0, got "2.5"/)
  })

  test("an unknown flag, and a password cost that is not a power of two", () => {
    const unknownFlag = resultOf("unknownFlag")
    assertRefused(unknownFlag, /^chunyun: unknown option --sed for "chunyun run" \(its options are below\)\nusage:\n {2}chunyun run <scenario\.ts>/)
    assert.ok(!unknownFlag.stderr.includes("chunyun serve"), `the usage of run only:\n${unknownFlag.stderr}`)
    assertRefused(resultOf("passwordCost"), /--password-cost must be a power of two, got 1000/)
  })

  test("a scenario with a typo names the file and the path, and writes no report", () => {
    const result = resultOf("typo")
    assertRefused(result, /invalid scenario/)
    assert.ok(result.stderr.includes(`${typoFile()}: at pasengers: is unexpected`), result.stderr)
    assert.ok(result.stderr.includes(`${typoFile()}: at passengers: is missing`), result.stderr)
    assert.equal(existsSync(join(directory, "typo-out")), false)
  })

  test("a scenario file that does not exist", () => {
    const result = resultOf("absent")
    assertRefused(result, /no such scenario file/)
    assert.ok(result.stderr.includes(`${absentFile()}: no such scenario file`), result.stderr)
  })

  test("serve with both --db and --store, or a --store that is no PostgreSQL URL", () => {
    assertRefused(resultOf("serveTwoStores"), /--db \(a SQLite file\) and --store \(a PostgreSQL URL\) exclude each other/)
    assertRefused(resultOf("serveStoreNotPostgres"), /--store expects a postgres:\/\/ URL, got "mysql:\/\/root@127\.0\.0\.1\/test"/)
  })

  test("matrix: an outside-load limit that is not a share from 0 to 1", () => {
    assertRefused(resultOf("matrixLoadPercent"), /--max-outside-load expects a share from 0 to 1 \(0\.1 = 10 % of the machine\), got "10%"/)
  })

  test("run --store that is no PostgreSQL URL, --store in virtual mode, --workers without --store", () => {
    assertRefused(resultOf("runStoreNotPostgres"), /--store expects a postgres:\/\/ URL, got "data\/chunyun\.db" \(a run on SQLite needs no --store\)/)
    assertRefused(resultOf("runStoreVirtual"), /--store runs the servers on PostgreSQL, which needs real mode/)
    assertRefused(resultOf("runWorkersWithoutStore"), /--workers above 1 needs --store postgres:\/\/…/)
  })

  test("--out-json into a directory that does not exist names the option and the path, and runs nothing", () => {
    const result = resultOf("outJsonNoDirectory")
    assertRefused(result, /--out-json \S*no-such-directory\/points\.jsonl: cannot write there: its directory does not exist/)
    assert.equal(existsSync(join(directory, "points-refused")), false)
  })

  test("--passengers 0", () => {
    assertRefused(resultOf("noPassengers"), /--passengers expects an integer ≥ 1, got "0"/)
  })

  test("an unknown command, with the usage", () => {
    assertRefused(resultOf("unknownCommand"), /unknown command "nosuch"/)
    assert.match(resultOf("unknownCommand").stderr, /usage:\n\s+chunyun run <scenario\.ts>/)
  })
})

test("run --store postgres://… --workers 2: real mode on two server processes, in a schema of the run's own that is dropped after", async () => {
  const out = join(directory, "postgres-run")
  const result = await chunyun(["run", tinyScenario, "--store", testPostgresUrl(), "--workers", "2", "--passengers", "5", "--time-scale", "600", "--out", out])
  // the scenario's latency threshold is wall time at this scale, which a busy machine may miss (exit 99): not this test's question
  assert.ok(result.code === 0 || result.code === 99, describeResult(result))
  const schema = /on PostgreSQL, schema (chunyun_matrix_\w+) \(dropped after the run\)/.exec(result.stdout)?.[1]
  assert.ok(schema, `the run named no schema:\n${result.stdout}`)
  const report = Schema.decodeUnknownSync(Report)(JSON.parse(readFileSync(join(out, "report.json"), "utf8")))
  assert.equal(report.mode, "real")
  assert.ok(report.invariants.every((invariant) => invariant.violations === 0), JSON.stringify(report.invariants))
  assert.match(readFileSync(join(out, "server.log"), "utf8"), /2 workers listening/)
  const left = await Effect.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT nspname FROM pg_namespace WHERE nspname = ${schema}`).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(testPostgresUrl()), maxConnections: 1 }))))
  assert.deepEqual(left, [], `schema ${schema} was left behind`)
})

describe("thresholds decide the exit code, as in k6", () => {
  test("a failed --threshold exits 99 and is marked failed in the report; the run's invariants still hold", async () => {
    const out = join(directory, "threshold-fail")
    const result = await chunyun(["run", tinyScenario, "--seed", "3", "--passengers", "40", "--out", out, "--threshold", "payment_to_issuance: p(99)<1"])
    assert.equal(result.code, 99, describeResult(result))
    const report = Schema.decodeUnknownSync(Report)(JSON.parse(readFileSync(join(out, "report.json"), "utf8")))
    const failed = report.thresholds.find((threshold) => threshold.expression === "payment_to_issuance: p(99)<1")
    assert.ok(failed && !failed.passed && failed.actual >= 1, JSON.stringify(report.thresholds))
    assert.ok(report.invariants.every((invariant) => invariant.violations === 0))
  })

  test("refusals: an unknown threshold metric, and the unsafe inventory without --unsafe", async () => {
    const unknownMetric = await chunyun(["run", tinyScenario, "--threshold", "latency: p(99)<500"])
    assert.equal(unknownMetric.code, usageError, describeResult(unknownMetric))
    assert.match(unknownMetric.stderr, /threshold "latency: p\(99\)<500": unknown metric latency/)
    const unsafe = await chunyun(["run", tinyScenario, "--inventory", "unsafe"])
    assert.equal(unsafe.code, usageError, describeResult(unsafe))
    assert.match(unsafe.stderr, /double-books by design: add --unsafe/)
  })
})
