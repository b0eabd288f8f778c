/**
 * The simulated gateway's conditions over real HTTP (what a scenario's gateway faults set): a brownout's
 * latency and declines, lost, duplicated and late notifications. Whatever the gateway does, the server ends
 * every charge the gateway took in one ticket or one refund: a lost notification is recovered by the
 * reconciler's poll, a duplicate changes nothing, a decline leaves the order held for another attempt.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import type { OrderId, StationCode } from "../../Domain.js"
import type { GatewayConditions } from "../../Simulated/Gateway.js"
import { normalGatewayConditions } from "../../Simulated/Gateway.js"
import { assertLedgerConsistent, gatewayChargeState, transfersOf } from "../../testing/Payments.js"
import { adminClient, createRun, newCustomer, rawRequest, startTestServer, storeQuery, tagOf, waitUntil } from "../../testing/TestServer.js"
import type { TestCustomer, TestRun, TestServer } from "../../testing/TestServer.js"

const settleWaitMs = 8_000

describe("simulated gateway conditions (brownout, lost and duplicated notifications)", () => {
  let server: TestServer
  let run: TestRun
  before(async () => {
    server = await startTestServer({
      simulatedGatewayCallbackIntervalMs: 30, gatewayReconcileAfterMs: 300, gatewayReconcileIntervalMs: 100,
      gatewayPaymentTimeoutMs: 5_000, pendingTransferSweepIntervalMs: 100
    })
    run = await server.run(createRun(server.baseUrl, { trainCode: "G810", stations: ["SHH", "BJP"], seatCount: 20, fareFenPerSegment: 7_000 }))
  })
  after(() => server.close())

  const setConditions = (conditions: Partial<GatewayConditions>) =>
    server.run(Effect.flatMap(adminClient(server.baseUrl), (admin) =>
      admin.paymentsAdmin.setGatewayConditions({ payload: { ...normalGatewayConditions, ...conditions } })))
  const gatewayState = () => server.run(Effect.flatMap(adminClient(server.baseUrl), (admin) => admin.paymentsAdmin.gatewayState()))
  const pay = async (buyer: TestCustomer, key: string) => {
    const order = await server.run(buyer.client.orders.hold({ payload: { runId: run.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode } }))
    const charge = await server.run(buyer.client.gateway.payByGateway({ path: { orderId: order.orderId }, headers: { "idempotency-key": key } }))
    return { order, charge }
  }
  const status = (buyer: TestCustomer, orderId: OrderId) => server.run(buyer.client.gateway.gatewayPaymentStatus({ path: { orderId } }))
  const callbacksOf = async (chargeId: string) =>
    Number((await server.run(storeQuery<{ callbacks_received: number }>(`SELECT callbacks_received FROM gateway_charges WHERE id = ?`, chargeId)))[0]?.callbacks_received)

  test("a brownout: the charge is pending for its extra latency, then a decline leaves the order held; the app sees it failed", async () => {
    const before = (await gatewayState()).counters
    const answer = await setConditions({ extraLatencyMs: 400, declineRate: 1 })
    assert.deepEqual(answer.conditions, { ...normalGatewayConditions, extraLatencyMs: 400, declineRate: 1 })
    const buyer = await server.run(newCustomer(server.baseUrl))
    const { order, charge } = await pay(buyer, "gwc-0001")
    assert.equal((await gatewayChargeState(server, charge.chargeId))?.status, "pending")
    assert.equal((await status(buyer, order.orderId)).chargeState, "pending")
    assert.ok(await waitUntil(async () => (await status(buyer, order.orderId)).chargeState === "failed", settleWaitMs), "the decline is settled")
    assert.equal((await status(buyer, order.orderId)).orderState, "held")
    const after = (await gatewayState()).counters
    assert.equal(after.declined - before.declined, 1)
    assert.deepEqual(await transfersOf(server, order.orderId), {})

    // conditions back to normal: the same order pays with a new charge, and the status shows the newest
    await setConditions({})
    const again = await server.run(buyer.client.gateway.payByGateway({ path: { orderId: order.orderId }, headers: { "idempotency-key": "gwc-0002" } }))
    assert.ok(await waitUntil(async () => (await status(buyer, order.orderId)).orderState === "issued", settleWaitMs), "the second charge issues")
    assert.equal((await status(buyer, order.orderId)).chargeId, again.chargeId)
    await assertLedgerConsistent(server)
  })

  test("a lost notification is recovered by the reconciler's poll: captured once, no callback received", async () => {
    await setConditions({ callbackLossRate: 1 })
    const before = (await gatewayState()).counters
    const buyer = await server.run(newCustomer(server.baseUrl))
    const { order, charge } = await pay(buyer, "gwc-0003")
    assert.ok(await waitUntil(async () => (await status(buyer, order.orderId)).orderState === "issued", settleWaitMs), "the poll issues the ticket")
    assert.equal(await callbacksOf(charge.chargeId), 0)
    assert.equal((await gatewayState()).counters.callbacksLost - before.callbacksLost, 1)
    assert.deepEqual(await transfersOf(server, order.orderId), { "order-payment": 1 })
    await setConditions({})
  })

  test("a duplicated, late notification arrives twice and captures once", async () => {
    await setConditions({ callbackDuplicateRate: 1, callbackDelayMs: 150 })
    const before = (await gatewayState()).counters
    const buyer = await server.run(newCustomer(server.baseUrl))
    const { order, charge } = await pay(buyer, "gwc-0004")
    assert.ok(await waitUntil(async () => (await callbacksOf(charge.chargeId)) === 2, settleWaitMs), "both notifications arrive")
    assert.equal((await status(buyer, order.orderId)).orderState, "issued")
    assert.deepEqual(await transfersOf(server, order.orderId), { "order-payment": 1 })
    const after = (await gatewayState()).counters
    assert.equal(after.callbacksDuplicated - before.callbacksDuplicated, 1)
    assert.equal(after.callbacksScheduled - before.callbacksScheduled, 2)
    await setConditions({})
    await assertLedgerConsistent(server)
  })

  test("the statement lists every charge with the gateway's status; it agrees with the store", async () => {
    const statement = await server.run(Effect.flatMap(adminClient(server.baseUrl), (admin) => admin.paymentsAdmin.gatewayStatement()))
    const rows = await server.run(storeQuery<{ id: string; state: string }>(`SELECT id, state FROM gateway_charges ORDER BY id`))
    assert.deepEqual(statement.map((line) => line.chargeId), rows.map((row) => row.id))
    const storeState = new Map(rows.map((row) => [row.id, row.state]))
    for (const line of statement) {
      assert.equal(storeState.get(line.chargeId), line.status === "succeeded" ? "captured" : "failed", line.chargeId)
      assert.equal(line.refundedFen, 0)
    }
  })

  test("bad conditions are refused with a tagged 400 and change nothing; only the admin may set them", async () => {
    const before = await gatewayState()
    const bad = await rawRequest(server.baseUrl, "PUT", "/admin/gateway/conditions", {
      headers: { "x-admin-key": server.settings.adminKey }, body: { ...normalGatewayConditions, declineRate: 1.5 }
    })
    assert.equal(bad.status, 400)
    assert.equal(tagOf(bad.json), "HttpApiDecodeError")
    const notAdmin = await rawRequest(server.baseUrl, "PUT", "/admin/gateway/conditions", { body: normalGatewayConditions })
    assert.equal(notAdmin.status, 403)
    assert.deepEqual(await gatewayState(), before)
  })

  test("an order never paid by gateway has no gateway payment: NoGatewayPayment (404)", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await server.run(buyer.client.orders.hold({ payload: { runId: run.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode } }))
    const missing = await server.run(Effect.flip(buyer.client.gateway.gatewayPaymentStatus({ path: { orderId: order.orderId } })))
    assert.equal(missing._tag, "NoGatewayPayment")
  })
})
