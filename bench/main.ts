/**
 * `npm run bench`: load-test numbers, each beside a baseline measured in the same run on this machine.
 *   1. the driver against autocannon, same trivial endpoint, same connections (requests/s, ratio)
 *   2. end-to-end paid+issued orders/s (hold, pay, ticket; closed model at `orderVus`) on SQLite and on
 *      PostgreSQL with 1, 2 and 4 server workers, against the raw SQLite hold transaction (better-sqlite3)
 *   3. latency percentiles at half each store's sustainable rate (open model, from the intended start), and the
 *      crypto an order needs (HMAC check of the payment password, Ed25519 ticket signature): the ceiling its cost
 *      puts on orders/s on this machine's cores (bench/crypto.ts)
 *   4. a CPU profile of the SQLite server under the closed-model load, summarised
 *      and PostgreSQL's own ceiling on the same database: pgbench's TPC-B-like transactions/s (bench/pgbench.ts)
 *   0. what one SQLite statement and one transaction cost through each client (bench/sqlClient.ts)
 *  1b. the HTTP stack's floor, layer by layer: node:http, Effect's HttpRouter, an HttpApi of one endpoint and the
 *      server's own no-store endpoint, each with its server's CPU per request (bench/floor.ts)
 *   5. virtual mode: spring-festival (or `--scenario FILE`) at two passenger counts (simulated requests per
 *      wall-second, acceleration, memory per passenger) beside the server's in-process handler (bench/virtual.ts);
 *      only with `--only virtual`, which takes minutes (a million passengers of scenarios/national-rush.ts: about an hour)
 * Options: --quick (shorter phases), --no-profile, --inventory conditional|optimistic|row-lock (the servers' seat lock), --only sql-client|trivial|floor|sqlite|postgres|virtual, --driver-processes N (trivial endpoint: the driver in 1 and N processes, default 2), --passengers N,M (virtual: the two counts; default 2000,20000, quick 500,2000), --scenario FILE (virtual: the scenario; default scenarios/spring-festival.ts).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import autocannon from "autocannon"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, ManagedRuntime } from "effect"
import type { Layer } from "effect"
import { sqliteStore } from "../reference/Store/Sqlite.js"
import { postgresStore } from "../reference/Store/Postgres.js"
import { audit } from "../simulator/Auditor.js"
import { History } from "../simulator/History.js"
import { defaultMaxOutsideCpuShare, outsideCpuShare, processTreeCpuMs, sampleCpuTicks } from "../simulator/HostLoad.js"
import { freshTestSchema } from "../reference/testing/TestStore.js"
import { startServerProcess } from "../simulator/Real.js"
import { drive, poolFor, Recorder } from "./driver.js"
import { orderIteration, prepare } from "./orders.js"
import { startChildServer } from "./childServer.js"
import { floorLadder } from "./floor.js"
import { summariseProfile } from "./profile.js"
import { pgbenchBaseline, pgbenchStatementsPerTransaction } from "./pgbench.js"
import { rawHoldRate } from "./rawSqlite.js"
import { sqlClientCosts } from "./sqlClient.js"
import { cryptoCostsPerOrder } from "./crypto.js"
import { runChildDrivers, trivialConnections, trivialDriver } from "./trivial.js"
import { virtualBench } from "./virtual.js"

const { values } = parseArgs({ options: {
  quick: { type: "boolean" }, "no-profile": { type: "boolean" }, inventory: { type: "string" }, only: { type: "string" }, "driver-processes": { type: "string" },
  passengers: { type: "string" }, scenario: { type: "string" }
} })
const quick = values.quick === true
const trivialDurationMs = quick ? 2_000 : 5_000
const orderDurationMs = quick ? 3_000 : 8_000
const orderVus = 64
const customerCount = 64
const rawDurationMs = 2_000
const floorDurationMs = quick ? 1_000 : 3_000
/** an order's requests when the payment's answer carries its ticket: the hold and the payment */
const floorRequestsPerOrder = 2
const pgbenchDurationMs = quick ? 2_000 : 5_000
/** what the profile window adds after the load: the server's shutdown */
const profileTailMs = 1_000
const cliEntry = fileURLToPath(new URL("../cli/main.ts", import.meta.url))
const benchDirectory = mkdtempSync(join(tmpdir(), "chunyun-bench-"))
const round = (value: number) => Math.round(value)

