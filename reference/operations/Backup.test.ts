/**
 * Online backup (seed 002): a backup taken while customers hold and pay restores into a fresh store that a
 * server then runs on; the restored store passes the auditor once its sweeper has issued what the snapshot
 * caught between payment and issue, and holds every order whose payment was answered before the backup.
 */
import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import { restoreBackup } from "./Backup.js"
import type { Fen, OrderId } from "../Domain.js"
import { sqliteStore } from "../Store/Sqlite.js"
import { postgresStore } from "../Store/Postgres.js"
import { auditViolations, spawnServer, storeRuntime } from "../testing/Ops.js"
import {
  adminClient, createRun, newCustomer, rawRequest, startTestServer, storeQuery, testPasswordHashCostN, waitUntil
} from "../testing/TestServer.js"
import type { TestCustomer, TestRun, TestServer } from "../testing/TestServer.js"
import { freshTestSchema } from "../testing/TestStore.js"

const customerCount = 6
const recoveryTimeoutMs = 20_000

describe("online backup and restore", () => {
  let server: TestServer
  let directory: string
  let runs: ReadonlyArray<TestRun>
  /** a run the traffic never touches: the order made on it after the backup cannot be sold out */
  let afterBackupRun: TestRun
  let customers: ReadonlyArray<TestCustomer>

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), "chunyun-backup-"))
    server = await startTestServer({ backupDirectory: join(directory, "backups") })
    runs = await server.run(Effect.all([
      createRun(server.baseUrl, { trainCode: "G21", stations: ["BJP", "TJP", "SHH"], seatCount: 200 }),
      createRun(server.baseUrl, { trainCode: "G23", stations: ["BJP", "TJP", "SHH"], seatCount: 200 })
    ]))
    afterBackupRun = await server.run(createRun(server.baseUrl, { trainCode: "G25", stations: ["BJP", "SHH"], seatCount: 4 }))
    customers = await server.run(Effect.forEach(Array.from({ length: customerCount }), (_, index) =>
      Effect.tap(newCustomer(server.baseUrl), (customer) => customer.client.accounts.topUp({
        headers: { "idempotency-key": `backup-topup-${index}` }, payload: { amountFen: 5_000_000 as Fen }
      })), { concurrency: 3 }))
  })
  after(async () => {
    await server.close()
    rmSync(directory, { recursive: true, force: true })
  })

  test("a backup needs the admin key", async () => {
    const response = await rawRequest(server.baseUrl, "POST", "/admin/backups", { headers: { "x-admin-key": "wrong" } })
    assert.equal(response.status, 403)
  })

  test("a backup taken mid-traffic restores into a fresh store that audits clean and keeps every earlier order", { timeout: 300_000 }, async () => {
    let running = true
    const paidBeforeBackup = new Set<OrderId>()
    let backupSent = false
    const workers = customers.map((customer, worker) => (async () => {
      for (let index = 0; running; index++) {
        const run = runs[index % runs.length]!
        const held = await server.run(Effect.either(customer.client.orders.hold({
          payload: { runId: run.runId, fromStation: run.stations[0]!, toStation: run.stations[1 + (index % 2)]! }
        })))
        if (held._tag === "Left") {
          assert.equal(held.left._tag, "SoldOut")
          return
        }
        const order = held.right
        // some holds stay unpaid, so the backup also catches live holds
        if (index % 3 === 2) continue
        const sentBefore = !backupSent
        await server.run(customer.client.accounts.pay({
          path: { orderId: order.orderId }, headers: { "idempotency-key": `backup-pay-${worker}-${index}` },
          payload: { paymentPassword: customer.paymentPassword }
        }))
        if (sentBefore && !backupSent) paidBeforeBackup.add(order.orderId)
      }
    })())
    const manifest = await (async () => {
      try {
        assert.ok(await waitUntil(async () => paidBeforeBackup.size >= 20, 30_000), "traffic did not get going")
        backupSent = true
        const taken = await server.run(Effect.flatMap(adminClient(server.baseUrl), (admin) => admin.backup.takeBackup()))
        // an order after the snapshot, on a run the traffic leaves alone: the traffic may have sold its seats out
        // while a slow backup ran, and the backup must be shown not to hold what came after it
        const customer = customers[0]!
        const late = await server.run(customer.client.orders.hold({
          payload: { runId: afterBackupRun.runId, fromStation: afterBackupRun.stations[0]!, toStation: afterBackupRun.stations[1]! }
        }))
        await server.run(customer.client.accounts.pay({
          path: { orderId: late.orderId }, headers: { "idempotency-key": "backup-pay-after" },
          payload: { paymentPassword: customer.paymentPassword }
        }))
        return taken
      } finally {
        running = false
        await Promise.allSettled(workers)
      }
    })()
    await Promise.all(workers)

    assert.equal(manifest.format, server.store === "sqlite" ? "sqlite-file" : "logical-json")
    assert.ok((manifest.rowCounts["orders"] ?? 0) >= paidBeforeBackup.size, `backup holds ${manifest.rowCounts["orders"]} orders`)
    const [live] = await server.run(storeQuery<{ n: number }>(`SELECT COUNT(*) AS n FROM orders`))
    assert.ok(Number(live?.n) > (manifest.rowCounts["orders"] ?? 0), "traffic after the backup is not in it")

    // restore into a fresh store, and run a server on it
    const target = server.store === "sqlite"
      ? { kind: "sqlite" as const, filename: join(directory, "restored.db") }
      : { kind: "postgres" as const, schema: await freshTestSchema() }
    const targetLayer = target.kind === "sqlite" ? undefined : postgresStore({ url: target.schema.url, maxConnections: 2 })
    await Effect.runPromise(restoreBackup(manifest.path,
      target.kind === "sqlite" ? { kind: "sqlite-file", filename: target.filename } : { kind: "store", store: targetLayer! }))
    const restored = spawnServer([
      ...(target.kind === "sqlite" ? ["--db", target.filename] : ["--store", target.schema.url]),
      "--password-cost", String(testPasswordHashCostN)
    ])
    const runtime = storeRuntime(target.kind === "sqlite" ? sqliteStore({ filename: target.filename }) : targetLayer!)
    try {
      assert.ok(await restored.listening, `the restored server did not start: ${restored.stderr()}`)
      const pending = async () => Number((await runtime.runPromise(storeQuery<{ n: number }>(
        `SELECT COUNT(*) AS n FROM outbox WHERE processed_at_ms IS NULL`)))[0]?.n)
      assert.ok(await waitUntil(async () => (await pending()) === 0, recoveryTimeoutMs), "the restored server left outbox rows")
      assert.deepEqual(await runtime.runPromise(auditViolations), [])
      const orders = await runtime.runPromise(storeQuery<{ id: string; state: string }>(`SELECT id, state FROM orders`))
      const states = new Map(orders.map((order) => [order.id, order.state]))
      for (const orderId of paidBeforeBackup) assert.equal(states.get(orderId), "issued", `order ${orderId}, paid before the backup`)
      assert.equal(orders.length, manifest.rowCounts["orders"])
      // the restored server answers with the same signing key: a ticket issued before the backup still verifies
      const keys = await rawRequest((await restored.listening)!, "GET", "/ticket-keys")
      const original = await rawRequest(server.baseUrl, "GET", "/ticket-keys")
      assert.deepEqual(keys.json, original.json)
    } finally {
      await restored.stop()
      await runtime.dispose()
      if (target.kind === "postgres") await target.schema.drop()
    }
  })
})
