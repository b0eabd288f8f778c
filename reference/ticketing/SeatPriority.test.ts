/**
 * Client priority in a tie for one seat (seed 004 [0059], [0065]) over real HTTP, on this run's store
 * (`CHUNYUN_TEST_STORE`): a chosen seat held less than `seatClaimTieWindowMs` ago goes to a device whose app was
 * installed earlier, the displaced hold is cancelled and its payment answers `HoldDisplaced`; after the window, or
 * against an install time no later than the claimant's, the first hold stands; no install time ranks last. Every
 * test ends with the auditor's seat invariants (no seat-segment held or sold twice, lock bits = live orders).
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect, Either } from "effect"
import { audit } from "../../simulator/Auditor.js"
import { History } from "../../simulator/History.js"
import type { Fen, OrderId, RunId, StationCode } from "../Domain.js"
import { installRankOf, isTie, keepsSeat, maxTieDecisionAttempts, noInstallTimeRank } from "./Orders/SeatPriority.js"
import { createTestCinema, createTestShowing, standardFareFen, venueHold } from "../testing/Catalog.js"
import { freshDeviceId, newDevice } from "../testing/Customers.js"
import { fundedCustomer } from "../testing/Lifecycle.js"
import { planGateway } from "../testing/Payments.js"
import { adminClient, createRun, newCustomer, rawRequest, startTestServer, storeQuery } from "../testing/TestServer.js"
import type { ChunyunClient, TestServer } from "../testing/TestServer.js"

/** wide, so that a test's own requests always fall inside it; its end is reached with `advanceClock` */
const tieWindowMs = 60_000
const cinemaCode = "TIE"
const showingStartsInMinutes = 180

interface Buyer { readonly client: ChunyunClient; readonly token: string; readonly paymentPassword: string }

const holdSeat = (buyer: Buyer, runId: RunId, seatCode: string) =>
  buyer.client.orders.hold({ payload: venueHold(runId, cinemaCode, { seat: { coach: 1, seatCode } }) })

const seatInvariantsHold = async (server: TestServer) => {
  const invariants = await server.run(audit(new History()))
  for (const name of ["no-double-booking", "holds-released"]) {
    const invariant = invariants.find((candidate) => candidate.name === name)
    assert.equal(invariant?.violations, 0, `${name}: ${invariant?.witness?.join("; ")}`)
  }
}

describe("seat priority rules", () => {
  test("an install time ranks by its time of day; none ranks after 23:59:59", () => {
    assert.deepEqual(["00:00:00", "07:15:00", "23:59:59"].map(installRankOf), [0, 26_100, 86_399])
    assert.equal(installRankOf(null), noInstallTimeRank)
    assert.ok(installRankOf("23:59:59") < noInstallTimeRank)
  })

  test("a tie is strictly inside the window; a holder loses only to a strictly earlier install, with no payment under way", () => {
    assert.deepEqual([isTie(1_000, 1_099, 100), isTie(1_000, 1_100, 100), isTie(1_000, 1_000, 0)], [true, false, false])
    const holder = { heldAtMs: 1_000, holdExpiresAtMs: 601_000, installRank: 100, livePayments: 0 }
    assert.equal(keepsSeat(holder, 99, 1_050, 100), undefined)
    assert.equal(keepsSeat(holder, 100, 1_050, 100), "installed no later than the claimant")
    assert.equal(keepsSeat(holder, 99, 1_100, 100), "held before the tie window")
    assert.equal(keepsSeat({ ...holder, livePayments: 1 }, 99, 1_050, 100), "a payment is under way")
    assert.equal(keepsSeat({ ...holder, holdExpiresAtMs: 1_050 }, 99, 1_050, 100), "expired")
  })
})