const startTrivialServer = () => startChildServer(fileURLToPath(new URL("./trivialServer.ts", import.meta.url)), [], "trivial server")

/** the driver's process counts measured beside autocannon: one, and `--driver-processes N` (default 2) */
const driverProcessCounts = () => {
  const processes = Number(values["driver-processes"] ?? "2")
  if (!Number.isInteger(processes) || processes < 1) throw new Error(`--driver-processes ${values["driver-processes"]}: expected a positive integer`)
  return [...new Set([1, processes])]
}

const driverVersusAutocannon = async () => {
  const server = await startTrivialServer()
  try {
    const cannon = await autocannon({ url: server.baseUrl, connections: trivialConnections, duration: trivialDurationMs / 1_000 })
    const autocannonPerSecond = cannon.requests.total / (trivialDurationMs / 1_000)
    const drivers: Array<{ readonly processes: number; readonly perSecond: number; readonly p99Ms: number }> = []
    for (const processes of driverProcessCounts()) {
      const driver = processes > 1
        ? await runChildDrivers(processes, server.baseUrl, trivialConnections, trivialDurationMs)
        : await trivialDriver(server.baseUrl, trivialConnections, trivialDurationMs)
      drivers.push({ processes, perSecond: driver.perSecond, p99Ms: driver.p99Ms })
    }
    return { autocannonPerSecond, drivers }
  } finally {
    server.stop()
  }
}

interface StoreConfig {
  readonly label: string
  readonly args: ReadonlyArray<string>
  /** the same store, for the auditor after the server stopped */
  readonly store: Layer.Layer<SqlClient.SqlClient>
  readonly release: () => Promise<void>
  readonly dbPath?: string
}

const sqliteConfig = (): StoreConfig => {
  const dbPath = join(benchDirectory, `orders-${Date.now()}.db`)
  return { label: "SQLite, 1 process", args: ["--db", dbPath], store: sqliteStore({ filename: dbPath }), release: async () => undefined, dbPath }
}
const postgresConfig = async (workers: number): Promise<StoreConfig> => {
  const schema = await freshTestSchema()
  return { label: `PostgreSQL, ${workers} worker${workers === 1 ? "" : "s"}`, args: ["--store", schema.url, "--workers", String(workers)],
    store: postgresStore({ url: schema.url, maxConnections: 2 }), release: schema.drop }
}

/** the scrypt cost of the bench's servers (the lowest a server accepts): the customers' login passwords are hashed and checked at it, before the measured load */
const benchPasswordCostN = 256

/** Start a server on `config`, prepare customers, run `body` against it, stop it. */
const withServer = async <A>(
  config: StoreConfig, nodeArgs: ReadonlyArray<string>, body: (baseUrl: string, prepared: Awaited<ReturnType<typeof prepare>>, serverPid: number | undefined) => Promise<A>
) => {
  const inventory = values.inventory === undefined ? [] : ["--inventory", values.inventory]
  const server = await startServerProcess(cliEntry, ["--port", "0", "--password-cost", String(benchPasswordCostN), ...inventory, ...config.args], nodeArgs)
  const pool = poolFor(server.baseUrl, 16)
  try {
    const prepared = await prepare(pool, server.adminKey, customerCount)
    return await body(server.baseUrl, prepared, server.pid)
  } finally {
    await pool.close()
    await server.stop()
  }
}

