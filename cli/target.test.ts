/**
 * `chunyun run --target`: a small scenario driven against a `chunyun serve` the test started as a child on
 * 127.0.0.1 (port 0), whose clock reads the scenario's start; once on SQLite (its store audited with --audit-db), once
 * on PostgreSQL (a schema of its own, audited with --audit-store). The report names the target and says which audits
 * ran, and every invariant, the store's and the history's, holds. Then the refusals, each exit 2 with the option or
 * the fault named: a crash fault (before anything reaches the server), a server that has the catalog already, a wrong
 * admin key, a server that does not answer, and options that do not go with --target.
 */
import assert from "node:assert/strict"
import { createServer } from "node:net"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"
import { Schema } from "effect"
import { Report } from "../reports/Report.js"
import { spawnServer } from "../reference/testing/Ops.js"
import type { ChildServer } from "../reference/testing/Ops.js"
import { freshTestSchema } from "../reference/testing/TestStore.js"
import type { TestSchema } from "../reference/testing/TestStore.js"
import { serveSecretsEnvironment } from "../reference/ServeSecrets.js"
import { historyInvariantNames, storeInvariantNames } from "../simulator/Auditor.js"
import targetScenario from "../simulator/testing/target-scenario.js"
import { chunyun, describeResult } from "./testing/chunyun.js"
import type { CliResult } from "./testing/chunyun.js"

const scenarioFile = "simulator/testing/target-scenario.ts"
const usageError = 2
/** refusals run this many at a time: each is a process that mostly loads modules */
const refusalConcurrency = 2
/** the server's clock reads the scenario's start when it starts (the run follows it within seconds) */
const serveArgs = ["--password-cost", "256", "--clock-start-ms", String(Date.parse(targetScenario.startAt))]

let directory: string
before(() => { directory = mkdtempSync(join(tmpdir(), "chunyun-target-")) })
after(() => rmSync(directory, { recursive: true, force: true }))

const listeningAt = async (server: ChildServer) => {
  const baseUrl = await server.listening
  assert.ok(baseUrl, `the server did not start: ${server.stderr()}`)
  return baseUrl
}

const runAgainst = (baseUrl: string, adminKey: string, out: string, extra: ReadonlyArray<string> = []) =>
  chunyun(["run", scenarioFile, "--target", baseUrl, "--admin-key", adminKey, "--out", out, ...extra])

const assertRefused = (result: CliResult, message: RegExp) => {
  assert.equal(result.code, usageError, describeResult(result))
  assert.match(result.stderr, message)
  assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace")
}

/** A finished run against `baseUrl` audited from its store and its history: the report says so, and every invariant holds. */
const assertAuditedClean = (result: CliResult, out: string, baseUrl: string) => {
  assert.equal(result.code, 0, describeResult(result))
  const report = Schema.decodeUnknownSync(Report)(JSON.parse(readFileSync(join(out, "report.json"), "utf8")))
  assert.equal(report.mode, "real")
  assert.equal(report.target, baseUrl)
  assert.deepEqual(report.auditSources, ["store", "history"])
  assert.deepEqual(report.invariants.map((invariant) => [invariant.name, invariant.source]), [
    ...storeInvariantNames.map((name) => [name, "store"]), ...historyInvariantNames.map((name) => [name, "history"])
  ])
  for (const invariant of report.invariants) assert.equal(invariant.violations, 0, `${invariant.name}: ${invariant.witness?.join("\n")}`)
  // more passengers than seat-segments: some are sold a ticket, and every ticket sold is used at a gate
  const train = targetScenario.trains![0]!
  assert.ok(report.counts.ticketsIssued > 0 && report.counts.ticketsIssued <= train.coaches[0]!.seatCount * (train.stops.length - 1),
    `${report.counts.ticketsIssued} tickets`)
  assert.equal(report.counts.admitted, report.counts.ticketsIssued)
  assert.match(result.stdout, /^ {2}audited from the store and the history of client observations$/m)
  assert.match(result.stdout, /^ {2}target +http:\/\/127\.0\.0\.1:\d+$/m)
  // the server keeps its own log: the run writes none beside the report
  assert.equal(existsSync(join(out, "server.log")), false)
}

