/**
 * Third-party gateway payments over real HTTP (seed 004): a reservation and a charge, settled by a signed
 * notification that may come on time, twice, late or never (then by the reconciler's poll); forged and
 * stale notifications are refused; a success that arrives after the reservation or the hold is gone is
 * issued while the seat is still the order's, and refunded once it is not.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import type { OrderId, StationCode } from "../../Domain.js"
import type { ChargeId, GatewayNotification } from "./GatewayNotification.js"
import { signNotification } from "./GatewayNotification.js"
import {
  assertLedgerConsistent, balanceOfAccount, gatewayChargeState, gatewayNotification, planGateway, transfersOf
} from "../../testing/Payments.js"
import {
  adminClient, bearer, createRun, newCustomer, rawRequest, startTestServer, storeQuery, tagOf, waitUntil
} from "../../testing/TestServer.js"
import type { TestCustomer, TestRun, TestServer } from "../../testing/TestServer.js"

const fareFenPerSegment = 9_000
const settleWaitMs = 8_000

const setUp = async (server: TestServer, trainCode: string) => {
  const run = await server.run(createRun(server.baseUrl, { trainCode, stations: ["SHH", "BJP"], seatCount: 40, fareFenPerSegment }))
  return run
}
const holdOf = (server: TestServer, buyer: TestCustomer, run: TestRun) =>
  server.run(buyer.client.orders.hold({ payload: { runId: run.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode } }))
const payByGateway = (server: TestServer, buyer: TestCustomer, orderId: OrderId, key: string) =>
  server.run(buyer.client.gateway.payByGateway({ path: { orderId }, headers: { "idempotency-key": key } }))
const postCallback = (server: TestServer, notification: GatewayNotification, signature: string) =>
  rawRequest(server.baseUrl, "POST", "/gateway/callbacks", { headers: { "x-gateway-signature": signature }, body: notification })
const chargeRow = async (server: TestServer, chargeId: ChargeId) => {
  const [row] = await server.run(storeQuery<{ state: string; callbacks_received: number; reservation: string }>(
    `SELECT c.state, c.callbacks_received, p.state AS reservation FROM gateway_charges c
     JOIN pending_transfers p ON p.id = c.pending_transfer_id WHERE c.id = ?`, chargeId))
  return row ? { state: row.state, callbacks: Number(row.callbacks_received), reservation: row.reservation } : undefined
}
const chargeAmountFen = async (server: TestServer, chargeId: ChargeId) =>
  Number((await server.run(storeQuery<{ amount_fen: number }>(`SELECT amount_fen FROM gateway_charges WHERE id = ?`, chargeId)))[0]?.amount_fen)
const orderState = async (server: TestServer, buyer: TestCustomer, orderId: OrderId) =>
  (await server.run(buyer.client.orders.getOrder({ path: { orderId } }))).state
const until = async (check: () => Promise<boolean>, what: string) => assert.ok(await waitUntil(check, settleWaitMs), what)

describe("gateway payments (callbacks delivered, reconciler polling)", () => {
  let server: TestServer
  let run: TestRun
  before(async () => {
    server = await startTestServer({
      simulatedGatewayCallbackIntervalMs: 30, gatewayReconcileAfterMs: 400, gatewayReconcileIntervalMs: 100,
      gatewayPaymentTimeoutMs: 1_000, pendingTransferSweepIntervalMs: 100, simulatedGatewayLateCallbackDelayMs: 2_500
    })
    run = await setUp(server, "G800")
  })
  after(() => server.close())

  test("a paid charge's notification captures once: order issued, gateway clearing → centre posted", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await holdOf(server, buyer, run)
    await planGateway(server, { outcome: "succeed", callback: "on-time" })
    const centreBefore = await balanceOfAccount(server, "centre")
    const charge = await payByGateway(server, buyer, order.orderId, "gw-pay-0001")
    assert.equal(charge.amountFen, fareFenPerSegment)
    // a replay is the same charge; the same key for another order is 409
    assert.deepEqual(await payByGateway(server, buyer, order.orderId, "gw-pay-0001"), charge)
    const other = await holdOf(server, buyer, run)
    const reused = await rawRequest(server.baseUrl, "POST", `/orders/${other.orderId}/gateway-payment`, {
      headers: { ...bearer(buyer.token), "idempotency-key": "gw-pay-0001" }
    })
    assert.equal(reused.status, 409)
    assert.equal(tagOf(reused.json), "IdempotencyKeyReused")

    await until(async () => (await orderState(server, buyer, order.orderId)) === "issued", "the order is issued")
    assert.deepEqual(await chargeRow(server, charge.chargeId), { state: "captured", callbacks: 1, reservation: "posted" })
    assert.deepEqual(await transfersOf(server, order.orderId), { "order-payment": 1 })
    assert.equal(await balanceOfAccount(server, "centre"), centreBefore + fareFenPerSegment)
    const ticket = await server.run(buyer.client.issuance.getTicket({ path: { orderId: order.orderId } }))
    assert.equal(ticket.orderId, order.orderId)
    await assertLedgerConsistent(server)
  })

  test("a failed payment's notification voids the reservation; the order stays held and can pay again", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await holdOf(server, buyer, run)
    await planGateway(server, { outcome: "fail", callback: "on-time" })
    const failed = await payByGateway(server, buyer, order.orderId, "gw-pay-0002")
    await until(async () => (await chargeRow(server, failed.chargeId))?.state === "failed", "the charge failed")
    assert.deepEqual(await chargeRow(server, failed.chargeId), { state: "failed", callbacks: 1, reservation: "voided" })
    assert.equal(await orderState(server, buyer, order.orderId), "held")
    assert.deepEqual(await transfersOf(server, order.orderId), {})
    await assertLedgerConsistent(server)

    await planGateway(server, { outcome: "succeed", callback: "on-time" })
    await payByGateway(server, buyer, order.orderId, "gw-pay-0003")
    await until(async () => (await orderState(server, buyer, order.orderId)) === "issued", "the second attempt issues")
  })

  test("a reservation in flight refuses a second payment of the order: PaymentInProgress (409)", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await holdOf(server, buyer, run)
    // planned over HTTP, as a simulator whose server runs in another process does; only the admin may
    const notAdmin = await rawRequest(server.baseUrl, "POST", "/admin/gateway/plans", { body: { outcome: "succeed", callback: "on-time" } })
    assert.equal(notAdmin.status, 403)
    await server.run(Effect.flatMap(adminClient(server.baseUrl), (admin) =>
      admin.paymentsAdmin.planGatewayCharge({ payload: { outcome: "abandon", callback: "never" } })))
    const charge = await payByGateway(server, buyer, order.orderId, "gw-pay-0004")
    assert.equal((await gatewayChargeState(server, charge.chargeId))?.status, "pending")
    const second = await rawRequest(server.baseUrl, "POST", `/orders/${order.orderId}/gateway-payment`, {
      headers: { ...bearer(buyer.token), "idempotency-key": "gw-pay-0005" }
    })
    assert.equal(second.status, 409)
    assert.equal(tagOf(second.json), "PaymentInProgress")
  })

  test("a notification sent twice, and replayed over HTTP, changes nothing after the first", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await holdOf(server, buyer, run)
    await planGateway(server, { outcome: "succeed", callback: "twice" })
    const charge = await payByGateway(server, buyer, order.orderId, "gw-pay-0006")
    await until(async () => (await chargeRow(server, charge.chargeId))?.callbacks === 2, "both notifications arrived")
    await until(async () => (await orderState(server, buyer, order.orderId)) === "issued", "the order is issued")
    const centre = await balanceOfAccount(server, "centre")

    const signed = await gatewayNotification(server, charge.chargeId)
    const replay = await postCallback(server, signed.notification, signed.signature)
    assert.equal(replay.status, 200)
    assert.deepEqual(replay.json, { chargeId: charge.chargeId, chargeState: "captured", orderState: "issued", duplicate: true })
    assert.deepEqual(await transfersOf(server, order.orderId), { "order-payment": 1 })
    assert.equal(await balanceOfAccount(server, "centre"), centre)
    await assertLedgerConsistent(server)
  })

  test("a lost notification: the reconciler polls the gateway and captures", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await holdOf(server, buyer, run)
    await planGateway(server, { outcome: "succeed", callback: "never" })
    const charge = await payByGateway(server, buyer, order.orderId, "gw-pay-0007")
    assert.equal((await chargeRow(server, charge.chargeId))?.state, "pending")
    await until(async () => (await orderState(server, buyer, order.orderId)) === "issued", "the reconciler settles the charge")
    assert.deepEqual(await chargeRow(server, charge.chargeId), { state: "captured", callbacks: 0, reservation: "posted" })
    assert.deepEqual(await transfersOf(server, order.orderId), { "order-payment": 1 })
    await assertLedgerConsistent(server)
  })

  test("a late notification after the reconciler settled the charge is a duplicate", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await holdOf(server, buyer, run)
    await planGateway(server, { outcome: "succeed", callback: "late" })
    const charge = await payByGateway(server, buyer, order.orderId, "gw-pay-0010")
    await until(async () => (await orderState(server, buyer, order.orderId)) === "issued", "the reconciler settles the charge")
    assert.equal((await chargeRow(server, charge.chargeId))?.callbacks, 0)
    await until(async () => (await chargeRow(server, charge.chargeId))?.callbacks === 1, "the late notification arrives")
    assert.deepEqual(await chargeRow(server, charge.chargeId), { state: "captured", callbacks: 1, reservation: "posted" })
    assert.deepEqual(await transfersOf(server, order.orderId), { "order-payment": 1 })
    await assertLedgerConsistent(server)
  })

  test("an abandoned charge: after the timeout the reconciler cancels it at the gateway and the reservation is voided", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await holdOf(server, buyer, run)
    await planGateway(server, { outcome: "abandon", callback: "never" })
    const charge = await payByGateway(server, buyer, order.orderId, "gw-pay-0008")
    await until(async () => (await chargeRow(server, charge.chargeId))?.state === "failed", "the charge is cancelled")
    assert.equal((await chargeRow(server, charge.chargeId))?.reservation, "voided")
    assert.equal((await gatewayChargeState(server, charge.chargeId))?.status, "failed")
    assert.equal(await orderState(server, buyer, order.orderId), "held")
    assert.deepEqual(await transfersOf(server, order.orderId), {})
    await assertLedgerConsistent(server)
  })

  test("a correctly signed notification of a charge the gateway has not captured is refused, and nothing is issued", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await holdOf(server, buyer, run)
    // the payer never pays: the gateway's record stays pending
    await planGateway(server, { outcome: "abandon", callback: "never" })
    const charge = await payByGateway(server, buyer, order.orderId, "gw-pay-0010")
    const forged: GatewayNotification = {
      notificationId: `${charge.chargeId}-forged`, chargeId: charge.chargeId, status: "succeeded",
      amountFen: (await chargeAmountFen(server, charge.chargeId)), sentAtMs: Date.now()
    }
    // signed with the key itself: whoever holds it (a leak) cannot make the server believe a capture the gateway denies
    const answer = await postCallback(server, forged, signNotification(forged, server.settings.gatewayWebhookSecret))
    assert.equal(answer.status, 409, `a forged capture was accepted: ${JSON.stringify(answer.json)}`)
    assert.equal(tagOf(answer.json), "GatewayChargeUnconfirmed")
    assert.equal((await gatewayChargeState(server, charge.chargeId))?.status, "pending")
    assert.deepEqual(await chargeRow(server, charge.chargeId), { state: "pending", callbacks: 0, reservation: "pending" })
    assert.equal(await orderState(server, buyer, order.orderId), "held")
    const [tickets] = await server.run(storeQuery<{ count: number }>(`SELECT COUNT(*) AS count FROM tickets WHERE order_id = ?`, order.orderId))
    assert.equal(Number(tickets?.count), 0)
    assert.deepEqual(await transfersOf(server, order.orderId), {})
  })
})

describe("gateway successes that arrive late (no reconciler)", () => {
  const holdTtlMs = 4_000
  let server: TestServer
  let run: TestRun
  before(async () => {
    server = await startTestServer({
      holdTtlMs, holdSweepIntervalMs: 50, gatewayPaymentTimeoutMs: 200, pendingTransferSweepIntervalMs: 50,
      gatewayReconcileAfterMs: 3_600_000, simulatedGatewayCallbackIntervalMs: 30
    })
    run = await setUp(server, "G801")
  })
  after(() => server.close())

  test("after the reservation was voided, while the order still holds its seat: issued", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await holdOf(server, buyer, run)
    await planGateway(server, { outcome: "succeed", callback: "never" })
    const charge = await payByGateway(server, buyer, order.orderId, "gw-late-0001")
    await until(async () => (await chargeRow(server, charge.chargeId))?.reservation === "voided", "the reservation times out")
    assert.equal(await orderState(server, buyer, order.orderId), "held")

    const signed = await gatewayNotification(server, charge.chargeId)
    const answer = await postCallback(server, signed.notification, signed.signature)
    assert.equal(answer.status, 200)
    assert.deepEqual(answer.json, { chargeId: charge.chargeId, chargeState: "captured", orderState: "issued", duplicate: false })
    assert.deepEqual(await transfersOf(server, order.orderId), { "order-payment": 1 })
    await assertLedgerConsistent(server)
  })

  test("after the hold expired: refunded at the gateway, late capture and refund in the ledger, no ticket", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await holdOf(server, buyer, run)
    await planGateway(server, { outcome: "succeed", callback: "never" })
    const charge = await payByGateway(server, buyer, order.orderId, "gw-late-0002")
    await until(async () => (await orderState(server, buyer, order.orderId)) === "expired", "the hold expires")
    const centre = await balanceOfAccount(server, "centre")

    const signed = await gatewayNotification(server, charge.chargeId)
    const answer = await postCallback(server, signed.notification, signed.signature)
    assert.equal(answer.status, 200)
    assert.deepEqual(answer.json, { chargeId: charge.chargeId, chargeState: "refunded", orderState: "expired", duplicate: false })
    assert.equal((await gatewayChargeState(server, charge.chargeId))?.refunded, true)
    assert.deepEqual(await transfersOf(server, order.orderId), { "late-capture": 1, refund: 1 })
    assert.equal(await balanceOfAccount(server, "centre"), centre)
    const [tickets] = await server.run(storeQuery<{ count: number }>(`SELECT COUNT(*) AS count FROM tickets WHERE order_id = ?`, order.orderId))
    assert.equal(Number(tickets?.count), 0)
    // a second copy of the notification changes nothing
    const again = await gatewayNotification(server, charge.chargeId)
    const duplicate = await postCallback(server, again.notification, again.signature)
    assert.deepEqual(duplicate.json, { chargeId: charge.chargeId, chargeState: "refunded", orderState: "expired", duplicate: true })
    assert.deepEqual(await transfersOf(server, order.orderId), { "late-capture": 1, refund: 1 })
    await assertLedgerConsistent(server)
  })

  test("a hold the sweeper expired cannot be paid by gateway: OrderNotPayable (409), nothing reserved", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await holdOf(server, buyer, run)
    await until(async () => (await orderState(server, buyer, order.orderId)) === "expired", "the hold expires")
    const refused = await rawRequest(server.baseUrl, "POST", `/orders/${order.orderId}/gateway-payment`, {
      headers: { ...bearer(buyer.token), "idempotency-key": "gw-late-0003" }
    })
    assert.equal(refused.status, 409)
    assert.equal(tagOf(refused.json), "OrderNotPayable")
    const [reservations] = await server.run(storeQuery<{ count: number }>(`SELECT COUNT(*) AS count FROM pending_transfers WHERE order_id = ?`, order.orderId))
    assert.equal(Number(reservations?.count), 0)
  })
})

describe("gateway notifications alone (no reconciler, no payment timeout)", () => {
  // nothing but a notification may move a charge here: "changes nothing" is then not a race with the poller
  let server: TestServer
  let run: TestRun
  before(async () => {
    server = await startTestServer({
      gatewayReconcileAfterMs: 3_600_000, gatewayPaymentTimeoutMs: 3_600_000, simulatedGatewayCallbackIntervalMs: 30
    })
    run = await setUp(server, "G802")
  })
  after(() => server.close())

  test("forged, stale, misquoted and unknown notifications are refused with 4xx and change nothing", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await holdOf(server, buyer, run)
    await planGateway(server, { outcome: "succeed", callback: "never" })
    const charge = await payByGateway(server, buyer, order.orderId, "gw-pay-0009")
    const signed = await gatewayNotification(server, charge.chargeId)
    const secret = server.settings.gatewayWebhookSecret

    const forged = await postCallback(server, signed.notification, signNotification(signed.notification, "not-the-secret"))
    assert.equal(forged.status, 401)
    assert.equal(tagOf(forged.json), "GatewaySignatureInvalid")
    const tampered = { ...signed.notification, amountFen: 1 }
    const tamperedAnswer = await postCallback(server, tampered, signed.signature)
    assert.equal(tamperedAnswer.status, 401)
    const misquoted = { ...signed.notification, amountFen: 1 }
    const misquotedAnswer = await postCallback(server, misquoted, signNotification(misquoted, secret))
    assert.equal(misquotedAnswer.status, 422)
    assert.equal(tagOf(misquotedAnswer.json), "GatewayAmountMismatch")
    const stale = { ...signed.notification, sentAtMs: signed.notification.sentAtMs - server.settings.gatewayCallbackMaxAgeMs - 60_000 }
    const staleAnswer = await postCallback(server, stale, signNotification(stale, secret))
    assert.equal(staleAnswer.status, 400)
    assert.equal(tagOf(staleAnswer.json), "GatewayCallbackStale")
    const unknown = { ...signed.notification, chargeId: "G0000000000000000" as ChargeId }
    const unknownAnswer = await postCallback(server, unknown, signNotification(unknown, secret))
    assert.equal(unknownAnswer.status, 404)
    assert.equal(tagOf(unknownAnswer.json), "GatewayChargeNotFound")
    const noSignature = await rawRequest(server.baseUrl, "POST", "/gateway/callbacks", { body: signed.notification })
    assert.equal(noSignature.status, 400)

    assert.deepEqual(await chargeRow(server, charge.chargeId), { state: "pending", callbacks: 0, reservation: "pending" })
    assert.equal(await orderState(server, buyer, order.orderId), "held")
    // the genuine one still settles it
    const genuine = await postCallback(server, signed.notification, signed.signature)
    assert.equal(genuine.status, 200)
    assert.equal(tagOf(genuine.json), undefined)
    await until(async () => (await orderState(server, buyer, order.orderId)) === "issued", "the genuine notification issues")
  })
})
