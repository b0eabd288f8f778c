/**
 * The issuance and payment designs pass one suite over real HTTP: for each of `after-commit`,
 * `inline` and `worker` issuance, paid from the wallet or through the gateway's signed callback, a crowd
 * paying at once gets exactly one verifying ticket per order and every outbox row is claimed once, and a
 * replayed payment issues nothing more. Then what tells the designs apart: inline claims the outbox row in
 * the payment's own transaction; the worker issues nothing until it sweeps, at most `outboxBatchSize` rows
 * a sweep, and never issues an order refunded before its sweep.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import { Issuance } from "./Issuance.js"
import { issuanceVariants } from "../Settings/Issuance.js"
import type { IssuanceVariant } from "../Settings/Issuance.js"
import { decodeTicket, publicKeyFromRaw } from "./Issuance/TicketCode.js"
import type { OrderId } from "../Domain.js"
import { cancelOrder, freshKey, fundedCustomer, holdOn, payFor } from "../testing/Lifecycle.js"
import { planGateway } from "../testing/Payments.js"
import { createRun, startTestServer, storeQuery, waitUntil } from "../testing/TestServer.js"
import type { TestCustomer, TestRun, TestServer } from "../testing/TestServer.js"

const paymentDesigns = ["wallet", "gateway"] as const
type PaymentDesign = typeof paymentDesigns[number]

/** buyers paying at once in the crowd test */
const crowdSize = 8
const registrationConcurrency = 4
/** the worker's own interval is far beyond a test: the tests sweep by hand, so what a sweep does is exact */
const manualSweepIntervalMs = 600_000
/** rows a worker's sweep takes: less than the crowd, so a crowd needs more than one sweep */
const workerBatchSize = 3
/** how long a gateway callback or an after-commit issue may take to show */
const settleWaitMs = 8_000

const gatewaySettings = {
  simulatedGatewayCallbackIntervalMs: 30, gatewayReconcileAfterMs: 400, gatewayReconcileIntervalMs: 100,
  gatewayPaymentTimeoutMs: 5_000, pendingTransferSweepIntervalMs: 100
}

/** Pays `orderId` by the design; the same `key` replays the same payment. */
const pay = (server: TestServer, design: PaymentDesign, buyer: TestCustomer, orderId: OrderId, key: string) =>
  design === "wallet"
    ? server.run(payFor(buyer, orderId, key))
    : server.run(buyer.client.gateway.payByGateway({ path: { orderId }, headers: { "idempotency-key": key } }))

const countOf = async (server: TestServer, statement: string, ...params: ReadonlyArray<string | number>) =>
  Number((await server.run(storeQuery<{ count: number }>(statement, ...params)))[0]?.count ?? 0)

const pendingOutboxRows = (server: TestServer) => countOf(server, "SELECT COUNT(*) AS count FROM outbox WHERE processed_at_ms IS NULL")
const paidOrders = (server: TestServer, runId: string) => countOf(server, "SELECT COUNT(*) AS count FROM orders WHERE run_id = ? AND state = 'paid'", runId)
const sweep = (server: TestServer) => server.run(Effect.flatMap(Issuance, (issuance) => issuance.sweepOutbox))

/** The run's first `expected` orders all issued: by sweeping (worker), or by waiting for the payment path. */
const settle = async (server: TestServer, issuance: IssuanceVariant, run: TestRun, expected: number) => {
  const issuedOnRun = () => countOf(server, "SELECT COUNT(*) AS count FROM orders WHERE run_id = ? AND state = 'issued'", run.runId)
  // the gateway's callbacks capture in the background: the worker sweeps until they have all been issued
  assert.ok(await waitUntil(async () => {
    if (issuance === "worker") await sweep(server)
    return (await issuedOnRun()) === expected
  }, settleWaitMs, 50), `the run's ${expected} orders were not all issued`)
}

/** The worker sweeps until no outbox row is left, at most `maxSweeps` times. */
const sweepAll = async (server: TestServer, maxSweeps = 20) => {
  for (let sweeps = 0; sweeps < maxSweeps && (await pendingOutboxRows(server)) > 0; sweeps++) await sweep(server)
  assert.equal(await pendingOutboxRows(server), 0, "outbox rows left after the sweeps")
}