describe("a tie for a chosen seat of a showing", () => {
  let server: TestServer
  let runId: RunId
  const device = (installTime?: string) => server.run(newDevice(server.baseUrl, freshDeviceId(installTime)))
  const stateOf = (buyer: Buyer, orderId: OrderId) => server.run(buyer.client.orders.getOrder({ path: { orderId } })).then((order) => order.state)
  before(async () => {
    server = await startTestServer({ seatClaimTieWindowMs: tieWindowMs })
    await server.run(createTestCinema(server.baseUrl, cinemaCode))
    runId = (await server.run(createTestShowing(server.baseUrl, cinemaCode, "T0001", showingStartsInMinutes))).runId
  })
  after(() => server.close())

  test("the later-installed device holds first, the earlier-installed one within the window takes the seat; paying the lost hold is HoldDisplaced (409)", async () => {
    const late = await device("21:30:00")
    const early = await device("07:15:00")
    const first = await server.run(holdSeat(late, runId, "01-01"))
    const second = await server.run(holdSeat(early, runId, "01-01"))
    assert.deepEqual([second.seatCode, second.state, second.displacedHolds], ["01-01", "held", 1])
    assert.deepEqual([await stateOf(late, first.orderId), await stateOf(early, second.orderId)], ["cancelled", "held"])
    const refused = await rawRequest(server.baseUrl, "POST", `/orders/${first.orderId}/payment`, {
      headers: { authorization: `Bearer ${late.token}`, "idempotency-key": "tie-pay-late-0001" }, body: { paymentPassword: late.paymentPassword }
    })
    assert.equal(refused.status, 409)
    assert.deepEqual(refused.json, { _tag: "HoldDisplaced", orderId: first.orderId, displacedAtMs: second.heldAtMs })
    const records = await server.run(late.client.lifecycle.orderEvents({ path: { orderId: first.orderId } }))
    assert.deepEqual(records.map((record) => [record.kind, record.actor, record.relatedOrderId, record.refundFen]), [["cancelled", "seat-priority", second.orderId, 0]])
    // the winner pays and is issued its ticket; the loser was never charged
    await server.run(early.client.accounts.topUp({ headers: { "idempotency-key": "tie-topup-early-1" }, payload: { amountFen: standardFareFen as Fen } }))
    const paid = await server.run(early.client.accounts.pay({
      path: { orderId: second.orderId }, headers: { "idempotency-key": "tie-pay-early-0001" }, payload: { paymentPassword: early.paymentPassword }
    }))
    assert.equal(paid.state, "issued")
    const [charged] = await server.run(storeQuery<{ count: number }>("SELECT COUNT(*) AS count FROM transfers WHERE order_id = ?", first.orderId))
    assert.equal(Number(charged!.count), 0)
    await seatInvariantsHold(server)
  })

  test("outside the window the first hold stands, whatever the install times", async () => {
    const late = await device("21:30:00")
    const early = await device("07:15:00")
    const first = await server.run(holdSeat(late, runId, "01-02"))
    server.advanceClock(tieWindowMs)
    const refused = await server.run(Effect.flip(holdSeat(early, runId, "01-02")))
    assert.equal(refused._tag, "SeatTaken")
    assert.equal(await stateOf(late, first.orderId), "held")
    await seatInvariantsHold(server)
  })

  test("no install time ranks last: such a hold is taken by any device with one, and takes from no one", async () => {
    const phone = await server.run(newCustomer(server.baseUrl))
    const lateDevice = await device("23:59:59")
    const unranked = await device()
    const fromPhone = await server.run(holdSeat(phone, runId, "01-03"))
    const taken = await server.run(holdSeat(lateDevice, runId, "01-03"))
    assert.equal(taken.displacedHolds, 1)
    assert.equal(await stateOf(phone, fromPhone.orderId), "cancelled")
    // the device that sent no install time, and the phone, lose to the one that did, within the window
    assert.equal((await server.run(Effect.flip(holdSeat(unranked, runId, "01-03"))))._tag, "SeatTaken")
    assert.equal((await server.run(Effect.flip(holdSeat(phone, runId, "01-03"))))._tag, "SeatTaken")
    assert.equal(await stateOf(lateDevice, taken.orderId), "held")
    await seatInvariantsHold(server)
  })

  test("an equal install time keeps the first hold, and a hold being paid keeps its seat", async () => {
    const noon = await device("12:00:00")
    const alsoNoon = await device("12:00:00")
    const earlier = await device("06:00:00")
    const first = await server.run(holdSeat(noon, runId, "01-04"))
    assert.equal((await server.run(Effect.flip(holdSeat(alsoNoon, runId, "01-04"))))._tag, "SeatTaken")
    // a gateway payment reserves the fare (its payer never completes it here): from then on the hold is not taken
    await planGateway(server, { outcome: "abandon", callback: "never" })
    await server.run(noon.client.gateway.payByGateway({ path: { orderId: first.orderId }, headers: { "idempotency-key": "tie-gateway-noon-1" } }))
    assert.equal((await server.run(Effect.flip(holdSeat(earlier, runId, "01-04"))))._tag, "SeatTaken")
    assert.equal(await stateOf(noon, first.orderId), "held")
    await seatInvariantsHold(server)
  })

  test(`a crowd of devices choosing one seat at once: the earliest-installed ends with it, the seat is held once`, async () => {
    const installTimes = ["18:00:00", "09:30:00", undefined, "13:45:10", "05:20:00", "22:10:00", undefined, "11:11:11"]
    assert.ok(installTimes.length <= maxTieDecisionAttempts, "every rival can change the seat once under the winner's decision")
    const crowd = await Promise.all(installTimes.map((installTime) => device(installTime)))
    const results = await server.run(Effect.forEach(crowd, (buyer) => Effect.either(holdSeat(buyer, runId, "02-01")), { concurrency: "unbounded" }))
    for (const result of results) if (Either.isLeft(result)) assert.equal(result.left._tag, "SeatTaken")
    const earliest = crowd[installTimes.indexOf("05:20:00")]!
    const held = results[installTimes.indexOf("05:20:00")]!
    assert.ok(Either.isRight(held), "the earliest-installed device's hold stands")
    assert.equal(await stateOf(earliest, held.right.orderId), "held")
    const live = await server.run(storeQuery<{ id: string }>(`SELECT o.id FROM orders o JOIN seats s ON s.id = o.seat_id
      WHERE o.run_id = ? AND s.seat_code = ? AND o.state IN ('held', 'paid', 'issued')`, runId, "02-01"))
    assert.deepEqual(live.map((row) => row.id), [held.right.orderId])
    await seatInvariantsHold(server)
  })
})

