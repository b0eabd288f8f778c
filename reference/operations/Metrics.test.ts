/**
 * `GET /metrics` of a real `chunyun serve` process, as a Prometheus server scrapes it: after a purchase and a few other
 * requests, each counter moved by what happened, under the contract's route templates (never an ID from a URL). And
 * the outbox's lag, on an in-process server whose ticket worker has not come round yet.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect } from "effect"
import { prometheusTextContentType } from "./Metrics/Api.js"
import { routeOutsideContract } from "./Metrics.js"
import { buyTicket, fundedCustomer, holdOn, payFor } from "../testing/Lifecycle.js"
import { openDurableStore, spawnServer } from "../testing/Ops.js"
import type { ChildServer, DurableStore } from "../testing/Ops.js"
import { createRun, rawRequest, withTestServer } from "../testing/TestServer.js"
import { testStoreKind } from "../testing/TestStore.js"

interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** The samples of a text exposition (version 0.0.4): `name{label="value",…} number`, comments skipped. */
const samplesOf = (text: string): ReadonlyArray<Sample> =>
  text.split("\n").filter((line) => line !== "" && !line.startsWith("#")).map((line) => {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    assert.ok(match, `not a sample line: ${line}`)
    const labels = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, name, value]) => [name!, value!]))
    return { name: match[1]!, labels, value: Number(match[3]) }
  })

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
const valueOf = (samples: ReadonlyArray<Sample>, name: string, labels: Readonly<Record<string, string>> = {}) => {
  const found = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
  assert.ok(found.length <= 1, `${found.length} samples of ${name} ${JSON.stringify(labels)}`)
  return found[0]?.value
}

const scrape = async (baseUrl: string) => {
  const answer = await rawRequest(baseUrl, "GET", "/metrics")
  assert.equal(answer.status, 200, answer.text)
  return { contentType: answer.contentType, samples: samplesOf(answer.text) }
}

