/**
 * Holds over real HTTP: the seat lock under a crowd, per-segment inventory, and the release of
 * expired holds (by the hold path itself, by a payment attempt, and by the sweeper).
 */
import assert from "node:assert/strict"
import { setTimeout as sleep } from "node:timers/promises"
import { after, before, describe, test } from "node:test"
import { Effect, Either } from "effect"
import type { StationCode } from "../Domain.js"
import {
  bearer, createRun, newCustomer, rawRequest, startTestServer, storeQuery, tagOf, waitUntil, withTestServer
} from "../testing/TestServer.js"
import type { TestCustomer, TestRun, TestServer } from "../testing/TestServer.js"

const crowdSize = 200
const registrationBatchSize = 25

const holdOf = (customer: TestCustomer, run: TestRun, fromStation: string, toStation: string) =>
  customer.client.orders.hold({
    payload: { runId: run.runId, fromStation: fromStation as StationCode, toStation: toStation as StationCode }
  })

const availableSeats = (customer: TestCustomer, run: TestRun, from: string, to: string) =>
  Effect.map(
    customer.client.catalog.search({ urlParams: { from: from as StationCode, to: to as StationCode, date: run.serviceDate } }),
    (offers) => offers.find((offer) => offer.runId === run.runId)?.availableSeats
  )

describe("holds under a crowd", () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
  })
  after(() => server.close())

  test(`${crowdSize} concurrent holds for one seat: exactly one wins, the rest are SoldOut (409)`, async () => {
    const customers = await server.run(Effect.forEach(
      Array.from({ length: crowdSize }), () => newCustomer(server.baseUrl), { concurrency: registrationBatchSize }
    ))
    const run = await server.run(createRun(server.baseUrl, { trainCode: "G100", stations: ["BJP", "TJP"], seatCount: 1 }))

    const outcomes = await server.run(Effect.all(
      customers.map((customer) => Effect.either(holdOf(customer, run, "BJP", "TJP"))),
      { concurrency: "unbounded" }
    ))

    const winners = outcomes.filter(Either.isRight).map((outcome) => outcome.right)
    const losers = outcomes.filter(Either.isLeft).map((outcome) => outcome.left)
    assert.equal(winners.length, 1)
    assert.equal(losers.length, crowdSize - 1)
    for (const error of losers) assert.equal(error._tag, "SoldOut")
    const [winner] = winners
    assert.equal(winner?.state, "held")
    assert.equal(winner?.seatCode, "01A")
    assert.equal(winner?.holdExpiresAtMs, (winner?.heldAtMs ?? 0) + server.settings.holdTtlMs)

    // the status line itself, not only the client's decoding of it
    const late = customers[0]!
    const raw = await rawRequest(server.baseUrl, "POST", "/orders", {
      headers: bearer(late.token), body: { runId: run.runId, fromStation: "BJP", toStation: "TJP" }
    })
    assert.equal(raw.status, 409)
    assert.equal(tagOf(raw.json), "SoldOut")

    const rows = await server.run(storeQuery<{ orders: number; mask: number }>(
      `SELECT (SELECT COUNT(*) FROM orders WHERE run_id = ?) AS orders,
              (SELECT occupied_mask FROM seats WHERE run_id = ?) AS mask`, run.runId, run.runId
    ))
    assert.deepEqual(rows.map((row) => ({ orders: Number(row.orders), mask: Number(row.mask) })), [{ orders: 1, mask: 1 }])
  })

  test("overlapping segments conflict on a one-seat run; a disjoint one still fits", async () => {
    const [first, second] = await server.run(Effect.all([newCustomer(server.baseUrl), newCustomer(server.baseUrl)]))
    const run = await server.run(createRun(server.baseUrl, { trainCode: "G101", stations: ["AAA", "BBB", "CCC", "DDD"], seatCount: 1 }))

    const aToC = await server.run(holdOf(first!, run, "AAA", "CCC"))
    assert.equal(aToC.priceFen, 2 * run.fareFenPerSegment)
    for (const [from, to] of [["BBB", "DDD"], ["AAA", "BBB"], ["BBB", "CCC"], ["AAA", "DDD"]] as const) {
      const refused = await server.run(Effect.flip(holdOf(second!, run, from, to)))
      assert.equal(refused._tag, "SoldOut", `${from}→${to} overlaps AAA→CCC`)
    }
    const cToD = await server.run(holdOf(second!, run, "CCC", "DDD"))
    assert.equal(cToD.seatCode, aToC.seatCode)
    assert.equal(await server.run(availableSeats(second!, run, "AAA", "DDD")), 0)
  })

  test("disjoint segments share one seat: AAA→BBB and BBB→CCC both succeed, AAA→CCC is then sold out", async () => {
    const [first, second, third] = await server.run(Effect.all([1, 2, 3].map(() => newCustomer(server.baseUrl))))
    const run = await server.run(createRun(server.baseUrl, { trainCode: "G102", stations: ["AAA", "BBB", "CCC"], seatCount: 1 }))

    const aToB = await server.run(holdOf(first!, run, "AAA", "BBB"))
    const bToC = await server.run(holdOf(second!, run, "BBB", "CCC"))
    assert.equal(aToB.coach, bToC.coach)
    assert.equal(aToB.seatCode, bToC.seatCode)
    assert.notEqual(aToB.orderId, bToC.orderId)
    const refused = await server.run(Effect.flip(holdOf(third!, run, "AAA", "CCC")))
    assert.equal(refused._tag, "SoldOut")
  })

  test("a hold is visible to its owner only, with the journey it was made for", async () => {
    const [owner, stranger] = await server.run(Effect.all([newCustomer(server.baseUrl), newCustomer(server.baseUrl)]))
    const run = await server.run(createRun(server.baseUrl, { trainCode: "G103", stations: ["AAA", "BBB", "CCC"], seatCount: 2 }))
    const held = await server.run(holdOf(owner!, run, "BBB", "CCC"))
    const fetched = await server.run(owner!.client.orders.getOrder({ path: { orderId: held.orderId } }))
    // what the claim cost (attempts, place in a queue) is in the hold's answer only, not in the order
    const { claimAttempts: _attempts, queuePosition: _position, queueWaitMs: _wait, groupCommitSize: _group, ...order } = held
    const { claimAttempts: _a, queuePosition: _p, queueWaitMs: _w, groupCommitSize: _g, ...stored } = fetched
    assert.deepEqual(stored, order)
    assert.equal(fetched.fromStation, "BBB")
    assert.equal(fetched.toStation, "CCC")
    assert.equal(fetched.ticketId, null)
    const hidden = await server.run(Effect.flip(stranger!.client.orders.getOrder({ path: { orderId: held.orderId } })))
    assert.equal(hidden._tag, "OrderNotFound")
  })
})