for (const issuance of issuanceVariants) {
  for (const payment of paymentDesigns) {
    describe(`issuance ${issuance}, paid by ${payment}`, () => {
      let server: TestServer
      let runsMade = 0
      const newRun = () => server.run(createRun(server.baseUrl, {
        trainCode: `G${issuanceVariants.indexOf(issuance) + 1}${paymentDesigns.indexOf(payment)}${++runsMade}`, stations: ["BJP", "TJP", "SHH"], seatCount: 40
      }))
      before(async () => {
        server = await startTestServer({
          issuance, ...gatewaySettings,
          ...(issuance === "worker" ? { outboxSweepIntervalMs: manualSweepIntervalMs, outboxBatchSize: workerBatchSize } : {})
        })
        if (payment === "gateway") await planGateway(server, { outcome: "succeed", callback: "on-time" })
      })
      after(() => server.close())

      test(`${crowdSize} buyers paying at once: one verifying ticket per order, every outbox row claimed once`, async () => {
        const run = await newRun()
        const buyers = await server.run(Effect.forEach(Array.from({ length: crowdSize }), () => fundedCustomer(server.baseUrl), { concurrency: registrationConcurrency }))
        const orders = await server.run(Effect.forEach(buyers, (buyer) => holdOn(buyer, run), { concurrency: "unbounded" }))
        await Promise.all(buyers.map((buyer, index) => pay(server, payment, buyer, orders[index]!.orderId, freshKey("crowd"))))
        await settle(server, issuance, run, crowdSize)

        const perOrder = await server.run(storeQuery<{ order_id: string; tickets: number; outbox_rows: number; unclaimed: number }>(
          `SELECT o.id AS order_id,
             (SELECT COUNT(*) FROM tickets t WHERE t.order_id = o.id) AS tickets,
             (SELECT COUNT(*) FROM outbox x WHERE x.order_id = o.id) AS outbox_rows,
             (SELECT COUNT(*) FROM outbox x WHERE x.order_id = o.id AND x.processed_at_ms IS NULL) AS unclaimed
           FROM orders o WHERE o.run_id = ?`, run.runId))
        assert.equal(perOrder.length, crowdSize)
        for (const row of perOrder) {
          assert.deepEqual([Number(row.tickets), Number(row.outbox_rows), Number(row.unclaimed)], [1, 1, 0], `order ${row.order_id}`)
        }
        const published = await server.run(buyers[0]!.client.issuance.publicKeys())
        const keys = new Map(published.map((key) => [key.keyId, publicKeyFromRaw(Buffer.from(key.publicKeyBase64, "base64"))]))
        for (const [index, buyer] of buyers.entries()) {
          const order = await server.run(buyer.client.orders.getOrder({ path: { orderId: orders[index]!.orderId } }))
          const ticket = await server.run(buyer.client.issuance.getTicket({ path: { orderId: order.orderId } }))
          const decoded = decodeTicket(ticket.qr, keys)
          assert.ok(decoded.ok, `order ${order.orderId}: the ticket does not verify`)
          assert.deepEqual([order.state, decoded.payload.coach, decoded.payload.seatCode], ["issued", order.coach, order.seatCode])
        }
      })

      test("a payment replayed with its idempotency key issues nothing more", async () => {
        const run = await newRun()
        const [buyer] = await server.run(Effect.forEach([0], () => fundedCustomer(server.baseUrl)))
        const order = await server.run(holdOn(buyer!, run))
        const key = freshKey("replayed")
        const first = await pay(server, payment, buyer!, order.orderId, key)
        await settle(server, issuance, run, 1)
        // the replay answers for the same payment (its state may have moved on since: paid, then issued)
        const replayed = await pay(server, payment, buyer!, order.orderId, key)
        const identity = (answer: typeof first) => "transferId" in answer ? answer.transferId : answer.chargeId
        assert.equal(identity(replayed), identity(first))
        await settle(server, issuance, run, 1)
        assert.equal(await countOf(server, "SELECT COUNT(*) AS count FROM tickets WHERE order_id = ?", order.orderId), 1)
        assert.equal(await countOf(server, "SELECT COUNT(*) AS count FROM outbox WHERE order_id = ?", order.orderId), 1)
      })

      if (payment === "wallet" && issuance !== "worker") {
        test("the ticket is there when the payment answers", async () => {
          const run = await newRun()
          const buyer = await server.run(fundedCustomer(server.baseUrl))
          const order = await server.run(holdOn(buyer, run))
          await pay(server, payment, buyer, order.orderId, freshKey("at-once"))
          const ticket = await server.run(buyer.client.issuance.getTicket({ path: { orderId: order.orderId } }))
          assert.equal(ticket.orderId, order.orderId)
          const [row] = await server.run(storeQuery<{ created_at_ms: number; processed_at_ms: number; paid_at_ms: number; issued_at_ms: number }>(
            `SELECT x.created_at_ms, x.processed_at_ms, o.paid_at_ms, o.issued_at_ms FROM outbox x JOIN orders o ON o.id = x.order_id
             WHERE x.order_id = ?`, order.orderId))
          if (issuance === "inline") {
            // one transaction: the payment's own clock reading claims the row and issues the ticket
            assert.deepEqual([Number(row!.processed_at_ms), Number(row!.issued_at_ms)], [Number(row!.created_at_ms), Number(row!.paid_at_ms)])
          }
        })
      }

      if (issuance === "worker") {
        test("the worker: nothing issued before it sweeps, at most its batch size a sweep", async () => {
          const run = await newRun()
          const buyers = await server.run(Effect.forEach(Array.from({ length: workerBatchSize + 2 }), () => fundedCustomer(server.baseUrl), { concurrency: registrationConcurrency }))
          await sweepAll(server)
          const orders: Array<OrderId> = []
          for (const buyer of buyers) {
            const order = await server.run(holdOn(buyer, run))
            await pay(server, payment, buyer, order.orderId, freshKey("batch"))
            orders.push(order.orderId)
          }
          // the gateway captures in the background: wait for every order to be paid, none issued
          assert.ok(await waitUntil(async () => (await paidOrders(server, run.runId)) === buyers.length, settleWaitMs), "orders not paid")
          const issuedOnRun = () => countOf(server, "SELECT COUNT(*) AS count FROM orders WHERE run_id = ? AND state = 'issued'", run.runId)
          assert.equal(await issuedOnRun(), 0)
          const refused = await server.run(Effect.flip(buyers[0]!.client.issuance.getTicket({ path: { orderId: orders[0]! } })))
          assert.equal(refused._tag, "TicketNotIssued")
          assert.equal(await sweep(server), workerBatchSize)
          assert.equal(await issuedOnRun(), workerBatchSize)
          assert.equal(await sweep(server), 2)
          assert.equal(await issuedOnRun(), buyers.length)
          assert.equal(await sweep(server), 0)
        })

        test("the worker: an order refunded before the sweep is never issued", async () => {
          const run = await newRun()
          const buyer = await server.run(fundedCustomer(server.baseUrl))
          const order = await server.run(holdOn(buyer, run))
          await pay(server, payment, buyer, order.orderId, freshKey("refunded"))
          assert.ok(await waitUntil(async () => (await paidOrders(server, run.runId)) === 1, settleWaitMs), "order not paid")
          const cancelled = await server.run(cancelOrder(buyer, order.orderId))
          assert.equal(cancelled.state, "refunded")
          assert.equal(cancelled.ticketVoided, false)
          await sweepAll(server)
          assert.equal(await countOf(server, "SELECT COUNT(*) AS count FROM tickets WHERE order_id = ?", order.orderId), 0)
          assert.equal(await countOf(server, "SELECT COUNT(*) AS count FROM outbox WHERE order_id = ? AND processed_at_ms IS NULL", order.orderId), 0)
        })
      }
    })
  }
}