describe("GET /metrics of chunyun serve", () => {
  let store: DurableStore
  let server: ChildServer
  let baseUrl: string
  let orderId: string
  before(async () => {
    store = await openDurableStore(testStoreKind())
    server = spawnServer([...store.serveArgs, "--password-cost", "256"])
    const listening = await server.listening
    assert.ok(listening, `the server did not start: ${server.stderr()}`)
    baseUrl = listening
    const bought = await Effect.runPromise(Effect.gen(function* () {
      const run = yield* createRun(baseUrl, { trainCode: "G71", stations: ["BJP", "TJP", "SHH"], seatCount: 4, adminKey: server.adminKey! })
      const customer = yield* fundedCustomer(baseUrl)
      return yield* buyTicket(customer, run)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
    orderId = bought.order.orderId
    assert.equal((await rawRequest(baseUrl, "GET", `/no/such/route/${orderId}?token=secret`)).status, 404)
  })
  after(async () => {
    await server.stop()
    await store.release()
  })

  test("answers the Prometheus text format with no key", async () => {
    const { contentType } = await scrape(baseUrl)
    assert.equal(contentType, prometheusTextContentType)
  })

  test("counts requests by method, route template and status, and times them by route", async () => {
    const { samples } = await scrape(baseUrl)
    assert.equal(valueOf(samples, "chunyun_http_requests_total", { method: "POST", route: "/orders", status: "201" }), 1)
    assert.equal(valueOf(samples, "chunyun_http_requests_total", { method: "POST", route: "/orders/:orderId/payment", status: "201" }), 1)
    assert.equal(valueOf(samples, "chunyun_http_requests_total", { method: "GET", route: routeOutsideContract, status: "404" }), 1)
    assert.equal(valueOf(samples, "chunyun_http_request_duration_seconds_count", { method: "POST", route: "/orders" }), 1)
    assert.equal(valueOf(samples, "chunyun_http_request_duration_seconds_bucket", { method: "POST", route: "/orders", le: "+Inf" }), 1)
    const leaked = samples.filter((sample) => Object.values(sample.labels).some((value) => value.includes(orderId) || value.includes("secret")))
    assert.deepEqual(leaked, [], "a label carries a value from a URL")
  })

  test("counts the hold, the payment and the ticket once each, with nothing left in the outbox", async () => {
    const { samples } = await scrape(baseUrl)
    assert.equal(valueOf(samples, "chunyun_holds_total"), 1)
    assert.equal(valueOf(samples, "chunyun_payments_captured_total"), 1)
    assert.equal(valueOf(samples, "chunyun_tickets_issued_total"), 1)
    assert.equal(valueOf(samples, "chunyun_outbox_pending_rows"), 0)
    assert.equal(valueOf(samples, "chunyun_outbox_oldest_pending_age_seconds"), 0)
  })

  test("shows the store's connections (and on SQLite its group commits)", async () => {
    const { samples } = await scrape(baseUrl)
    const labels = { store: store.kind }
    const open = valueOf(samples, "chunyun_store_connections_open", labels) ?? 0
    const idle = valueOf(samples, "chunyun_store_connections_idle", labels) ?? -1
    assert.ok(open >= 1 && idle >= 0 && idle <= open, `${open} connections open, ${idle} idle`)
    assert.equal(valueOf(samples, "chunyun_store_connection_waiters", labels), 0)
    if (store.kind === "sqlite") {
      assert.equal(open, 1)
      const commits = valueOf(samples, "chunyun_sqlite_commits_total") ?? 0
      const transactions = valueOf(samples, "chunyun_sqlite_transactions_committed_total") ?? 0
      assert.ok(commits > 0 && transactions >= commits, `${commits} COMMITs carried ${transactions} transactions`)
    } else {
      assert.equal(valueOf(samples, "chunyun_sqlite_commits_total"), undefined)
    }
  })

  test("a scrape is counted under /metrics: the next one shows it", async () => {
    const before = valueOf((await scrape(baseUrl)).samples, "chunyun_http_requests_total", { method: "GET", route: "/metrics", status: "200" }) ?? 0
    const after = valueOf((await scrape(baseUrl)).samples, "chunyun_http_requests_total", { method: "GET", route: "/metrics", status: "200" })
    assert.equal(after, before + 1)
  })

  test("the OpenAPI document lists GET /metrics with no security and its 503", async () => {
    const document = (await rawRequest(baseUrl, "GET", "/openapi.json")).json as {
      paths: Record<string, Record<string, { security?: ReadonlyArray<unknown>; responses: Record<string, unknown> }>>
    }
    const operation = document.paths["/metrics"]?.["get"]
    assert.ok(operation, `no GET /metrics in ${Object.keys(document.paths).join(", ")}`)
    assert.deepEqual(operation.security ?? [], [])
    assert.ok("200" in operation.responses && "503" in operation.responses, JSON.stringify(Object.keys(operation.responses)))
  })
})

/** the ticket worker's interval in the lag test: it passes once at start, and not again while the test runs */
const idleOutboxWorkerMs = 600_000
/** how far the test moves the server's clock after the payment */
const outboxLagMs = 5_000

test("a paid order whose ticket the worker has not issued yet is one pending outbox row, as old as the server's clock says", async () => {
  await withTestServer({ issuance: "worker", outboxSweepIntervalMs: idleOutboxWorkerMs }, async (server) => {
    await server.run(Effect.gen(function* () {
      const run = yield* createRun(server.baseUrl, { trainCode: "G73", stations: ["BJP", "TJP"], seatCount: 2 })
      const customer = yield* fundedCustomer(server.baseUrl)
      const held = yield* holdOn(customer, run)
      yield* payFor(customer, held.orderId)
    }))
    server.advanceClock(outboxLagMs)
    const { samples } = await scrape(server.baseUrl)
    assert.equal(valueOf(samples, "chunyun_payments_captured_total"), 1)
    assert.equal(valueOf(samples, "chunyun_tickets_issued_total"), 0)
    assert.equal(valueOf(samples, "chunyun_outbox_pending_rows"), 1)
    const ageSeconds = valueOf(samples, "chunyun_outbox_oldest_pending_age_seconds") ?? 0
    assert.ok(ageSeconds >= outboxLagMs / 1_000, `the oldest pending row is ${ageSeconds} s old`)
  })
})
