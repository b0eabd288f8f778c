import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { adminClient, createRun, newCustomer, startTestServer } from "../reference/testing/TestServer.js"
import type { TestRun, TestServer } from "../reference/testing/TestServer.js"
import { topUp } from "../reference/testing/Delivery.js"
import { makeClient } from "./Client.js"
import { makeSmsRelay } from "./SmsRelay.js"

describe("SMS gateway device", () => {
  let server: TestServer
  let run: TestRun
  before(async () => {
    server = await startTestServer()
    run = await server.run(createRun(server.baseUrl, { trainCode: "D3", stations: ["BJP", "SHH"], seatCount: 5 }))
  })
  after(() => server.close())

  const gatewayDevice = async (gatewayId: string, outboundLossRate: number) => {
    const admin = await server.run(adminClient(server.baseUrl))
    const registered = await server.run(admin.sms.registerGateway({ payload: { gatewayId } }))
    const client = await server.run(makeClient(server.baseUrl))
    return makeSmsRelay(client, { gatewayId, deviceKey: registered.deviceKey, outboundLossRate, maxDeliveryAttempts: 3 })
  }

  test("a phone books and pays by SMS; replies and the ticket notice reach its inbox", async () => {
    const device = await gatewayDevice("gw-device-1", 0)
    const customer = await server.run(newCustomer(server.baseUrl))
    await server.run(topUp(customer, run.fareFenPerSegment))
    const bought = await server.run(device.relay(customer.phone, `BUY D3 ${run.serviceDate.replaceAll("-", "")} BJP-SHH`))
    const ref = /order (\d{6})/.exec(bought)?.[1]
    assert.ok(ref, bought)
    const paid = await server.run(device.relay(customer.phone, `PAY ${ref} ${customer.paymentPassword}`))
    assert.match(paid, /is paid/)
    assert.ok((await server.run(device.pull)) >= 3)
    const inbox = device.inbox(customer.phone)
    assert.deepEqual(inbox.filter((text) => text === bought || text === paid), [bought, paid])
    assert.equal(inbox.filter((text) => /ticket [0-9a-f]{20} issued/.test(text)).length, 1)
    assert.equal(await server.run(device.pull), 0)
  })

  test("with every outbound text lost, nothing reaches a phone and the loss is counted", async () => {
    const device = await gatewayDevice("gw-device-2", 1)
    const customer = await server.run(newCustomer(server.baseUrl))
    await server.run(device.relay(customer.phone, "STATUS"))
    const pulled = await server.run(device.pull)
    assert.ok(pulled >= 1)
    assert.equal(device.lostTexts(), pulled)
    assert.deepEqual(device.inbox(customer.phone), [])
  })
})
