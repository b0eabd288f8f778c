/**
 * `serve --workers 2` on one PostgreSQL schema: a real-mode run drives both processes over loopback with
 * more passengers than seats, and the auditor, run over the PostgreSQL store afterwards, finds no double
 * booking and no broken ledger; a scrape of `GET /metrics` reports both workers' counters, summed. (The 1/2/4-worker
 * throughput numbers come from `npm run bench`.)
 */
import assert from "node:assert/strict"
import { execFileSync, spawnSync } from "node:child_process"
import { request as httpRequest } from "node:http"
import { test } from "node:test"
import { Schema } from "effect"
import { freshTestSchema } from "../reference/testing/TestStore.js"
import { Scenario } from "../scenarios/Scenario.js"
import { countsOf } from "../reports/metrics.js"
import { runReal } from "../simulator/Real.js"
import { smallScenarioInput } from "../simulator/testing/smallScenario.js"
import { environmentToRun, nodeArgsToRun } from "../simulator/Real.js"
import { spawnServer, testCliEntry } from "../reference/testing/Ops.js"

const cliEntry = testCliEntry
const passengerCount = 150
const seatCount = 50

/** processes whose command line names the schema: the primary and its workers */
const serverProcessesOf = (schema: string) => {
  try {
    return execFileSync("pgrep", ["-f", schema]).toString().trim().split("\n").length
  } catch {
    return 0
  }
}

test("two workers on one PostgreSQL: every seat sold once, the audit is clean", async () => {
  const schema = await freshTestSchema()
  try {
    const scenario = Schema.decodeUnknownSync(Scenario)({
      ...smallScenarioInput,
      passengers: { ...smallScenarioInput.passengers, count: passengerCount, thinkTimeMs: { min: 100, max: 500 } },
      trains: [{ ...smallScenarioInput.trains![0]!, coaches: [{ coach: 1, seatClass: "second", seatCount }] }],
      load: { executor: "constant-arrival-rate", ratePerSecond: 150, durationMs: 1_000, preAllocatedVus: passengerCount }
    })
    let peakProcesses = 0
    const outcome = await runReal(scenario, 11, cliEntry, 4, () => { peakProcesses = Math.max(peakProcesses, serverProcessesOf(schema.schema)) },
      { postgresUrl: schema.url, serverWorkers: 2 })
    const counts = countsOf(outcome.history, passengerCount)
    assert.equal(peakProcesses, 3, "the primary and two workers served the run")
    assert.ok(counts.ordersPaid >= seatCount / 2, `orders paid: ${counts.ordersPaid}`)
    assert.ok(counts.ordersHeld <= seatCount * (scenario.trains[0]!.stops.length - 1), "never more holds than seat-segments")
    assert.equal(counts.ticketsIssued, counts.ordersPaid)
    for (const invariant of outcome.invariants) assert.equal(invariant.violations, 0, `${invariant.name}: ${JSON.stringify(invariant.witness)}`)
    assert.ok(outcome.invariants.some((invariant) => invariant.name === "no-double-booking"))
  } finally {
    await schema.drop()
  }
})

test("serve --workers above 1 on a SQLite file is refused with the reason (one writer)", () => {
  const result = spawnSync(process.execPath, [...nodeArgsToRun(cliEntry), "serve", "--workers", "2", "--db", ":memory:"], { encoding: "utf8", env: environmentToRun(cliEntry) })
  assert.equal(result.status, 2)
  assert.match(result.stderr, /--workers above 1 needs --store postgres/)
})

/** A GET on a connection of its own: the cluster hands each new connection to the next worker in turn. */
const getOnNewConnection = (baseUrl: string, path: string) => new Promise<{ status: number; text: string }>((resolve, reject) => {
  const request = httpRequest(new URL(path, baseUrl), { agent: false, headers: { connection: "close" } }, (response) => {
    let text = ""
    response.setEncoding("utf8").on("data", (chunk: string) => { text += chunk }).on("end", () => resolve({ status: response.statusCode ?? 0, text }))
  })
  request.on("error", reject).end()
})

const healthRequestsIn = (exposition: string) =>
  Number(/^chunyun_http_requests_total\{[^}]*route="\/health"[^}]*\} (\d+)$/m.exec(exposition)?.[1] ?? Number.NaN)

test("serve --workers 2: GET /metrics answers the sum of both workers' counters, whichever worker it reaches", async () => {
  const schema = await freshTestSchema()
  const server = spawnServer(["--store", schema.url, "--workers", "2", "--password-cost", "256"])
  try {
    const baseUrl = await server.listening
    assert.ok(baseUrl, `the server did not start: ${server.stderr()}`)
    const healthChecks = 6
    for (let index = 0; index < healthChecks; index++) assert.equal((await getOnNewConnection(baseUrl, "/health")).status, 200)
    // each scrape on a new connection: they reach both workers, and each must see every health check
    for (let scrape = 0; scrape < 4; scrape++) {
      const answer = await getOnNewConnection(baseUrl, "/metrics")
      assert.equal(answer.status, 200, answer.text)
      assert.equal(healthRequestsIn(answer.text), healthChecks, answer.text.split("\n").filter((line) => line.startsWith("chunyun_http_requests_total")).join("\n"))
    }
  } finally {
    await server.stop()
    await schema.drop()
  }
})
