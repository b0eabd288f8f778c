import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import { buyTicket } from "../reference/testing/Delivery.js"
import { createRun, newCustomer, startTestServer, storeQuery } from "../reference/testing/TestServer.js"
import type { TestRun, TestServer } from "../reference/testing/TestServer.js"
import { makeClient } from "./Client.js"
import { makeSimCarrier } from "./SimCarrier.js"

describe("SIM carrier device", () => {
  let server: TestServer
  let run: TestRun
  before(async () => {
    server = await startTestServer()
    run = await server.run(createRun(server.baseUrl, { trainCode: "G9", stations: ["BJP", "SHH"], seatCount: 20 }))
  })
  after(() => server.close())

  test("writes what fits, leaves the rest in the box, and takes the oldest migration when a ticket is used", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const capacityBytes = 1_024
    const registered = await server.run(customer.client.delivery.registerCarrier({ payload: { capacityBytes } }))
    const client = await server.run(makeClient(server.baseUrl))
    const carrier = makeSimCarrier(client, {
      msisdn: customer.phone, deviceKey: registered.deviceKey, capacityBytes, slotBytes: server.settings.carrierTicketSlotBytes
    })
    for (let ticket = 0; ticket < 6; ticket++) await server.run(buyTicket(customer, run))
    const issued = (await server.run(storeQuery<{ id: string }>(
      "SELECT id FROM tickets WHERE holder = ? ORDER BY issued_at_ms, id", customer.phone))).map((row) => row.id)

    assert.equal(await server.run(carrier.sync), 4)
    assert.deepEqual([...carrier.stored().keys()], issued.slice(0, 4))
    for (const bytes of carrier.stored().values()) assert.ok(bytes.length <= server.settings.carrierTicketSlotBytes)
    assert.equal(await server.run(carrier.sync), 0)

    assert.equal(await server.run(carrier.remove(issued[0]!)), 1)
    assert.deepEqual([...carrier.stored().keys()], [...issued.slice(1, 5)])
    const state = await server.run(Effect.flatMap(makeClient(server.baseUrl, { "x-device-key": registered.deviceKey }),
      (asCarrier) => asCarrier.delivery.carrierTickets()))
    assert.deepEqual(state.tickets.map((ticket) => [ticket.ticketId, ticket.written]), issued.slice(1, 5).map((id) => [id, true]))
    assert.equal(state.inBox, 1)
    assert.equal(carrier.refusedWrites(), 0)
  })
})
