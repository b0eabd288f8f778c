/**
 * Cancel, refund and change over real HTTP: the fee schedule by time before departure, the seat and the
 * ticket given back, the refund as a reversal of the payment, the records kept, the wallet statement, and
 * the races (two cancels, cancel against payment, cancel against a gate scan, change against cancel).
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect, Either } from "effect"
import { Issuance } from "./Issuance.js"
import type { StationCode } from "./Domain.js"
import {
  assertLedgerConsistent, buyTicket, cancelOrder, changeOrder, createRunDepartingIn, freshKey, fundedCustomer, holdOn, payFor,
  refundTransfersOf, walletOf, defaultTopUpFen
} from "./testing/Lifecycle.js"
import {
  adminClient, bearer, createRun, newCustomer, newGate, rawRequest, startTestServer, storeQuery, tagOf
} from "./testing/TestServer.js"
import type { TestCustomer, TestGate, TestRun, TestServer } from "./testing/TestServer.js"

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
      const centreBefore = Number((await server.run(storeQuery<{ b: number }>(`SELECT balance_fen AS b FROM accounts WHERE id = 'centre'`)))[0]?.b)

      const refunded = await server.run(cancelOrder(buyer, order.orderId))
      assert.equal(refunded.state, "refunded")
      assert.equal(refunded.feeFen, feeFen)
      assert.equal(refunded.refundFen, priceFen - feeFen)
      assert.equal(refunded.ticketVoided, true)
      assert.equal(refunded.refundTransferIds.length, feeFen === priceFen ? 0 : 1)
      assert.equal(await server.run(walletOf(buyer)), defaultTopUpFen - feeFen)
      const centreAfter = Number((await server.run(storeQuery<{ b: number }>(`SELECT balance_fen AS b FROM accounts WHERE id = 'centre'`)))[0]?.b)
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

  test("no refund after departure (409)", async () => {
    const departed = await server.run(createRunDepartingIn(server.baseUrl, -10 * 60_000, {
      trainCode: nextTrain(), stations: ["SHH", "WXH"], seatCount: 2, fareFenPerSegment
    }))
    const buyer = await funded()
    const { order } = await server.run(buyTicket(buyer, departed))
    const refused = await server.run(Effect.flip(cancelOrder(buyer, order.orderId)))
    assert.equal(refused._tag, "OrderNotCancellable")
    assert.match(refused._tag === "OrderNotCancellable" ? refused.reason : "", /departure/)
    assert.equal(await server.run(refundTransfersOf(order.orderId)), 0)
  })

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

  test("a paid order refunded before its ticket was issued: the outbox sweeper issues nothing", async () => {
    const buyer = await funded()
    const { order } = await server.run(buyTicket(buyer, soon))
    // as if the server died between the payment's commit and the issue: paid, outbox row pending, no ticket
    await server.run(Effect.all([
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
