/**
 * The slow-store fault: the operator sets a commit delay; every transaction then waits that long before it
 * commits (on either store), and setting it back to 0 ends the wait. Bad values are refused with a tagged error.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { defaultSettings } from "../Config.js"
import type { Fen } from "../Domain.js"
import { adminClient, newCustomer, rawRequest, startTestServer } from "../testing/TestServer.js"
import type { TestCustomer, TestServer } from "../testing/TestServer.js"
import { maxStoreDelayMs } from "./SlowStore.js"

const commitDelayMs = 300

describe("slow store: a commit delay set by the operator", () => {
  let server: TestServer
  let customer: TestCustomer
  before(async () => {
    server = await startTestServer()
    customer = await server.run(newCustomer(server.baseUrl))
  })
  after(() => server.close())

  const topUpTakesMs = async (key: string) => {
    const startedMs = performance.now()
    await server.run(customer.client.accounts.topUp({ headers: { "idempotency-key": key }, payload: { amountFen: 100 as Fen } }))
    return performance.now() - startedMs
  }

  test("every transaction waits the delay before it commits, until it is set back to 0", async () => {
    const admin = await server.run(adminClient(server.baseUrl))
    await server.run(admin.backup.setStoreConditions({ payload: { delayMs: commitDelayMs } }))
    assert.ok(await topUpTakesMs("slow-store-1") >= commitDelayMs, "a top-up committed without the store's delay")
    await server.run(admin.backup.setStoreConditions({ payload: { delayMs: 0 } }))
    const wallet = await server.run(customer.client.accounts.getWallet())
    assert.equal(wallet.balanceFen, 100, "the delayed top-up was not committed")
    assert.ok(await topUpTakesMs("fast-store-1") < commitDelayMs, "the delay outlived its reset")
  })

  test("a delay out of range or without the admin key is refused", async () => {
    const tooSlow = await rawRequest(server.baseUrl, "PUT", "/admin/store/conditions", {
      body: { delayMs: maxStoreDelayMs + 1 }, headers: { "x-admin-key": defaultSettings.adminKey }
    })
    assert.equal(tooSlow.status, 400)
    assert.match(tooSlow.text, /delayMs/)
    const anonymous = await rawRequest(server.baseUrl, "PUT", "/admin/store/conditions", { body: { delayMs: 10 } })
    assert.equal(anonymous.status, 403)
  })
})