describe("chunyun run --target against chunyun serve on SQLite, audited with --audit-db", () => {
  let server: ChildServer
  let baseUrl: string
  let database: string
  before(async () => {
    database = join(directory, "target.db")
    server = spawnServer([...serveArgs, "--db", database])
    baseUrl = await listeningAt(server)
  })
  after(() => server.stop())

  test("sets the catalog up through the admin API, drives the server from two processes, and audits its store and the history: all clean", async () => {
    const out = join(directory, "sqlite")
    const result = await runAgainst(baseUrl, server.adminKey!, out, ["--audit-db", database, "--driver-processes", "2"])
    assertAuditedClean(result, out, baseUrl)
    assert.match(result.stdout, /Driven from 2 processes: each drove the passengers whose index modulo 2 was its own/)
    // one history, merged in time order, with the passengers of both processes
    const events = readFileSync(join(out, "history.jsonl"), "utf8").trim().split("\n").slice(1).map((line) => JSON.parse(line) as { atMs: number; actor: string })
    const times = events.map((event) => event.atMs)
    assert.deepEqual(times, [...times].sort((a, b) => a - b), "the merged history is in time order")
    const phones = new Set(events.flatMap((event) => /^phone-(\d+)$/.exec(event.actor)?.[1] ?? []).map(Number))
    assert.equal(phones.size, targetScenario.passengers.count, "every passenger, from one process or the other")
    assert.equal(events.filter((event) => event.actor === "operator").length, targetScenario.trains!.length, "the setup recorded once")
    // each event kept the journey it was recorded for across the processes' channel
    const report = Schema.decodeUnknownSync(Report)(JSON.parse(readFileSync(join(out, "report.json"), "utf8")))
    const hold = report.endpoints?.find((endpoint) => endpoint.endpoint === "hold")
    assert.deepEqual(hold?.journeys?.map((journey) => [journey.journey, journey.requests]), [["app", hold?.requests]])
  })

  test("the same server again: refused, as it has the scenario's catalog already", async () => {
    assertRefused(await runAgainst(baseUrl, server.adminKey!, join(directory, "again")),
      /--target http:\/\/127\.0\.0\.1:\d+: the server has the scenario's catalog already \(TrainRunExists \(runId: G1-20270128\)\)/)
  })

  test("a wrong admin key, and a scenario with a server crash (refused before anything reaches the server)", async () => {
    const [wrongKey, crash] = await Promise.all([
      runAgainst(baseUrl, "not-the-served-admin-key", join(directory, "wrong-key")),
      chunyun(["run", "scenarios/crash-mid-rush.ts", "--target", baseUrl, "--admin-key", server.adminKey!, "--out", join(directory, "crash")])
    ])
    assertRefused(wrongKey, /--admin-key: the server at http:\/\/127\.0\.0\.1:\d+ refused it \(Forbidden/)
    assertRefused(crash, /scenarios\/crash-mid-rush\.ts: the scenario's fault "server-crash" \(faults\[1\]\) kills and restarts the server, which the harness can do only to a server it started/)
    assert.doesNotMatch(crash.stdout, /driving the server/)
    assert.equal(existsSync(join(directory, "crash")), false, "a refused run writes nothing")
  })
})

describe("chunyun run --target against chunyun serve on PostgreSQL, audited with --audit-store", () => {
  let schema: TestSchema
  let server: ChildServer
  let baseUrl: string
  before(async () => {
    schema = await freshTestSchema()
    server = spawnServer([...serveArgs, "--store", schema.url])
    baseUrl = await listeningAt(server)
  })
  after(async () => {
    await server.stop()
    await schema.drop()
  })

  test("sets the catalog up, drives the server, and audits its store and the history: all clean", async () => {
    const out = join(directory, "postgres")
    assertAuditedClean(await runAgainst(baseUrl, server.adminKey!, out, ["--audit-store", schema.url]), out, baseUrl)
  })
})

describe("chunyun run --target refuses what cannot go with it, naming the option (exit 2)", () => {
  /** an address of this machine where nothing listens: a port the system gave out, closed again */
  const closedPort = () => new Promise<number>((resolve) => {
    const listener = createServer().listen(0, "127.0.0.1", () => {
      const address = listener.address()
      listener.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })
  const { [serveSecretsEnvironment.adminKey]: _key, ...withoutAdminKey } = process.env
  const results = new Map<string, CliResult>()
  before(async () => {
    const nowhere = `http://127.0.0.1:${await closedPort()}`
    const invocations: ReadonlyArray<readonly [string, ReadonlyArray<string>, NodeJS.ProcessEnv?]> = [
      ["inventory", ["run", scenarioFile, "--target", nowhere, "--admin-key", "k", "--inventory", "optimistic"]],
      ["no admin key", ["run", scenarioFile, "--target", nowhere], withoutAdminKey],
      ["no such store file", ["run", scenarioFile, "--target", nowhere, "--admin-key", "k", "--audit-db", join(directory, "absent.db")]],
      ["not an address", ["run", scenarioFile, "--target", "127.0.0.1:8080/api", "--admin-key", "k"]],
      ["audit without target", ["run", scenarioFile, "--audit-store", "postgres://root@127.0.0.1:5432/test"]],
      ["nobody there", ["run", scenarioFile, "--target", nowhere, "--admin-key", "k", "--time-scale", "5", "--out", join(directory, "nowhere")]],
      ["drivers in virtual mode", ["run", scenarioFile, "--driver-processes", "2"]],
      ["drivers for fans", ["run", "scenarios/stadium-gates.ts", "--mode", "real", "--driver-processes", "2", "--out", join(directory, "fans")]]
    ]
    const pending = [...invocations]
    const worker = async () => {
      for (let next = pending.shift(); next !== undefined; next = pending.shift()) results.set(next[0], await chunyun(next[1], undefined, next[2]))
    }
    await Promise.all(Array.from({ length: refusalConcurrency }, worker))
  })
  const resultOf = (name: string) => {
    const result = results.get(name)
    assert.ok(result, `no result for ${name}`)
    return result
  }

  test("options of a server the harness starts, a missing admin key, a store file that is not there, an address that is not one", () => {
    assertRefused(resultOf("inventory"), /--inventory sets up a server the harness starts; the --target server runs as it was served/)
    assertRefused(resultOf("no admin key"), /--target needs the server's admin key, to set the scenario's catalog up through its admin API: --admin-key K \(or CHUNYUN_ADMIN_KEY\)/)
    assertRefused(resultOf("no such store file"), /--audit-db expects the target's SQLite file \(the --db it was served with\), got ".*absent\.db": no such file/)
    assertRefused(resultOf("not an address"), /--target expects the server's address, http:\/\/host:port, got "127\.0\.0\.1:8080\/api"/)
    assertRefused(resultOf("audit without target"), /--audit-store goes with --target/)
  })

  test("several driver processes: real mode only, and only for journeys that create nothing on the server but the catalog", () => {
    assertRefused(resultOf("drivers in virtual mode"), /--driver-processes drives a server over HTTP from several processes, which is real mode: add --mode real/)
    assertRefused(resultOf("drivers for fans"), /--driver-processes 2: scenarios\/stadium-gates\.ts: journey "fan" \(passengers\.mix\) prepares devices and sales on the server that one process owns/)
    assert.equal(existsSync(join(directory, "fans")), false, "a refused run writes nothing")
  })

  test("a target where nothing answers; --time-scale above 1 warns that the server must run at the same scale", () => {
    const result = resultOf("nobody there")
    assertRefused(result, /--target http:\/\/127\.0\.0\.1:\d+: expected a running chunyun server answering GET \/health, got RequestError/)
    assert.match(result.stderr, /warning: --time-scale 5 runs the scenario's timeline 5× faster than the wall clock, .* it must run at the same scale from the scenario's start \(chunyun serve --clock-scale 5 --clock-start-ms \d+\)/)
  })
})
