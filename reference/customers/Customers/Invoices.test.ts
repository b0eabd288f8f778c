/**
 * Invoices (seed 000 [0029]): one each time a customer's spend passes another `invoiceSpendThresholdFen`,
 * issued inside the payment's transaction, exactly once even when payments or the checks themselves race.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { FenTotal } from "../../Domain.js"
import type { Fen } from "../../Domain.js"
import { buyJourney } from "../../testing/Customers.js"
import { createRun, newCustomer, startTestServer, storeQuery } from "../../testing/TestServer.js"
import type { TestCustomer, TestRun, TestServer } from "../../testing/TestServer.js"
import { Invoices } from "./Invoices.js"

const invoiceSpendThresholdFen = 20_000
const fareFen = 12_500
const concurrentPayments = 8
const concurrentChecks = 8

describe("invoices", () => {
  let server: TestServer
  let run: TestRun
  before(async () => {
    server = await startTestServer({ invoiceSpendThresholdFen })
    run = await server.run(createRun(server.baseUrl, { trainCode: "G9", stations: ["SHH", "SZH"], seatCount: 40, fareFenPerSegment: fareFen }))
  })
  after(() => server.close())

  const invoicesOf = async (who: TestCustomer) =>
    (await server.run(who.client.profile.listInvoices())).map(({ sequence, amountFen, coveredSpendFen }) => ({ sequence, amountFen, coveredSpendFen }))

  test("an invoice each time the spend passes another threshold since the last one", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    await server.run(buyJourney(buyer, run, "inv-1"))
    assert.deepEqual(await invoicesOf(buyer), [])
    await server.run(buyJourney(buyer, run, "inv-2"))
    assert.deepEqual(await invoicesOf(buyer), [{ sequence: 1, amountFen: 2 * fareFen, coveredSpendFen: 2 * fareFen }])
    await server.run(buyJourney(buyer, run, "inv-3"))
    assert.equal((await invoicesOf(buyer)).length, 1)
    await server.run(buyJourney(buyer, run, "inv-4"))
    assert.deepEqual((await invoicesOf(buyer))[1], { sequence: 2, amountFen: 2 * fareFen, coveredSpendFen: 4 * fareFen })
    // invoices are the customer's own
    const other = await server.run(newCustomer(server.baseUrl))
    assert.deepEqual(await invoicesOf(other), [])
  })

  test(`${concurrentPayments} concurrent payments issue each invoice once`, async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    await server.run(buyer.client.accounts.topUp({
      headers: { "idempotency-key": "inv-race-topup" }, payload: { amountFen: (concurrentPayments * fareFen) as Fen }
    }))
    const orders = []
    for (let index = 0; index < concurrentPayments; index++) {
      orders.push(await server.run(buyer.client.orders.hold({ payload: { runId: run.runId, fromStation: run.stations[0]!, toStation: run.stations[1]! } })))
    }
    await server.run(Effect.all(orders.map((order, index) => buyer.client.accounts.pay({
      path: { orderId: order.orderId }, headers: { "idempotency-key": `inv-race-pay-${index}` }, payload: { paymentPassword: buyer.paymentPassword }
    })), { concurrency: "unbounded" }))
    const expected = Array.from({ length: concurrentPayments / 2 }, (_, index) => ({
      sequence: index + 1, amountFen: 2 * fareFen, coveredSpendFen: (index + 1) * 2 * fareFen
    }))
    assert.deepEqual(await invoicesOf(buyer), expected)
  })

  test(`${concurrentChecks} racing checks in their own transactions issue one invoice (the primary key)`, async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    await server.run(buyJourney(buyer, run, "inv-check-1"))
    await server.run(buyJourney(buyer, run, "inv-check-2"))
    await server.run(storeQuery(`DELETE FROM invoices WHERE customer_id = ?`, buyer.customerId))
    await server.run(storeQuery(`UPDATE customers SET invoiced_spend_fen = 0 WHERE id = ?`, buyer.customerId))
    const issued = await server.run(Effect.gen(function* () {
      const invoices = yield* Invoices
      const sql = yield* SqlClient.SqlClient
      const nowMs = yield* Clock.currentTimeMillis
      return yield* Effect.all(
        Array.from({ length: concurrentChecks }, () => sql.withTransaction(invoices.afterCapture(buyer.customerId, FenTotal.make(0), nowMs))),
        { concurrency: "unbounded" }
      )
    }).pipe(Effect.orDie))
    assert.equal(issued.filter(Boolean).length, 1)
    assert.deepEqual(await invoicesOf(buyer), [{ sequence: 1, amountFen: 2 * fareFen, coveredSpendFen: 2 * fareFen }])
  })
})