describe("expired holds give their seat back", () => {
  const holdTtlMs = 50
  const pastTtlMs = 100

  test("with the sweeper far away, a new hold releases the expired one and takes its seat", async () => {
    // a sweeper interval of an hour: only the hold path can free the seat within this test
    await withTestServer({ holdTtlMs, holdSweepIntervalMs: 3_600_000 }, async (server) => {
      const [first, second] = await server.run(Effect.all([newCustomer(server.baseUrl), newCustomer(server.baseUrl)]))
      const run = await server.run(createRun(server.baseUrl, { trainCode: "G110", stations: ["AAA", "BBB"], seatCount: 1 }))
      const stale = await server.run(holdOf(first!, run, "AAA", "BBB"))
      await sleep(pastTtlMs)

      const fresh = await server.run(holdOf(second!, run, "AAA", "BBB"))
      assert.equal(fresh.seatCode, stale.seatCode)
      assert.equal(fresh.state, "held")
      const staleNow = await server.run(first!.client.orders.getOrder({ path: { orderId: stale.orderId } }))
      assert.equal(staleNow.state, "expired")
    })
  })

  test("paying an expired hold is HoldExpired (410) and releases the seat", async () => {
    await withTestServer({ holdTtlMs, holdSweepIntervalMs: 3_600_000 }, async (server) => {
      const customer = await server.run(newCustomer(server.baseUrl))
      const run = await server.run(createRun(server.baseUrl, { trainCode: "G111", stations: ["AAA", "BBB"], seatCount: 1 }))
      const held = await server.run(holdOf(customer, run, "AAA", "BBB"))
      assert.equal(await server.run(availableSeats(customer, run, "AAA", "BBB")), 0)
      await sleep(pastTtlMs)

      const raw = await rawRequest(server.baseUrl, "POST", `/orders/${held.orderId}/payment`, {
        headers: { ...bearer(customer.token), "idempotency-key": "pay-expired-1" },
        body: { paymentPassword: customer.paymentPassword }
      })
      assert.equal(raw.status, 410)
      assert.equal(tagOf(raw.json), "HoldExpired")
      assert.deepEqual(raw.json, { _tag: "HoldExpired", orderId: held.orderId, expiredAtMs: held.holdExpiresAtMs })

      const after = await server.run(customer.client.orders.getOrder({ path: { orderId: held.orderId } }))
      assert.equal(after.state, "expired")
      assert.equal(await server.run(availableSeats(customer, run, "AAA", "BBB")), 1)
      const wallet = await server.run(customer.client.accounts.getWallet())
      assert.equal(wallet.balanceFen, 0)
    })
  })

  test("the hold sweeper releases expired holds on its own", async () => {
    await withTestServer({ holdTtlMs, holdSweepIntervalMs: 25 }, async (server) => {
      const customer = await server.run(newCustomer(server.baseUrl))
      const run = await server.run(createRun(server.baseUrl, { trainCode: "G112", stations: ["AAA", "BBB"], seatCount: 1 }))
      const held = await server.run(holdOf(customer, run, "AAA", "BBB"))

      const released = await waitUntil(async () => (await server.run(availableSeats(customer, run, "AAA", "BBB"))) === 1, 3_000)
      assert.ok(released, "the sweeper did not release the seat within 3 s")
      const order = await server.run(customer.client.orders.getOrder({ path: { orderId: held.orderId } }))
      assert.equal(order.state, "expired")
    })
  })

  test("a hold inside its TTL is not released by a competing hold", async () => {
    await withTestServer({ holdTtlMs: 60_000, holdSweepIntervalMs: 25 }, async (server) => {
      const [first, second] = await server.run(Effect.all([newCustomer(server.baseUrl), newCustomer(server.baseUrl)]))
      const run = await server.run(createRun(server.baseUrl, { trainCode: "G113", stations: ["AAA", "BBB"], seatCount: 1 }))
      const held = await server.run(holdOf(first!, run, "AAA", "BBB"))
      await sleep(pastTtlMs)
      const refused = await server.run(Effect.flip(holdOf(second!, run, "AAA", "BBB")))
      assert.equal(refused._tag, "SoldOut")
      const still = await server.run(first!.client.orders.getOrder({ path: { orderId: held.orderId } }))
      assert.equal(still.state, "held")
    })
  })
})
