/**
 * An exported k6 script run for real, without k6: a stand-in (reports/testing/k6StandIn.ts) runs its setup() and
 * each journey kind's function against `chunyun serve` on a SQLite file, as k6 would. Every call of every journey is
 * checked and tagged, nobody gives up, tickets are issued and gates admit; then `chunyun audit` finds the store the
 * test left clean, and a double booking planted in a copy of it (rows written directly) fails the audit (exit 1).
 */
import assert from "node:assert/strict"
import { copyFileSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { test } from "node:test"
import { createRequire } from "node:module"
import { chunyun, describeResult } from "../cli/testing/chunyun.js"
import { spawnServer } from "../reference/testing/Ops.js"
import { journeyKindsOf } from "../simulator/Journeys.js"
import { serverDesignArgs } from "../simulator/Real.js"
import { auditStore } from "../simulator/StoreAudit.js"
import { exportK6 } from "./k6.js"
import { everyJourneyScenario as scenario } from "./testing/everyJourneyScenario.js"
import { loadK6Script } from "./testing/k6StandIn.js"
import type { StandInRun } from "./testing/k6StandIn.js"

const require = createRequire(import.meta.url)
const openSqlite = require("better-sqlite3") as new (filename: string) => {
  prepare: (sql: string) => { get: () => Record<string, unknown> | undefined; run: (values: Record<string, unknown>) => unknown }
  close: () => void
}

/** iterations of each journey kind's function */
const iterationsPerJourney = 2
/** journeys whose passenger ends with a ticket in hand, and those that end at a gate */
const buyingJourneys = ["app", "app-gateway", "cinema", "sms", "carrier", "kiosk", "app-pickup", "remote-card"]
const gateJourneys = ["app", "app-gateway", "cinema", "carrier", "fan"]

const samplesOf = (run: StandInRun, metric: string, kind: string) => run.samples.filter((sample) => sample.metric === metric && sample.tags.journey === kind)

/** Plant a double booking: a second live order on a sold seat's segments, written straight into the store. */
const plantDoubleBooking = (filename: string) => {
  const store = new openSqlite(filename)
  try {
    const sold = store.prepare("SELECT * FROM orders WHERE state = 'issued' AND run_id LIKE 'G9-%' ORDER BY id LIMIT 1").get()
    assert.ok(sold, "the run sold a train ticket")
    const columns = Object.keys(sold)
    store.prepare(`INSERT INTO orders (${columns.join(", ")}) VALUES (${columns.map((column) => `@${column}`).join(", ")})`)
      .run({ ...sold, id: "Offffffffffffffff" })
    return String(sold.id)
  } finally {
    store.close()
  }
}

/**
 * The scenario's exported script, loaded against `chunyun serve` on the SQLite file `db` with its clock at `timeScale`;
 * `use` runs it, then the script and the server are closed. The script's record (requests, checks, samples) stays.
 */
const withServedScript = async (db: string, timeScale: number, use: (run: StandInRun) => void): Promise<StandInRun> => {
  const server = spawnServer(["--db", db, "--clock-start-ms", String(Date.parse(scenario.startAt)), "--clock-scale", String(timeScale),
    "--password-cost", String(scenario.server.passwordHashCostN), "--hold-ttl-ms", String(scenario.server.holdTtlMs), ...serverDesignArgs(scenario)])
  let started: StandInRun | undefined
  try {
    const baseUrl = await server.listening
    assert.ok(baseUrl !== undefined && server.adminKey !== undefined, `the server did not start: ${server.stderr()}`)
    started = await loadK6Script(exportK6(scenario), { CHUNYUN_BASE_URL: baseUrl, CHUNYUN_ADMIN_KEY: server.adminKey })
    use(started)
    return started
  } finally {
    await started?.close()
    await server.stop()
  }
}

test("the exported script's journeys, run against chunyun serve, check and tag every call; audit finds the store clean, and a planted double booking", async () => {
  const directory = mkdtempSync(join(tmpdir(), "chunyun-k6-run-"))
  const db = join(directory, "k6.db")
  try {
    const run = await withServedScript(db, scenario.real.timeScale, (started) => {
      const data = started.setup()
      // the operator's faults open at the on-sale; the SMS gateway pulls beside the phones
      started.iterate("operator", data)
      started.iterate("sms-gateway", data)
      for (const kind of journeyKindsOf(scenario)) for (let iteration = 0; iteration < iterationsPerJourney; iteration++) started.iterate(kind, data)
    })
    for (const kind of journeyKindsOf(scenario)) {
      const requests = run.requests.filter((request) => request.tags.journey === kind)
      assert.ok(requests.length > 0, `${kind}: no request tagged journey=${kind}`)
      assert.deepEqual(requests.filter((request) => request.name.startsWith("http")), [], `${kind}: requests without a name tag`)
      const checks = run.checks.filter((check) => check.tags.journey === kind)
      assert.ok(checks.length >= requests.length, `${kind}: ${checks.length} checks for ${requests.length} requests`)
      assert.deepEqual(checks.filter((check) => !check.passed).map((check) => check.name), [], `${kind}: failed checks`)
      assert.deepEqual(samplesOf(run, "journeys_given_up", kind).map((sample) => sample.tags.reason), [], `${kind}: passengers gave up`)
      if (buyingJourneys.includes(kind)) assert.ok(samplesOf(run, "tickets_issued", kind).length >= iterationsPerJourney, `${kind}: tickets issued`)
      if (gateJourneys.includes(kind)) assert.ok(samplesOf(run, "admissions", kind).length >= iterationsPerJourney, `${kind}: admissions`)
    }
    assert.deepEqual([...new Set(run.requests.filter((request) => request.tags.actor === "operator").map((request) => request.name))].sort(),
      ["gateway-conditions", "store-conditions"])

    assert.deepEqual((await auditStore({ kind: "sqlite", filename: db })).filter((invariant) => invariant.violations > 0), [])
    const planted = join(directory, "planted.db")
    copyFileSync(db, planted)
    const doubled = plantDoubleBooking(planted)
    const audited = await chunyun(["audit", "--db", planted])
    assert.equal(audited.code, 1, describeResult(audited))
    assert.match(audited.stdout, /FAIL\s+no-double-booking\s+store\s+1\b/)
    assert.match(audited.stdout, new RegExp(`order ${doubled} \\[\\d,\\d\\) overlaps order Offffffffffffffff`))
    assert.match(audited.stdout, /PASS\s+money-conserved\s+store\s+0\b/)
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
})

test("the exported script's setup refuses a server whose clock runs at another time scale, and says how to serve it", async () => {
  const directory = mkdtempSync(join(tmpdir(), "chunyun-k6-scale-"))
  const wrongScale = scenario.real.timeScale / 3
  try {
    await withServedScript(join(directory, "k6.db"), wrongScale, (started) => {
      assert.throws(() => started.setup(),
        new RegExp(`times as fast as the wall, this script was exported for ${scenario.real.timeScale}: serve with .*--clock-scale ${scenario.real.timeScale}`))
    })
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
})