describe("a tie for a chosen train seat over several segments", () => {
  test("the earlier-installed device takes the seat from both later holds it overlaps; a paid or upstream-sold segment keeps it and nothing is displaced", async () => {
    const server = await startTestServer({ seatClaimTieWindowMs: tieWindowMs })
    try {
      const run = await server.run(createRun(server.baseUrl, { trainCode: "G700", stations: ["AAA", "BBB", "CCC"], seatCount: 5 }))
      const [aaa, bbb, ccc] = ["AAA", "BBB", "CCC"] as Array<StationCode>
      const device = (installTime: string) => server.run(newDevice(server.baseUrl, freshDeviceId(installTime)))
      const holdTrainSeat = (buyer: Buyer, from: StationCode | undefined, to: StationCode | undefined, seatCode: string) =>
        buyer.client.orders.hold({ payload: { runId: run.runId, fromStation: from!, toStation: to!, seat: { coach: 1, seatCode } } })
      const stateOf = (buyer: Buyer, orderId: OrderId) => server.run(buyer.client.orders.getOrder({ path: { orderId } })).then((order) => order.state)
      const first = await device("20:00:00")
      const second = await device("21:00:00")
      const early = await device("06:00:00")
      const firstHalf = await server.run(holdTrainSeat(first, aaa, bbb, "01A"))
      const secondHalf = await server.run(holdTrainSeat(second, bbb, ccc, "01A"))
      const whole = await server.run(holdTrainSeat(early, aaa, ccc, "01A"))
      assert.deepEqual([whole.seatCode, whole.displacedHolds], ["01A", 2])
      assert.deepEqual([await stateOf(first, firstHalf.orderId), await stateOf(second, secondHalf.orderId)], ["cancelled", "cancelled"])
      // 01B: a later-installed hold on AAA→BBB and a paid ticket on BBB→CCC; the earlier device wants AAA→CCC
      const laterHold = await server.run(holdTrainSeat(first, aaa, bbb, "01B"))
      const passenger = await server.run(fundedCustomer(server.baseUrl))
      const paidHalf = await server.run(holdTrainSeat(passenger, bbb, ccc, "01B"))
      await server.run(passenger.client.accounts.pay({
        path: { orderId: paidHalf.orderId }, headers: { "idempotency-key": "tie-train-paid-1" }, payload: { paymentPassword: passenger.paymentPassword }
      }))
      assert.equal((await server.run(Effect.flip(holdTrainSeat(early, aaa, ccc, "01B"))))._tag, "SeatTaken")
      assert.equal(await stateOf(first, laterHold.orderId), "held")
      // 01C: BBB→CCC sold by an upstream terminal (lock bits with no order behind them), a later hold on AAA→BBB: the
      // tie is decided for the claimant, and the seat's conditional write, finding the upstream's bits, undoes it all
      const upstreamSale = { saleId: "TIE-UPSTREAM-1", runId: run.runId, coach: 1, seatCode: "01C", fromStation: bbb!, toStation: ccc! }
      await server.run(Effect.flatMap(adminClient(server.baseUrl), (admin) => admin.upstream.receiveSale({ payload: upstreamSale })))
      const beforeUpstream = await server.run(holdTrainSeat(second, aaa, bbb, "01C"))
      assert.equal((await server.run(Effect.flip(holdTrainSeat(early, aaa, ccc, "01C"))))._tag, "SeatTaken")
      assert.equal(await stateOf(second, beforeUpstream.orderId), "held")
      await seatInvariantsHold(server)
    } finally {
      await server.close()
    }
  })
})