/** Orders/s at `orderVus` closed-model VUs, then latencies at half that rate, open model. */
const measureOrders = (config: StoreConfig) => withServer(config, [], async (baseUrl, prepared, serverPid) => {
  const pool = poolFor(baseUrl, orderVus)
  try {
    // the framework's floor: an endpoint of the same server that reads nothing from the store
    const floor = await autocannon({ url: `${baseUrl}/ticket-keys`, connections: trivialConnections, duration: floorDurationMs / 1_000 })
    const noStorePerSecond = floor.requests.total / (floorDurationMs / 1_000)
    const saturated = new Recorder()
    const counts = { issued: 0, soldOut: 0, requests: 0 }
    const cpuBeforeMs = serverPid === undefined ? undefined : processTreeCpuMs(serverPid)
    const hostBefore = sampleCpuTicks(["postgres"])
    const closed = await drive({ executor: "constant-vus", vus: orderVus, durationMs: orderDurationMs }, orderIteration(pool, prepared, saturated, counts))
    const outsideLoad = outsideCpuShare(hostBefore, sampleCpuTicks(["postgres"]))
    const cpuAfterMs = serverPid === undefined ? undefined : processTreeCpuMs(serverPid)
    const serverCpuMsPerOrder = cpuBeforeMs === undefined || cpuAfterMs === undefined || counts.issued === 0 ? undefined : (cpuAfterMs - cpuBeforeMs) / counts.issued
    const ordersPerSecond = counts.issued / (closed.elapsedMs / 1_000)
    saturated.destroy()
    const half = new Recorder()
    const halfCounts = { issued: 0, soldOut: 0, requests: 0 }
    const halfRate = Math.max(1, round(ordersPerSecond / 2))
    const open = await drive({ executor: "constant-arrival-rate", ratePerSecond: halfRate, durationMs: orderDurationMs, preAllocatedVus: orderVus, maxVus: orderVus * 4 },
      orderIteration(pool, prepared, half, halfCounts))
    const result = {
      label: config.label, noStorePerSecond, serverCpuMsPerOrder, outsideLoad, requestsPerOrder: counts.issued > 0 ? counts.requests / counts.issued : 0, ordersPerSecond, failed: closed.failed, soldOut: counts.soldOut + halfCounts.soldOut, halfRate, halfIssued: halfCounts.issued, halfDropped: open.dropped, halfFailed: open.failed,
      failures: [...closed.failures, ...open.failures],
      hold: half.summary("hold"), paymentToIssuance: half.summary("payment_to_issuance"), order: half.summary("order"), runId: prepared.runId
    }
    half.destroy()
    return result
  } finally {
    await pool.close()
  }
})

/** The auditor's store checks (double booking, money, one ticket per payment…) over the store the run left. */
const auditStore = async (config: StoreConfig) => {
  const runtime = ManagedRuntime.make(config.store)
  try {
    const invariants = await runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => audit(new History()).pipe(Effect.provideService(SqlClient.SqlClient, sql))))
    const broken = invariants.filter((invariant) => invariant.violations > 0)
    return broken.length === 0 ? `audit clean (${invariants.length} invariants)` : `AUDIT: ${broken.map((invariant) => `${invariant.name} ${invariant.violations}`).join(", ")}`
  } finally {
    await runtime.dispose()
  }
}

const profileSqlite = async () => {
  const profileDirectory = join(benchDirectory, "profile")
  await withServer(sqliteConfig(), ["--cpu-prof", `--cpu-prof-dir=${profileDirectory}`], async (baseUrl, prepared) => {
    const pool = poolFor(baseUrl, orderVus)
    await drive({ executor: "constant-vus", vus: orderVus, durationMs: orderDurationMs }, orderIteration(pool, prepared, new Recorder(), { issued: 0, soldOut: 0, requests: 0 }))
    await pool.close()
  })
  const file = readdirSync(profileDirectory).find((name) => name.endsWith(".cpuprofile"))
  // the closed-model load and the shutdown after it; customers were prepared before
  return file === undefined ? undefined : summariseProfile(join(profileDirectory, file), orderDurationMs + profileTailMs)
}

