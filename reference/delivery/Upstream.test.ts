/**
 * Inventory sync with an upstream system (seed 002: ticket storage synced from terminals; seed 004: paid
 * seats synced to the cinema chain). Inbound sales take their seat through the same conditional write as a
 * hold, so a seat is never sold twice and a conflict is answered and reported; outbound, every issued seat
 * reaches the (simulated) upstream at least once, and exactly once after its dedupe, through outages and
 * lost acknowledgements.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import type { Fen, RunId, StationCode } from "../Domain.js"
import { auditViolations } from "../testing/Ops.js"
import {
  adminClient, createRun, newCustomer, rawRequest, startTestServer, storeQuery, tagOf, waitUntil, withTestServer
} from "../testing/TestServer.js"
import type { TestServer } from "../testing/TestServer.js"
import { SimulatedUpstream } from "../Simulated/Upstream.js"
import type { UpstreamSale } from "./Upstream/Api.js"

const sale = (saleId: string, runId: RunId, seatCode: string, from: string, to: string): UpstreamSale =>
  ({ saleId, runId, coach: 1, seatCode, fromStation: from as StationCode, toStation: to as StationCode })

const receive = (server: TestServer, body: UpstreamSale) =>
  server.run(Effect.either(Effect.flatMap(adminClient(server.baseUrl), (admin) => admin.upstream.receiveSale({ payload: body }))))
const upstreamReport = (server: TestServer) =>
  server.run(Effect.flatMap(adminClient(server.baseUrl), (admin) => admin.upstream.report()))

describe("upstream sync: inbound sales", () => {
  let server: TestServer
  before(async () => { server = await startTestServer() })
  after(() => server.close())

  const seatCodes = async (runId: RunId) =>
    (await server.run(storeQuery<{ seat_code: string }>(`SELECT seat_code FROM seats WHERE run_id = ? ORDER BY id`, runId))).map((row) => row.seat_code)

  test("a sale claims its seat on its segments only; a replay is found, a conflict is refused and reported", async () => {
    const run = await server.run(createRun(server.baseUrl, { trainCode: "G41", stations: ["BJP", "TJP", "SHH"], seatCount: 1 }))
    const [seat] = await seatCodes(run.runId)
    const claimed = await receive(server, sale("TERM1-0001", run.runId, seat!, "BJP", "TJP"))
    assert.deepEqual(claimed._tag === "Right" && claimed.right, { saleId: "TERM1-0001", state: "claimed", firstReceipt: true })
    const customer = await server.run(newCustomer(server.baseUrl))
    const overlapping = await server.run(Effect.flip(customer.client.orders.hold({ payload: { runId: run.runId, fromStation: "BJP" as StationCode, toStation: "SHH" as StationCode } })))
    assert.equal(overlapping._tag, "SoldOut", "the upstream's seat is not sold again here")
    const disjoint = await server.run(customer.client.orders.hold({ payload: { runId: run.runId, fromStation: "TJP" as StationCode, toStation: "SHH" as StationCode } }))
    assert.equal(disjoint.seatCode, seat, "the seat's other segment is still for sale")
    const replay = await receive(server, sale("TERM1-0001", run.runId, seat!, "BJP", "TJP"))
    assert.deepEqual(replay._tag === "Right" && replay.right, { saleId: "TERM1-0001", state: "claimed", firstReceipt: false })
    const mismatch = await receive(server, sale("TERM1-0001", run.runId, seat!, "BJP", "SHH"))
    assert.equal(mismatch._tag === "Left" && mismatch.left._tag, "UpstreamSaleMismatch")
    const conflict = await receive(server, sale("TERM2-0001", run.runId, seat!, "TJP", "SHH"))
    assert.equal(conflict._tag === "Left" && conflict.left._tag, "UpstreamSeatConflict", "the seat was held here first")
    const again = await receive(server, sale("TERM2-0001", run.runId, seat!, "TJP", "SHH"))
    assert.equal(again._tag === "Left" && again.left._tag, "UpstreamSeatConflict", "a re-sent conflict answers the same")
    const report = await upstreamReport(server)
    assert.deepEqual(report.conflicts.map((entry) => entry.saleId), ["TERM2-0001"])
    assert.deepEqual(await server.run(auditViolations), [])
  })

  test("a crowd of sales and holds for one seat: exactly one wins, every other sale is a reported conflict", async () => {
    const run = await server.run(createRun(server.baseUrl, { trainCode: "G43", stations: ["BJP", "TJP"], seatCount: 1 }))
    const [seat] = await seatCodes(run.runId)
    const customers = await server.run(Effect.forEach(Array.from({ length: 5 }), () => newCustomer(server.baseUrl), { concurrency: 5 }))
    const before = (await upstreamReport(server)).conflicts.length
    const [sales, holds] = await Promise.all([
      Promise.all(Array.from({ length: 15 }, (_, index) => receive(server, sale(`CROWD-${index}`, run.runId, seat!, "BJP", "TJP")))),
      Promise.all(customers.map((customer) => server.run(Effect.either(customer.client.orders.hold({
        payload: { runId: run.runId, fromStation: "BJP" as StationCode, toStation: "TJP" as StationCode }
      })))))
    ])
    const won = sales.filter((result) => result._tag === "Right").length + holds.filter((result) => result._tag === "Right").length
    assert.equal(won, 1)
    const lostSales = sales.filter((result) => result._tag === "Left")
    assert.ok(lostSales.every((result) => result._tag === "Left" && result.left._tag === "UpstreamSeatConflict"))
    assert.equal((await upstreamReport(server)).conflicts.length - before, lostSales.length)
    assert.deepEqual(await server.run(auditViolations), [])
  })

  test("unknown runs and seats, malformed sales and missing admin keys are refused", async () => {
    const run = await server.run(createRun(server.baseUrl, { trainCode: "G45", stations: ["BJP", "TJP"], seatCount: 1 }))
    const unknownSeat = await receive(server, sale("BAD-0001", run.runId, "99Z", "BJP", "TJP"))
    assert.equal(unknownSeat._tag === "Left" && unknownSeat.left._tag, "UpstreamSeatUnknown")
    const unknownRun = await receive(server, sale("BAD-0002", "G999-20300101" as RunId, "01A", "BJP", "TJP"))
    assert.equal(unknownRun._tag === "Left" && unknownRun.left._tag, "TrainRunNotFound")
    const backwards = await receive(server, sale("BAD-0003", run.runId, "01A", "TJP", "BJP"))
    assert.equal(backwards._tag === "Left" && backwards.left._tag, "InvalidSegment")
    const admin = { "x-admin-key": server.settings.adminKey }
    const malformed = await rawRequest(server.baseUrl, "POST", "/admin/upstream/sales", { headers: admin, body: { saleId: "x", runId: run.runId } })
    assert.equal(malformed.status, 400)
    assert.equal(tagOf(malformed.json), "HttpApiDecodeError")
    assert.equal((await rawRequest(server.baseUrl, "POST", "/admin/upstream/sales", { body: sale("BAD-0004", run.runId, "01A", "BJP", "TJP") })).status, 403)
    const [count] = await server.run(storeQuery<{ n: number }>(`SELECT COUNT(*) AS n FROM upstream_sales WHERE sale_id LIKE 'BAD-%'`))
    assert.equal(Number(count?.n), 0, "a refused sale changes nothing")
  })
})

describe("upstream sync: outbound pushes", () => {
  test("every issued seat reaches the upstream once, through an outage and lost acknowledgements", { timeout: 300_000 }, async () => {
    await withTestServer({ upstreamSync: true, upstreamPushIntervalMs: 50, upstreamRetryBackoffMs: 50 }, async (server) => {
      const upstream = await server.run(SimulatedUpstream)
      const run = await server.run(createRun(server.baseUrl, { trainCode: "G47", stations: ["BJP", "TJP", "SHH"], seatCount: 20 }))
      const customer = await server.run(newCustomer(server.baseUrl))
      await server.run(customer.client.accounts.topUp({ headers: { "idempotency-key": "upstream-topup" }, payload: { amountFen: 1_000_000 as Fen } }))
      const buy = (index: number) => server.run(Effect.gen(function* () {
        const order = yield* customer.client.orders.hold({ payload: { runId: run.runId, fromStation: "BJP" as StationCode, toStation: "SHH" as StationCode } })
        yield* customer.client.accounts.pay({ path: { orderId: order.orderId }, headers: { "idempotency-key": `upstream-pay-${index}` }, payload: { paymentPassword: customer.paymentPassword } })
        return order
      }))

      upstream.setAvailable(false)
      const duringOutage = [await buy(1), await buy(2), await buy(3)]
      assert.ok(await waitUntil(async () => {
        const [row] = await server.run(storeQuery<{ n: number }>(`SELECT COUNT(*) AS n FROM upstream_outbox WHERE attempts > 0`))
        return Number(row?.n) === 3
      }, 10_000), "the sweeper tried while the upstream was down")
      assert.equal(upstream.received().size, 0)
      assert.equal((await upstreamReport(server)).pendingPushes, 3)

      upstream.setAvailable(true)
      upstream.loseAcknowledgements(2)
      const afterOutage = [await buy(4), await buy(5)]
      const all = [...duringOutage, ...afterOutage]
      assert.ok(await waitUntil(async () => (await upstreamReport(server)).pushedSeats === all.length, 10_000), "every seat was pushed")
      const received = upstream.received()
      assert.deepEqual([...received.keys()].sort(), all.map((order) => order.orderId).sort())
      for (const order of all) {
        const seat = received.get(order.orderId)
        assert.deepEqual(seat && { coach: seat.coach, seatCode: seat.seatCode, from: seat.fromStation, to: seat.toStation },
          { coach: order.coach, seatCode: order.seatCode, from: "BJP", to: "SHH" })
      }
      assert.ok(upstream.deliveries() >= all.length + 2, `lost acknowledgements were pushed again (${upstream.deliveries()} deliveries)`)
      const report = await upstreamReport(server)
      assert.equal(report.pendingPushes, 0)
      assert.equal(report.abandonedPushes, 0)
    })
  })

  test("with upstream sync off, issuing queues nothing", async () => {
    await withTestServer({}, async (server) => {
      const run = await server.run(createRun(server.baseUrl, { trainCode: "G49", stations: ["BJP", "TJP"], seatCount: 2 }))
      const customer = await server.run(newCustomer(server.baseUrl))
      await server.run(customer.client.accounts.topUp({ headers: { "idempotency-key": "upstream-off-topup" }, payload: { amountFen: 100_000 as Fen } }))
      const order = await server.run(customer.client.orders.hold({ payload: { runId: run.runId, fromStation: "BJP" as StationCode, toStation: "TJP" as StationCode } }))
      const paid = await server.run(customer.client.accounts.pay({ path: { orderId: order.orderId }, headers: { "idempotency-key": "upstream-off-pay" }, payload: { paymentPassword: customer.paymentPassword } }))
      assert.equal(paid.state, "issued")
      const [row] = await server.run(storeQuery<{ n: number }>(`SELECT COUNT(*) AS n FROM upstream_outbox`))
      assert.equal(Number(row?.n), 0)
    })
  })
})
