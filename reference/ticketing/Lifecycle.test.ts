/**
 * Cancel, refund and change over real HTTP: the fee schedule by time before departure, the seat and the
 * ticket given back, the refund as a reversal of the payment, the records kept, the wallet statement, and
 * the races (two cancels, cancel against payment, cancel against a gate scan, change against cancel).
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Clock, Effect, Either } from "effect"
import { departureEpochMs } from "../delivery/Checkin.js"
import { Issuance } from "../delivery/Issuance.js"
import { refundFeeFen } from "./Lifecycle/Fees.js"
import { buyTicket as buyVenueTicket, createTestCinema, createTestShowing, startingIn, venueHold } from "../testing/Catalog.js"
import { FenTotal } from "../Domain.js"
import type { Fen, OrderId, StationCode, TrainCode } from "../Domain.js"
import {
  assertLedgerConsistent, buyTicket, cancelOrder, changeOrder, createRunDepartingIn, freshKey, fundedCustomer, holdOn, payFor,
  refundTransfersOf, walletOf, defaultTopUpFen
} from "../testing/Lifecycle.js"
import {
  adminClient, bearer, createRun, newGate, rawRequest, startTestServer, storeQuery, tagOf, withTestServer
} from "../testing/TestServer.js"
import type { TestCustomer, TestGate, TestRun, TestServer } from "../testing/TestServer.js"

const hourMs = 3_600_000
const dayMs = 24 * hourMs
const fareFenPerSegment = 27_650 // 276.50 yuan a segment: 5 % of two is 27.65 yuan, which rounds to 27.50
const concurrentCancels = 8
const racedTickets = 6

describe("cancel and refund", () => {
  let server: TestServer
  /** departing in about half an hour: the < 24 h tier, and gates are open */
  let soon: TestRun
  let gate: TestGate
  let trainNumber = 0
  const nextTrain = () => `K${++trainNumber}`

  before(async () => {
    server = await startTestServer()
    soon = await server.run(createRun(server.baseUrl, { trainCode: "G7201", stations: ["SHH", "NJH"], seatCount: 60, fareFenPerSegment }))
    gate = await server.run(newGate(server.baseUrl, "shh-lifecycle-1", "SHH"))
  })
  after(() => server.close())

  const funded = () => server.run(fundedCustomer(server.baseUrl))
  const seatsFree = (run: TestRun) =>
    server.run(Effect.map(storeQuery<{ free: number }>(`SELECT COUNT(*) AS free FROM seats WHERE run_id = ? AND occupied_mask = 0`, run.runId),
      (rows) => Number(rows[0]?.free)))

  test("a held order is cancelled without money: seat released, record kept, replay answers the same, a second key is refused", async () => {
    const buyer = await funded()
    const freeBefore = await seatsFree(soon)
    const held = await server.run(holdOn(buyer, soon))
    assert.equal(await seatsFree(soon), freeBefore - 1)

    const key = freshKey("cancel-held")
    const cancelled = await server.run(cancelOrder(buyer, held.orderId, key, "plans changed"))
    assert.deepEqual({ ...cancelled, atMs: 0 }, {
      orderId: held.orderId, state: "cancelled", priceFen: held.priceFen, feeFen: 0, refundFen: 0,
      refundTransferIds: [], ticketVoided: false, atMs: 0
    })
    assert.equal(await seatsFree(soon), freeBefore)
    assert.equal((await server.run(buyer.client.orders.getOrder({ path: { orderId: held.orderId } }))).state, "cancelled")
    assert.equal(await server.run(walletOf(buyer)), defaultTopUpFen)

    assert.deepEqual(await server.run(cancelOrder(buyer, held.orderId, key, "plans changed")), cancelled)
    const reused = await rawRequest(server.baseUrl, "POST", `/orders/${held.orderId}/cancellation`, {
      headers: { ...bearer(buyer.token), "idempotency-key": key }, body: { reason: "another reason" }
    })
    assert.equal(reused.status, 409)
    assert.equal(tagOf(reused.json), "IdempotencyKeyReused")
    const again = await rawRequest(server.baseUrl, "POST", `/orders/${held.orderId}/cancellation`, {
      headers: { ...bearer(buyer.token), "idempotency-key": freshKey("cancel-held") }, body: {}
    })
    assert.equal(again.status, 409)
    assert.equal(tagOf(again.json), "OrderNotCancellable")
    const payment = await server.run(Effect.flip(payFor(buyer, held.orderId)))
    assert.equal(payment._tag, "OrderNotPayable")

    const events = await server.run(buyer.client.lifecycle.orderEvents({ path: { orderId: held.orderId } }))
    assert.deepEqual(events.map((event) => ({ ...event, atMs: 0 })), [{
      orderId: held.orderId, kind: "cancelled", actor: `customer:${buyer.customerId}`, reason: "plans changed",
      priceFen: held.priceFen, feeFen: 0, refundFen: 0, chargeFen: 0, relatedOrderId: null, atMs: 0
    }])
  })

  for (const [label, aheadMs, feeFen] of [
    ["8 days or more: no fee", 10 * dayMs, 0],
    ["48 h to 8 days: 5 %", 4 * dayMs, 2_750],
    ["24 to 48 h: 10 %", 36 * hourMs, 5_550],
    ["under 24 h: 20 %", 5 * hourMs, 11_050]
  ] as const) {
    test(`refund of an issued ticket, ${label}: ticket voided, seat released, the rest reversed to the wallet`, async () => {
      const run = await server.run(createRunDepartingIn(server.baseUrl, aheadMs, {
        trainCode: nextTrain(), stations: ["SHH", "WXH"], seatCount: 4, fareFenPerSegment: 2 * fareFenPerSegment
      }))
      const buyer = await funded()
      const { order, ticket } = await server.run(buyTicket(buyer, run))
      const priceFen = 2 * fareFenPerSegment
      assert.equal(order.priceFen, priceFen)
      const centreBefore = Number((await server.run(storeQuery<{ b: number }>(`SELECT balance_fen AS b FROM account_balances WHERE id = 'centre'`)))[0]?.b)

      const refunded = await server.run(cancelOrder(buyer, order.orderId))
      assert.equal(refunded.state, "refunded")
      assert.equal(refunded.feeFen, feeFen)
      assert.equal(refunded.refundFen, priceFen - feeFen)
      assert.equal(refunded.ticketVoided, true)
      assert.equal(refunded.refundTransferIds.length, feeFen === priceFen ? 0 : 1)
      assert.equal(await server.run(walletOf(buyer)), defaultTopUpFen - feeFen)
      const centreAfter = Number((await server.run(storeQuery<{ b: number }>(`SELECT balance_fen AS b FROM account_balances WHERE id = 'centre'`)))[0]?.b)
      assert.equal(centreAfter, centreBefore - (priceFen - feeFen), "the fee stays with the centre")
      assert.equal(await seatsFree(run), 4)

      const [reversal] = await server.run(storeQuery<Record<string, string | number>>(
        `SELECT r.debit_account_id AS debit, r.credit_account_id AS credit, r.amount_fen AS amount, r.purpose,
                p.debit_account_id AS paid_from, p.credit_account_id AS paid_to
         FROM transfers r JOIN transfers p ON p.id = r.reverses_transfer_id WHERE r.id = ?`, refunded.refundTransferIds[0]!))
      assert.deepEqual({ ...reversal, amount: Number(reversal?.amount) }, {
        debit: "centre", credit: `W${buyer.customerId}`, amount: priceFen - feeFen, purpose: "order-refund",
        paid_from: `W${buyer.customerId}`, paid_to: "centre"
      })
      const [voided] = await server.run(storeQuery<{ voided_at_ms: number | null }>(`SELECT voided_at_ms FROM tickets WHERE id = ?`, ticket.ticketId))
      assert.equal(Number(voided?.voided_at_ms), refunded.atMs)

      const statement = await server.run(buyer.client.lifecycle.walletStatement())
      assert.equal(statement.balanceFen, defaultTopUpFen - feeFen)
      assert.deepEqual(statement.entries.map((entry) => [entry.purpose, entry.amountFen, entry.feeFen]), [
        ["order-refund", priceFen - feeFen, feeFen], ["order-payment", -priceFen, null], ["top-up", defaultTopUpFen, null]
      ])
      const [event] = await server.run(buyer.client.lifecycle.orderEvents({ path: { orderId: order.orderId } }))
      assert.equal(event?.kind, "refunded")
      assert.deepEqual([event?.priceFen, event?.feeFen, event?.refundFen], [priceFen, feeFen, priceFen - feeFen])
      await assertLedgerConsistent(server)
    })
  }

  test("a refunded ticket is refused at the gate; its seat sells again", async () => {
    const buyer = await funded()
    const { order, ticket } = await server.run(buyTicket(buyer, soon))
    await server.run(cancelOrder(buyer, order.orderId))
    const refused = await rawRequest(server.baseUrl, "POST", "/gates/scans", {
      headers: { "x-device-key": gate.deviceKey }, body: { qr: ticket.qr, presentedHolder: buyer.phone }
    })
    assert.equal(refused.status, 422)
    assert.equal(tagOf(refused.json), "TicketNotValidHere")
    const [row] = await server.run(storeQuery<{ admitted_at_ms: number | null }>(`SELECT admitted_at_ms FROM tickets WHERE id = ?`, ticket.ticketId))
    assert.equal(row?.admitted_at_ms, null)
    const shown = await server.run(Effect.flip(buyer.client.issuance.getTicket({ path: { orderId: order.orderId } })))
    assert.deepEqual([shown._tag, shown._tag === "TicketNotIssued" && shown.state], ["TicketNotIssued", "refunded"])
  })

  test("an admitted ticket is not refunded (409), and nothing changes", async () => {
    const buyer = await funded()
    const { order, ticket } = await server.run(buyTicket(buyer, soon))
    await server.run(gate.client.checkin.scan({ payload: { qr: ticket.qr, presentedHolder: buyer.phone } }))
    const walletBefore = await server.run(walletOf(buyer))
    const raw = await rawRequest(server.baseUrl, "POST", `/orders/${order.orderId}/cancellation`, {
      headers: { ...bearer(buyer.token), "idempotency-key": freshKey("cancel-admitted") }, body: {}
    })
    assert.equal(raw.status, 409)
    assert.equal(tagOf(raw.json), "OrderNotCancellable")
    assert.match(String((raw.json as { reason?: string }).reason), /admission/)
    assert.equal((await server.run(buyer.client.orders.getOrder({ path: { orderId: order.orderId } }))).state, "issued")
    assert.equal(await server.run(walletOf(buyer)), walletBefore)
    assert.deepEqual(await server.run(buyer.client.lifecycle.orderEvents({ path: { orderId: order.orderId } })), [])
  })

  /** how far past the run's departure the clock is moved */
  const pastDepartureMs = 10 * 60_000
  test("no refund after departure (409)", () =>
    // a server of its own: its clock moves past the departure, which would leave this suite's other runs behind
    withTestServer({}, async (own) => {
      const run = await own.run(createRunDepartingIn(own.baseUrl, 30 * 60_000, {
        trainCode: nextTrain(), stations: ["SHH", "WXH"], seatCount: 2, fareFenPerSegment
      }))
      const buyer = await own.run(fundedCustomer(own.baseUrl))
      const { order } = await own.run(buyTicket(buyer, run))
      // past the run's own departure: half an hour ahead is moved to the next service date late in the evening
      const departureMs = departureEpochMs(run.serviceDate, run.firstDepartureMinuteOfDay, own.settings.utcOffsetMinutes)
      own.advanceClock(departureMs - (await own.run(Clock.currentTimeMillis)) + pastDepartureMs)
      const refused = await own.run(Effect.flip(cancelOrder(buyer, order.orderId)))
      assert.equal(refused._tag, "OrderNotCancellable")
      assert.match(refused._tag === "OrderNotCancellable" ? refused.reason : "", /departure/)
      assert.equal(await own.run(refundTransfersOf(order.orderId)), 0)
      assert.equal((await own.run(buyer.client.orders.getOrder({ path: { orderId: order.orderId } }))).state, "issued")
    }))

  test("another customer's order is OrderNotFound (404) for cancel and for its records; the admin reads the records", async () => {
    const [owner, stranger] = await Promise.all([funded(), funded()])
    const { order } = await server.run(buyTicket(owner!, soon))
    const cancel = await rawRequest(server.baseUrl, "POST", `/orders/${order.orderId}/cancellation`, {
      headers: { ...bearer(stranger!.token), "idempotency-key": freshKey("cancel-foreign") }, body: {}
    })
    assert.equal(cancel.status, 404)
    assert.equal(tagOf(cancel.json), "OrderNotFound")
    await server.run(cancelOrder(owner!, order.orderId, freshKey("cancel"), "sick"))
    const hidden = await server.run(Effect.flip(stranger!.client.lifecycle.orderEvents({ path: { orderId: order.orderId } })))
    assert.equal(hidden._tag, "OrderNotFound")

    const admin = await server.run(adminClient(server.baseUrl))
    const records = await server.run(admin.lifecycle.adminOrderEvents({ path: { orderId: order.orderId } }))
    assert.deepEqual(records.map((event) => [event.kind, event.actor, event.reason]), [["refunded", `customer:${owner!.customerId}`, "sick"]])
    const noKey = await rawRequest(server.baseUrl, "GET", `/admin/orders/${order.orderId}/events`)
    assert.equal(noKey.status, 403)
    const unknown = await server.run(Effect.flip(admin.lifecycle.adminOrderEvents({ path: { orderId: "O0000000000000000" as typeof order.orderId } })))
    assert.equal(unknown._tag, "OrderNotFound")
    // a statement shows the caller's own wallet only
    const strangers = await server.run(stranger!.client.lifecycle.walletStatement())
    assert.deepEqual(strangers.entries.map((entry) => entry.purpose), ["top-up"])
  })

  test("malformed cancels are 400 and change nothing", async () => {
    const buyer = await funded()
    const held = await server.run(holdOn(buyer, soon))
    const path = `/orders/${held.orderId}/cancellation`
    for (const [headers, body] of [
      [bearer(buyer.token), {}], // no idempotency key
      [{ ...bearer(buyer.token), "idempotency-key": "short" }, {}],
      [{ ...bearer(buyer.token), "idempotency-key": freshKey("bad") }, { reason: "x".repeat(201) }],
      [{ ...bearer(buyer.token), "idempotency-key": freshKey("bad") }, { reason: 7 }]
    ] as const) {
      const raw = await rawRequest(server.baseUrl, "POST", path, { headers, body })
      assert.equal(raw.status, 400, JSON.stringify(body))
    }
    const badId = await rawRequest(server.baseUrl, "POST", "/orders/not-an-order/cancellation", {
      headers: { ...bearer(buyer.token), "idempotency-key": freshKey("bad") }, body: {}
    })
    assert.equal(badId.status, 400)
    const anonymous = await rawRequest(server.baseUrl, "POST", path, { headers: { "idempotency-key": freshKey("bad") }, body: {} })
    assert.equal(anonymous.status, 401)
    const changePath = `/orders/${held.orderId}/change`
    const target = { runId: soon.runId, fromStation: "SHH", toStation: "NJH" }
    for (const body of [{ ...target, runId: "not a run" }, { ...target, fromStation: "shh" }, { ...target, paymentPassword: "12345" }, { runId: soon.runId }]) {
      const raw = await rawRequest(server.baseUrl, "POST", changePath, { headers: { ...bearer(buyer.token), "idempotency-key": freshKey("bad") }, body })
      assert.equal(raw.status, 400, JSON.stringify(body))
      assert.equal(tagOf(raw.json), "HttpApiDecodeError")
    }
    const changeWithoutKey = await rawRequest(server.baseUrl, "POST", changePath, { headers: bearer(buyer.token), body: target })
    assert.equal(changeWithoutKey.status, 400)
    const unknownRun = await rawRequest(server.baseUrl, "POST", changePath, {
      headers: { ...bearer(buyer.token), "idempotency-key": freshKey("bad") }, body: { ...target, runId: "Z9-20990101" }
    })
    assert.deepEqual([unknownRun.status, tagOf(unknownRun.json)], [404, "TrainRunNotFound"])
    const backwards = await rawRequest(server.baseUrl, "POST", changePath, {
      headers: { ...bearer(buyer.token), "idempotency-key": freshKey("bad") }, body: { ...target, fromStation: "NJH", toStation: "SHH" }
    })
    assert.deepEqual([backwards.status, tagOf(backwards.json)], [422, "InvalidSegment"])
    for (const readPath of ["/wallet/statement", `/orders/${held.orderId}/events`]) {
      assert.equal((await rawRequest(server.baseUrl, "GET", readPath)).status, 401, readPath)
    }
    assert.equal((await server.run(buyer.client.orders.getOrder({ path: { orderId: held.orderId } }))).state, "held")
  })

  test(`${concurrentCancels} concurrent cancels of one issued order with different keys: exactly one refund`, async () => {
    const buyer = await funded()
    const { order } = await server.run(buyTicket(buyer, soon))
    const outcomes = await server.run(Effect.all(
      Array.from({ length: concurrentCancels }, () => Effect.either(cancelOrder(buyer, order.orderId))), { concurrency: "unbounded" }))
    const won = outcomes.filter(Either.isRight)
    assert.equal(won.length, 1)
    for (const lost of outcomes.filter(Either.isLeft)) assert.equal(lost.left._tag, "OrderNotCancellable")
    assert.equal(await server.run(refundTransfersOf(order.orderId)), 1)
    assert.equal(await server.run(walletOf(buyer)), defaultTopUpFen - won[0]!.right.feeFen)
    await assertLedgerConsistent(server)
  })

  test(`${concurrentCancels} concurrent cancels with one key: one refund, every answer the same`, async () => {
    const buyer = await funded()
    const { order } = await server.run(buyTicket(buyer, soon))
    const key = freshKey("cancel-race")
    const answers = await server.run(Effect.all(
      Array.from({ length: concurrentCancels }, () => cancelOrder(buyer, order.orderId, key)), { concurrency: "unbounded" }))
    for (const answer of answers) assert.deepEqual(answer, answers[0])
    assert.equal(await server.run(refundTransfersOf(order.orderId)), 1)
  })

  test(`cancel racing a gate scan, ${racedTickets} tickets: each is either admitted or refunded, never both`, async () => {
    const buyers = await Promise.all(Array.from({ length: racedTickets }, () => funded()))
    const bought = await Promise.all(buyers.map((buyer) => server.run(buyTicket(buyer, soon))))
    const races = await server.run(Effect.all(bought.map(({ order, ticket }, index) => Effect.all([
      Effect.either(gate.client.checkin.scan({ payload: { qr: ticket.qr, presentedHolder: buyers[index]!.phone } })),
      Effect.either(cancelOrder(buyers[index]!, order.orderId))
    ], { concurrency: "unbounded" })), { concurrency: "unbounded" }))
    for (const [index, [scan, cancel]] of races.entries()) {
      assert.ok(Either.isRight(scan) !== Either.isRight(cancel), `ticket ${index}: admitted ${Either.isRight(scan)}, refunded ${Either.isRight(cancel)}`)
      if (Either.isLeft(scan)) assert.equal(scan.left._tag, "TicketNotValidHere")
      if (Either.isLeft(cancel)) assert.equal(cancel.left._tag, "OrderNotCancellable")
      const orderId = bought[index]!.order.orderId
      assert.equal(await server.run(refundTransfersOf(orderId)), Either.isRight(cancel) ? 1 : 0)
      const [row] = await server.run(storeQuery<{ admitted: number; voided: number }>(
        `SELECT CASE WHEN admitted_at_ms IS NULL THEN 0 ELSE 1 END AS admitted, CASE WHEN voided_at_ms IS NULL THEN 0 ELSE 1 END AS voided
         FROM tickets WHERE order_id = ?`, orderId))
      assert.deepEqual([Number(row?.admitted), Number(row?.voided)], Either.isRight(scan) ? [1, 0] : [0, 1])
    }
    await assertLedgerConsistent(server)
  })

  test(`cancel racing a payment, ${racedTickets} holds: either cancelled unpaid or paid then refunded once`, async () => {
    const buyers = await Promise.all(Array.from({ length: racedTickets }, () => funded()))
    const holds = await Promise.all(buyers.map((buyer) => server.run(holdOn(buyer, soon))))
    const races = await server.run(Effect.all(holds.map((held, index) => Effect.all([
      Effect.either(payFor(buyers[index]!, held.orderId)),
      Effect.either(cancelOrder(buyers[index]!, held.orderId))
    ], { concurrency: "unbounded" })), { concurrency: "unbounded" }))
    for (const [index, [payment, cancel]] of races.entries()) {
      const orderId = holds[index]!.orderId
      assert.ok(Either.isRight(cancel), `order ${index}: the cancel was refused (${Either.isLeft(cancel) && cancel.left._tag})`)
      const state = (await server.run(buyers[index]!.client.orders.getOrder({ path: { orderId } }))).state
      if (Either.isRight(payment)) {
        assert.equal(cancel.right.state, "refunded")
        assert.equal(state, "refunded")
        assert.equal(await server.run(refundTransfersOf(orderId)), 1)
        assert.equal(await server.run(walletOf(buyers[index]!)), defaultTopUpFen - cancel.right.feeFen)
      } else {
        assert.equal(payment.left._tag, "OrderNotPayable")
        assert.equal(cancel.right.state, "cancelled")
        assert.equal(state, "cancelled")
        assert.equal(await server.run(walletOf(buyers[index]!)), defaultTopUpFen)
      }
    }
    await assertLedgerConsistent(server)
  })

  test("a payment that debited a clearing account (card or gateway) is refunded to that account, not the wallet", async () => {
    const buyer = await funded()
    const { order } = await server.run(buyTicket(buyer, soon))
    // as a card payment is recorded (Payments.ts): the same transfer, debiting the bank's clearing account
    await server.run(Effect.all([
      storeQuery(`UPDATE transfers SET debit_account_id = 'bank-clearing' WHERE order_id = ? AND purpose = 'order-payment'`, order.orderId),
      storeQuery(`UPDATE accounts SET balance_fen = balance_fen + ? WHERE id = ?`, order.priceFen, `W${buyer.customerId}`),
      storeQuery(`UPDATE accounts SET balance_fen = balance_fen - ? WHERE id = 'bank-clearing'`, order.priceFen)
    ], { discard: true }))
    const clearingBefore = Number((await server.run(storeQuery<{ b: number }>(`SELECT balance_fen AS b FROM account_balances WHERE id = 'bank-clearing'`)))[0]?.b)
    const refunded = await server.run(cancelOrder(buyer, order.orderId))
    const [reversal] = await server.run(storeQuery<Record<string, string>>(
      `SELECT debit_account_id AS debit, credit_account_id AS credit FROM transfers WHERE id = ?`, refunded.refundTransferIds[0]!))
    assert.deepEqual(reversal, { debit: "centre", credit: "bank-clearing" })
    const clearingAfter = Number((await server.run(storeQuery<{ b: number }>(`SELECT balance_fen AS b FROM account_balances WHERE id = 'bank-clearing'`)))[0]?.b)
    assert.equal(clearingAfter, clearingBefore + refunded.refundFen)
    assert.equal(await server.run(walletOf(buyer)), defaultTopUpFen)
    await assertLedgerConsistent(server)
  })

  test("a paid order refunded before its ticket was issued: the outbox sweeper issues nothing", async () => {
    const buyer = await funded()
    const { order } = await server.run(buyTicket(buyer, soon))
    // as if the server died between the payment's commit and the issue: paid, outbox row pending, no ticket
    const ofOrder = `(SELECT id FROM tickets WHERE order_id = ?)`
    await server.run(Effect.all([
      // the ticket's delivery rows first (they reference it): none of them would exist yet
      storeQuery(`DELETE FROM delivery_jobs WHERE ticket_id IN ${ofOrder}`, order.orderId),
      storeQuery(`DELETE FROM ticket_places WHERE ticket_id IN ${ofOrder}`, order.orderId),
      storeQuery(`DELETE FROM ticket_vouchers WHERE ticket_id IN ${ofOrder}`, order.orderId),
      storeQuery(`DELETE FROM tickets WHERE order_id = ?`, order.orderId),
      storeQuery(`UPDATE orders SET state = 'paid', issued_at_ms = NULL WHERE id = ?`, order.orderId),
      storeQuery(`UPDATE outbox SET processed_at_ms = NULL WHERE order_id = ?`, order.orderId)
    ], { discard: true }))
    const refunded = await server.run(cancelOrder(buyer, order.orderId))
    assert.equal(refunded.state, "refunded")
    assert.equal(refunded.ticketVoided, false)
    await server.run(Effect.flatMap(Issuance, (issuance) => issuance.issueForOrder(order.orderId)))
    const [row] = await server.run(storeQuery<{ tickets: number; pending: number }>(`SELECT
      (SELECT COUNT(*) FROM tickets WHERE order_id = ?) AS tickets,
      (SELECT COUNT(*) FROM outbox WHERE order_id = ? AND processed_at_ms IS NULL) AS pending`, order.orderId, order.orderId))
    assert.deepEqual([Number(row?.tickets), Number(row?.pending)], [0, 0])
    assert.equal((await server.run(buyer.client.orders.getOrder({ path: { orderId: order.orderId } }))).state, "refunded")
  })
})