const main = async () => {
  const wallStartMs = performance.now()
  const lines: Array<string> = []
  const say = (line: string) => { console.log(line); lines.push(line) }
  const cores = cpus().length
  say(`chunyun bench (${quick ? "quick" : "full"}): ${new Date().toISOString()}, node ${process.version}, ${cores} cores`)

  if (values.only === "virtual") {
    const counts = (values.passengers ?? (quick ? "500,2000" : "2000,20000")).split(",").map(Number)
    if (counts.some((count) => !Number.isInteger(count) || count < 1)) throw new Error(`--passengers ${values.passengers}: expected two positive integers, e.g. 2000,20000`)
    const scenarioFile = values.scenario === undefined ? fileURLToPath(new URL("../scenarios/spring-festival.ts", import.meta.url)) : resolve(values.scenario)
    if (!existsSync(scenarioFile)) throw new Error(`--scenario ${values.scenario}: no such file`)
    say(`\n5. Virtual mode: ${relative(process.cwd(), scenarioFile)}, seed 42, at ${counts.join(" and ")} passengers, each run in a fresh process`)
    await virtualBench(scenarioFile, counts, 42, say)
    return say(`\nbench wall time ${round((performance.now() - wallStartMs) / 1_000)} s`)
  }

  if (values.only === undefined || values.only === "sql-client") {
    say("\n0. One SQLite statement and one transaction (CPU µs each, same file, same run): what each client costs")
    for (const cost of await sqlClientCosts(benchDirectory)) {
      say(`   ${cost.client.padEnd(38)} read ${cost.readMicros.toFixed(1).padStart(6)} µs   transaction ${cost.transactionMicros.toFixed(1).padStart(6)} µs`)
    }
    if (values.only === "sql-client") return say(`\nbench wall time ${round((performance.now() - wallStartMs) / 1_000)} s`)
  }

  const trivial = await driverVersusAutocannon()
  say(`\n1. Driver vs autocannon, GET / on node:http, ${trivialConnections} connections, ${trivialDurationMs / 1_000} s each, loopback`)
  say(`   autocannon ${round(trivial.autocannonPerSecond)} req/s`)
  for (const driver of trivial.drivers) {
    say(`   driver, ${driver.processes} process${driver.processes === 1 ? " " : "es"} ${round(driver.perSecond)} req/s   ratio ${(driver.perSecond / trivial.autocannonPerSecond).toFixed(2)}   (driver p99 ${driver.p99Ms} ms)`)
  }

  if (values.only === undefined || values.only === "floor") {
    const ladder = await floorLadder(cliEntry, ["--password-cost", "256", "--db", join(benchDirectory, "floor.db")], trivialConnections, floorDurationMs)
    say(`\n1b. The HTTP stack's floor: GET /ticket-keys with a small JSON answer, ${trivialConnections} connections, ${floorDurationMs / 1_000} s each (autocannon), each layer in its own process`)
    const nodeRow = ladder.find((row) => row.layer === "node")
    for (const row of ladder) {
      say(`   ${row.label.padEnd(32)} ${round(row.perSecond).toString().padStart(6)} req/s   server CPU ${row.cpuMicrosPerRequest === undefined ? "unknown" : `${round(row.cpuMicrosPerRequest)} µs`} per request`
        + (nodeRow === undefined ? "" : `   ratio to node:http ${(row.perSecond / nodeRow.perSecond).toFixed(3)}`))
    }
    const api = ladder.find((row) => row.layer === "api")?.cpuMicrosPerRequest
    if (api !== undefined) {
      say(`   an order is ${floorRequestsPerOrder} requests (hold, pay; the payment's answer carries the ticket): the HttpApi layer alone costs ${round(api * floorRequestsPerOrder)} µs of CPU`
        + ` an order, at most ${round(1e6 / (api * floorRequestsPerOrder))} orders/s on one core before any of the server's own work`)
    }
    if (values.only === "floor") return say(`\nbench wall time ${round((performance.now() - wallStartMs) / 1_000)} s`)
  }

  const configs: Array<() => Promise<StoreConfig>> = []
  if (values.only === undefined || values.only === "sqlite") configs.push(async () => sqliteConfig())
  if (values.only === undefined || values.only === "postgres") for (const workers of [1, 2, 4]) configs.push(() => postgresConfig(workers))
  say(`\n2. End to end: paid+issued orders/s (hold, pay, ticket), closed model ${orderVus} VUs, ${orderDurationMs / 1_000} s; then half that rate, open model`)
  let rawPerSecond: number | undefined
  let bestPostgresOrdersPerSecond: number | undefined
  for (const make of configs) {
    const config = await make()
    try {
      const result = await measureOrders(config)
      if (config.label.startsWith("PostgreSQL")) bestPostgresOrdersPerSecond = Math.max(bestPostgresOrdersPerSecond ?? 0, result.ordersPerSecond)
      say(`   ${result.label.padEnd(24)} ${round(result.ordersPerSecond).toString().padStart(6)} orders/s   ratio to node:http hello world ${(result.ordersPerSecond / trivial.autocannonPerSecond).toFixed(4)}`
        + `   (${result.failed} failed, ${result.soldOut} sold out; ${await auditStore(config)})`)
      for (const [message, count] of result.failures) say(`      failed ×${count}: ${message}`)
      say(`      at ${result.halfRate}/s (half): ${result.halfIssued} issued, ${result.halfDropped} dropped, ${result.halfFailed} failed;`
        + ` p50/p90/p99/max ms  hold ${result.hold.p50}/${result.hold.p90}/${result.hold.p99}/${result.hold.max}`
        + `  payment→issuance ${result.paymentToIssuance.p50}/${result.paymentToIssuance.p90}/${result.paymentToIssuance.p99}/${result.paymentToIssuance.max}`
        + `  order ${result.order.p50}/${result.order.p90}/${result.order.p99}/${result.order.max}`)
      say(`      ${result.requestsPerOrder.toFixed(1)} requests per order; the same server answers GET /ticket-keys (no store) at ${round(result.noStorePerSecond)} req/s (autocannon)`)
      say(`      server CPU ${result.serverCpuMsPerOrder === undefined ? "unknown" : `${result.serverCpuMsPerOrder.toFixed(2)} ms per order (the server's processes, all workers)`};`
        + ` outside load during the closed phase ${result.outsideLoad === undefined ? "unknown" : `${Math.round(result.outsideLoad * 100)} % of the machine`}`
        + `${(result.outsideLoad ?? 0) > defaultMaxOutsideCpuShare ? " — LOADED: orders/s is not comparable, the CPU per order is" : ""}`)
      if (config.dbPath !== undefined) {
        const raw = rawHoldRate(config.dbPath, result.runId, rawDurationMs)
        rawPerSecond = raw.perSecond
        say(`      raw SQLite hold transaction (better-sqlite3, same file): ${round(raw.perSecond)} holds/s   ratio end-to-end/raw ${(result.ordersPerSecond / raw.perSecond).toFixed(3)}`)
      }
    } finally {
      await config.release()
    }
  }
  if (rawPerSecond === undefined) say("   (raw SQLite baseline runs with the SQLite configuration)")
  const crypto = await cryptoCostsPerOrder(cores)
  say(`   crypto an order needs (this process, one core): payment password HMAC check ${crypto.passwordCheckUs.toFixed(1)} µs`
    + ` + ticket Ed25519 signature ${round(crypto.ticketSignatureUs)} µs = ${round(crypto.perOrderUs)} µs;`
    + ` on ${cores} cores the crypto alone allows at most ${round(crypto.ceilingOrdersPerSecond)} orders/s`)
  if (values.only === undefined || values.only === "postgres") {
    const pgbench = await pgbenchBaseline(pgbenchDurationMs)
    say("unavailable" in pgbench
      ? `   PostgreSQL's own ceiling: not measured, ${pgbench.unavailable}`
      : `   PostgreSQL's own ceiling, pgbench TPC-B-like (prepared, 16 clients, ${pgbench.durationMs / 1_000} s, same database): ${round(pgbench.transactionsPerSecond)} transactions/s`
        + ` of ${pgbenchStatementsPerTransaction} statements = ${round(pgbench.statementsPerSecond)} statements/s`
        + (bestPostgresOrdersPerSecond === undefined ? "" : `; best orders/s above ÷ pgbench transactions/s ${(bestPostgresOrdersPerSecond / pgbench.transactionsPerSecond).toFixed(3)}`))
  }

  if (values["no-profile"] !== true && (values.only === undefined || values.only === "sqlite")) {
    const profile = await profileSqlite()
    say(`\n3. CPU profile of the SQLite server under the closed-model load (last ${profile ? profile.windowMs / 1_000 : 0} s of the server's life, ${profile?.samples ?? 0} samples)`)
    if (profile) {
      say("   self time by package:  " + profile.packages.slice(0, 10).map((entry) => `${entry.name} ${entry.percent}%`).join(", "))
      say("   self time by function:")
      for (const entry of profile.functions) say(`   ${entry.percent.toFixed(1).padStart(5)}%  ${entry.name}`)
      say("   inclusive time of the project's functions:")
      for (const entry of profile.project) say(`   ${entry.percent.toFixed(1).padStart(5)}%  ${entry.name}`)
    }
  }
  say(`\nbench wall time ${round((performance.now() - wallStartMs) / 1_000)} s`)
}

main().then(
  () => { rmSync(benchDirectory, { recursive: true, force: true }); process.exit(0) },
  (error: unknown) => { console.error("bench failed:", error); rmSync(benchDirectory, { recursive: true, force: true }); process.exit(1) }
)