describe("change of train or date (改签)", () => {
  let server: TestServer
  let gate: TestGate
  let trainNumber = 0
  const nextTrain = () => `D${++trainNumber}`
  /** SHH → NJH → BJP departing in about half an hour, `seatCount` seats */
  const threeStopRun = (seatCount: number, aheadMs = 30 * 60_000) =>
    server.run(createRunDepartingIn(server.baseUrl, aheadMs, { trainCode: nextTrain(), stations: ["SHH", "NJH", "BJP"], seatCount, fareFenPerSegment }))

  before(async () => {
    server = await startTestServer()
    gate = await server.run(newGate(server.baseUrl, "shh-change-1", "SHH"))
  })
  after(() => server.close())

  const funded = (topUpFen?: number) => server.run(fundedCustomer(server.baseUrl, topUpFen))
  const stateOf = async (customer: TestCustomer, orderId: OrderId) =>
    (await server.run(customer.client.orders.getOrder({ path: { orderId } }))).state
  const scanAtGate = (customer: TestCustomer, qr: string) =>
    server.run(Effect.either(gate.client.checkin.scan({ payload: { qr, presentedHolder: customer.phone } })))

  test("to a cheaper segment of a one-seat run: same seat, the difference reversed less the fee, old ticket void, new one admits", async () => {
    const run = await threeStopRun(1)
    const buyer = await funded()
    const { order, ticket } = await server.run(buyTicket(buyer, run))
    const changed = await server.run(changeOrder(buyer, order.orderId, run, { to: "NJH" as StationCode, key: freshKey("change") }))
    assert.equal(changed.oldOrderId, order.orderId)
    assert.equal(changed.fareDifferenceFen, -fareFenPerSegment)
    // departing in half an hour: the 20 % tier on the 276.50 yuan returned, 55.30 yuan rounded to 55.50
    const feeFen = 5_550
    assert.deepEqual([changed.chargedFen, changed.feeFen, changed.refundedFen, changed.transferIds.length], [0, feeFen, fareFenPerSegment - feeFen, 1])
    assert.equal(changed.newOrder.state, "issued")
    assert.equal(changed.newOrder.seatCode, order.seatCode)
    assert.deepEqual([changed.newOrder.fromStation, changed.newOrder.toStation, changed.newOrder.priceFen], ["SHH", "NJH", fareFenPerSegment])
    assert.notEqual(changed.newOrder.ticketId, null)
    assert.equal(await stateOf(buyer, order.orderId), "changed")
    assert.equal(await server.run(walletOf(buyer)), defaultTopUpFen - fareFenPerSegment - feeFen)

    const oldScan = await scanAtGate(buyer, ticket.qr)
    assert.ok(Either.isLeft(oldScan) && oldScan.left._tag === "TicketNotValidHere", "the old ticket still admits")
    const newTicket = await server.run(buyer.client.issuance.getTicket({ path: { orderId: changed.newOrder.orderId } }))
    assert.ok(Either.isRight(await scanAtGate(buyer, newTicket.qr)), "the new ticket does not admit")

    const [reversal] = await server.run(storeQuery<Record<string, string | number>>(
      `SELECT r.purpose, r.order_id, r.credit_account_id AS credit, p.order_id AS paid_order FROM transfers r
       JOIN transfers p ON p.id = r.reverses_transfer_id WHERE r.id = ?`, changed.transferIds[0]!))
    assert.deepEqual(reversal, { purpose: "change-refund", order_id: changed.newOrder.orderId, credit: `W${buyer.customerId}`, paid_order: order.orderId })
    const oldEvents = await server.run(buyer.client.lifecycle.orderEvents({ path: { orderId: order.orderId } }))
    const newEvents = await server.run(buyer.client.lifecycle.orderEvents({ path: { orderId: changed.newOrder.orderId } }))
    assert.deepEqual(oldEvents.map((event) => [event.kind, event.relatedOrderId, event.priceFen, event.feeFen, event.refundFen]),
      [["changed", changed.newOrder.orderId, 2 * fareFenPerSegment, feeFen, fareFenPerSegment - feeFen]])
    assert.deepEqual(newEvents.map((event) => [event.kind, event.relatedOrderId, event.priceFen]), [["changed-in", order.orderId, fareFenPerSegment]])
    const [link] = await server.run(storeQuery<{ changed_from_order_id: string; change_count: number }>(
      `SELECT changed_from_order_id, change_count FROM orders WHERE id = ?`, changed.newOrder.orderId))
    assert.deepEqual([link?.changed_from_order_id, Number(link?.change_count)], [order.orderId, 1])
    await assertLedgerConsistent(server)
  })

  test("a change to a 1-yuan train then a cancel returns no more than cancelling at once: the change's refund pays the fee tier", async () => {
    const dear = await threeStopRun(4)
    const oneYuan = await server.run(createRunDepartingIn(server.baseUrl, 30 * 60_000, {
      trainCode: nextTrain(), stations: ["SHH", "NJH"], seatCount: 4, fareFenPerSegment: 100
    }))
    const buyer = await funded()
    const { order } = await server.run(buyTicket(buyer, dear))
    const priceFen = 2 * fareFenPerSegment // 553 yuan
    const departureInMs = departureEpochMs(dear.serviceDate, dear.firstDepartureMinuteOfDay, server.settings.utcOffsetMinutes) - Date.now()
    const cancelAtOnceRefundFen = priceFen - refundFeeFen(server.settings, FenTotal.make(priceFen), departureInMs)!

    const changed = await server.run(changeOrder(buyer, order.orderId, oneYuan))
    const returnedFen = priceFen - 100
    const feeFen = refundFeeFen(server.settings, FenTotal.make(returnedFen), departureInMs)!
    assert.ok(feeFen > 0, "the 20 % tier charges a fee")
    assert.deepEqual([changed.fareDifferenceFen, changed.feeFen, changed.refundedFen], [-returnedFen, feeFen, returnedFen - feeFen])
    assert.equal(await server.run(walletOf(buyer)), defaultTopUpFen - priceFen + returnedFen - feeFen)
    await assertLedgerConsistent(server)

    const cancelled = await server.run(cancelOrder(buyer, changed.newOrder.orderId))
    const backFen = changed.refundedFen + cancelled.refundFen
    assert.ok(backFen <= cancelAtOnceRefundFen, `a change then a cancel returned ${backFen} fen, cancelling at once returns ${cancelAtOnceRefundFen}`)
    assert.equal(await server.run(walletOf(buyer)), defaultTopUpFen - priceFen + backFen)
    await assertLedgerConsistent(server)
  })

  test("a change stays within trains: a train ticket is not changed onto an event or a showing, nor a showing's ticket at all", async () => {
    const train = await threeStopRun(4)
    const buyer = await funded()
    const { order } = await server.run(buyTicket(buyer, train))
    // an event whose zone has the train's class and a fare below it: the change would find a place, and a refund
    const start = startingIn(Date.now(), 120)
    const event = await server.run(Effect.flatMap(adminClient(server.baseUrl), (admin) => admin.venues.createEvent({ payload: {
      eventCode: "E0701" as TrainCode, venue: { code: "CKE" as StationCode, name: "Stadium CKE" }, title: "Spring Gala",
      serviceDate: start.serviceDate, startMinuteOfDay: start.startMinuteOfDay, durationMinutes: 180,
      zones: [{ zone: 1, name: "Floor", seatClass: "second", fareFen: 100 as Fen, standingCapacity: 10 }]
    } })))
    await server.run(createTestCinema(server.baseUrl, "CKC"))
    const showing = await server.run(createTestShowing(server.baseUrl, "CKC", "F0701", 120))
    const otherShowing = await server.run(createTestShowing(server.baseUrl, "CKC", "F0702", 180))
    const walletBefore = await server.run(walletOf(buyer))
    for (const [runId, venue] of [[event.runId, "CKE"], [showing.runId, "CKC"]] as const) {
      const refused = await rawRequest(server.baseUrl, "POST", `/orders/${order.orderId}/change`, {
        headers: { ...bearer(buyer.token), "idempotency-key": freshKey("change") },
        body: { runId, fromStation: venue, toStation: venue, paymentPassword: buyer.paymentPassword }
      })
      assert.equal(refused.status, 409, refused.text)
      assert.equal(tagOf(refused.json), "OrderNotChangeable")
    }
    assert.equal(await stateOf(buyer, order.orderId), "issued")
    assert.equal(await server.run(walletOf(buyer)), walletBefore)
    const [taken] = await server.run(storeQuery<{ n: number }>(
      "SELECT COUNT(*) AS n FROM seats WHERE run_id IN (?, ?) AND occupied_mask <> 0", event.runId, showing.runId))
    assert.equal(Number(taken?.n), 0, "a venue's seat was taken by a refused change")

    const moviegoer = await funded()
    const cinemaTicket = await server.run(buyVenueTicket(moviegoer, venueHold(showing.runId, "CKC")))
    const refused = await server.run(Effect.flip(moviegoer.client.lifecycle.change({
      path: { orderId: cinemaTicket.order.orderId }, headers: { "idempotency-key": freshKey("change") },
      payload: { runId: otherShowing.runId, fromStation: "CKC" as StationCode, toStation: "CKC" as StationCode, paymentPassword: moviegoer.paymentPassword }
    })))
    assert.equal(refused._tag, "OrderNotChangeable")
    assert.equal(await stateOf(moviegoer, cinemaTicket.order.orderId), "issued")
    await assertLedgerConsistent(server)
  })

  test("to a dearer train: the payment password is required, the difference charged; a second change is refused", async () => {
    const cheap = await threeStopRun(4)
    const dear = await threeStopRun(4, 3 * dayMs)
    const buyer = await funded()
    const { order } = await server.run(buyTicket(buyer, cheap, "SHH" as StationCode, "NJH" as StationCode))

    const noPassword = await rawRequest(server.baseUrl, "POST", `/orders/${order.orderId}/change`, {
      headers: { ...bearer(buyer.token), "idempotency-key": freshKey("change") },
      body: { runId: dear.runId, fromStation: "SHH", toStation: "BJP" }
    })
    assert.equal(noPassword.status, 422)
    assert.deepEqual(noPassword.json, { _tag: "PaymentPasswordRequired", fareDifferenceFen: fareFenPerSegment })
    const wrong = await server.run(Effect.flip(changeOrder(buyer, order.orderId, dear, { password: "000000" })))
    assert.equal(wrong._tag, "PaymentPasswordWrong")
    assert.equal(await stateOf(buyer, order.orderId), "issued")

    const changed = await server.run(changeOrder(buyer, order.orderId, dear, { password: buyer.paymentPassword }))
    assert.deepEqual([changed.fareDifferenceFen, changed.chargedFen, changed.refundedFen], [fareFenPerSegment, fareFenPerSegment, 0])
    assert.equal(await server.run(walletOf(buyer)), defaultTopUpFen - 2 * fareFenPerSegment)
    const [charge] = await server.run(storeQuery<Record<string, string>>(`SELECT purpose, order_id, debit_account_id AS debit FROM transfers WHERE id = ?`, changed.transferIds[0]!))
    assert.deepEqual(charge, { purpose: "change-payment", order_id: changed.newOrder.orderId, debit: `W${buyer.customerId}` })

    const again = await rawRequest(server.baseUrl, "POST", `/orders/${changed.newOrder.orderId}/change`, {
      headers: { ...bearer(buyer.token), "idempotency-key": freshKey("change") },
      body: { runId: cheap.runId, fromStation: "SHH", toStation: "NJH" }
    })
    assert.equal(again.status, 409)
    assert.deepEqual(again.json, { _tag: "ChangeLimitReached", orderId: changed.newOrder.orderId, changes: 1, maxChanges: 1 })

    // cancelling the changed-into order refunds its price less the 5 % fee, newest payment first
    const refunded = await server.run(cancelOrder(buyer, changed.newOrder.orderId))
    assert.equal(refunded.feeFen, 2_750)
    assert.equal(refunded.refundTransferIds.length, 2)
    const reversed = await server.run(storeQuery<{ purpose: string; amount: number }>(
      `SELECT p.purpose, r.amount_fen AS amount FROM transfers r JOIN transfers p ON p.id = r.reverses_transfer_id
       WHERE r.order_id = ? AND r.purpose = 'order-refund' ORDER BY p.purpose`, changed.newOrder.orderId))
    assert.deepEqual(reversed.map((row) => [row.purpose, Number(row.amount)]),
      [["change-payment", fareFenPerSegment], ["order-payment", fareFenPerSegment - 2_750]])
    assert.equal(await server.run(walletOf(buyer)), defaultTopUpFen - 2_750)
    const statement = await server.run(buyer.client.lifecycle.walletStatement())
    assert.equal(statement.entries.filter((entry) => entry.feeFen !== null).length, 1, "the fee is shown once")
    await assertLedgerConsistent(server)
  })

  test("refused changes change nothing: insufficient funds, sold out, a held order, a departed train", async () => {
    const cheap = await threeStopRun(4)
    const full = await threeStopRun(1)
    const dear = await threeStopRun(4, 2 * dayMs)
    const departed = await threeStopRun(4, -10 * 60_000)
    const poor = await funded(fareFenPerSegment)
    const { order, ticket } = await server.run(buyTicket(poor, cheap, "SHH" as StationCode, "NJH" as StationCode))
    const occupant = await funded()
    await server.run(buyTicket(occupant, full))

    const broke = await server.run(Effect.flip(changeOrder(poor, order.orderId, dear, { password: poor.paymentPassword })))
    assert.equal(broke._tag, "InsufficientFunds")
    const soldOut = await server.run(Effect.flip(changeOrder(poor, order.orderId, full, { to: "NJH" as StationCode })))
    assert.equal(soldOut._tag, "SoldOut")
    const gone = await server.run(Effect.flip(changeOrder(poor, order.orderId, departed, { to: "NJH" as StationCode })))
    assert.equal(gone._tag, "SalesClosed")
    const held = await server.run(holdOn(occupant, cheap))
    const notIssued = await server.run(Effect.flip(changeOrder(occupant, held.orderId, cheap)))
    assert.equal(notIssued._tag, "OrderNotChangeable")
    const foreign = await server.run(Effect.flip(changeOrder(occupant, order.orderId, cheap, { to: "NJH" as StationCode })))
    assert.equal(foreign._tag, "OrderNotFound")

    assert.equal(await stateOf(poor, order.orderId), "issued")
    assert.equal(await server.run(walletOf(poor)), 0)
    const [row] = await server.run(storeQuery<{ orders: number; voided: number | null }>(`SELECT
      (SELECT COUNT(*) FROM orders WHERE customer_id = ?) AS orders,
      (SELECT voided_at_ms FROM tickets WHERE id = ?) AS voided`, poor.customerId, ticket.ticketId))
    assert.deepEqual([Number(row?.orders), row?.voided], [1, null])
    assert.ok(Either.isRight(await scanAtGate(poor, ticket.qr)), "the unchanged ticket still admits")
    await assertLedgerConsistent(server)
  })

  test("a change replayed with its key answers the same and creates one new order; an admitted ticket is not changed", async () => {
    const run = await threeStopRun(4)
    const buyer = await funded()
    const { order, ticket } = await server.run(buyTicket(buyer, run))
    const key = freshKey("change-replay")
    const answers = await server.run(Effect.all(Array.from({ length: 4 }, () =>
      changeOrder(buyer, order.orderId, run, { to: "NJH" as StationCode, key })), { concurrency: "unbounded" }))
    for (const answer of answers) assert.deepEqual(answer, answers[0])
    const [count] = await server.run(storeQuery<{ n: number }>(`SELECT COUNT(*) AS n FROM orders WHERE changed_from_order_id = ?`, order.orderId))
    assert.equal(Number(count?.n), 1)
    assert.ok(Either.isLeft(await scanAtGate(buyer, ticket.qr)))

    const other = await funded()
    const bought = await server.run(buyTicket(other, run, "SHH" as StationCode, "NJH" as StationCode))
    assert.ok(Either.isRight(await scanAtGate(other, bought.ticket.qr)))
    const used = await server.run(Effect.flip(changeOrder(other, bought.order.orderId, run, { to: "NJH" as StationCode })))
    assert.equal(used._tag, "OrderNotChangeable")
  })

  test(`change racing cancel of one order, ${racedTickets} times: exactly one of them wins`, async () => {
    const run = await threeStopRun(3 * racedTickets)
    const buyers = await Promise.all(Array.from({ length: racedTickets }, () => funded()))
    const bought = await Promise.all(buyers.map((buyer) => server.run(buyTicket(buyer, run, "SHH" as StationCode, "BJP" as StationCode))))
    const races = await server.run(Effect.all(bought.map(({ order }, index) => Effect.all([
      Effect.either(changeOrder(buyers[index]!, order.orderId, run, { to: "NJH" as StationCode })),
      Effect.either(cancelOrder(buyers[index]!, order.orderId))
    ], { concurrency: "unbounded" })), { concurrency: "unbounded" }))
    for (const [index, [change, cancel]] of races.entries()) {
      const orderId = bought[index]!.order.orderId
      const state = await stateOf(buyers[index]!, orderId)
      if (Either.isRight(change)) {
        assert.equal(state, "changed")
        assert.ok(Either.isLeft(cancel) && cancel.left._tag === "OrderNotCancellable", `order ${index}: changed and cancelled`)
      } else {
        assert.equal(change.left._tag, "OrderNotChangeable")
        assert.ok(Either.isRight(cancel))
        assert.equal(state, "refunded")
      }
    }
    await assertLedgerConsistent(server)
  })
})

describe("wallet statement", () => {
  test("shows the newest `maxStatementEntries` entries, signed, newest first", async () => {
    await withTestServer({ maxStatementEntries: 2 }, async (server) => {
      const buyer = await server.run(fundedCustomer(server.baseUrl, 30_000))
      const run = await server.run(createRun(server.baseUrl, { trainCode: "G5", stations: ["SHH", "NJH"], seatCount: 2, fareFenPerSegment: 10_000 }))
      const { order } = await server.run(buyTicket(buyer, run))
      await server.run(cancelOrder(buyer, order.orderId))
      const statement = await server.run(buyer.client.lifecycle.walletStatement())
      assert.deepEqual(statement.entries.map((entry) => [entry.purpose, entry.amountFen, entry.feeFen, entry.orderId]), [
        ["order-refund", 8_000, 2_000, order.orderId], ["order-payment", -10_000, null, order.orderId]
      ])
      assert.equal(statement.balanceFen, 28_000)
    })
  })
})
