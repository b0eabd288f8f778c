/**
 * Group orders over real HTTP: an organiser pays once from its wallet for a list of holders and gets one
 * signed event ticket per holder, bound to that holder's phone. All or nothing: no money moves and no place
 * is taken when the group cannot be sold whole. A retried key answers the stored group; the ledger, seats
 * and tickets are those of single purchases (one order, one `order-payment`, one ticket per holder).
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import type { Fen, GateId, PhoneNumber } from "../Domain.js"
import { maxTicketsPerGroupOrder } from "./GroupOrders/Api.js"
import { decodeTicket, publicKeyFromRaw } from "../delivery/Issuance/TicketCode.js"
import { createTestEvent, floorFareFen } from "../testing/Catalog.js"
import {
  anonymousClient, bearer, createRun, freshPhone, newCustomer, newGate, rawRequest, startTestServer, storeQuery, tagOf
} from "../testing/TestServer.js"
import type { TestCustomer, TestServer } from "../testing/TestServer.js"

const floorPlaces = 30

describe("group orders for an event", () => {
  let server: TestServer
  let organiser: TestCustomer
  let topUps = 0
  before(async () => {
    server = await startTestServer()
    organiser = await server.run(newCustomer(server.baseUrl))
  })
  after(() => server.close())

  const topUp = (amountFen: number) => server.run(organiser.client.accounts.topUp({
    headers: { "idempotency-key": `group-topup-${++topUps}` }, payload: { amountFen: amountFen as Fen }
  }))
  const wallet = () => server.run(organiser.client.accounts.getWallet())
  const order = (key: string, body: object) => rawRequest(server.baseUrl, "POST", "/group-orders", {
    headers: { ...bearer(organiser.token), "idempotency-key": key }, body: { paymentPassword: organiser.paymentPassword, ...body }
  })
  const takenPlaces = async (runId: string) => Number((await server.run(storeQuery<{ n: number }>(
    "SELECT COUNT(*) AS n FROM seats WHERE run_id = ? AND occupied_mask <> 0", runId)))[0]!.n)

  test("one payment, one signed ticket per holder bound to that holder, each admitted once by its own phone", async () => {
    const event = await server.run(createTestEvent(server.baseUrl, "GRA", "E0001", 60))
    const holders = Array.from({ length: 5 }, () => freshPhone())
    await topUp(floorFareFen * holders.length + 1)
    const before = await wallet()
    const bought = await server.run(organiser.client.groupOrders.buy({
      headers: { "idempotency-key": "group-first" },
      payload: { runId: event.runId, seatClass: "floor", holders, paymentPassword: organiser.paymentPassword }
    }))
    assert.equal(bought.amountFen, floorFareFen * holders.length)
    assert.deepEqual(bought.tickets.map((ticket) => ticket.holder), holders)
    assert.equal(new Set(bought.tickets.map((ticket) => `${ticket.coach}/${ticket.seatCode}`)).size, holders.length)
    assert.equal((await wallet()).balanceFen, before.balanceFen - bought.amountFen)

    const published = await server.run(Effect.flatMap(anonymousClient(server.baseUrl), (client) => client.issuance.publicKeys()))
    const keys = new Map(published.map((key) => [key.keyId, publicKeyFromRaw(Buffer.from(key.publicKeyBase64, "base64"))] as const))
    for (const ticket of bought.tickets) {
      const decoded = decodeTicket(ticket.qr, keys)
      assert.ok(decoded.ok)
      assert.equal(decoded.payload.kind, "event")
      assert.equal(decoded.payload.ticketId, ticket.ticketId)
      assert.equal(decoded.payload.fromStation, "GRA")
      assert.equal(decoded.payload.priceFen, floorFareFen)
    }
    // the ledger: one order-payment from the organiser's wallet per order, every order issued with one ticket
    const rows = await server.run(storeQuery<{ state: string; holder: string; purpose: string; amount_fen: number; debit: string }>(
      `SELECT o.state, t.holder, x.purpose, x.amount_fen, x.debit_account_id AS debit FROM orders o
       JOIN tickets t ON t.order_id = o.id JOIN transfers x ON x.order_id = o.id WHERE o.run_id = ? ORDER BY t.holder`, event.runId))
    assert.equal(rows.length, holders.length)
    for (const row of rows) {
      assert.deepEqual([row.state, row.purpose, Number(row.amount_fen), row.debit], ["issued", "order-payment", floorFareFen, `W${organiser.customerId}`])
    }
    assert.equal(await takenPlaces(event.runId), holders.length)

    const gate = await server.run(newGate(server.baseUrl, "GRA-01", "GRA"))
    const first = bought.tickets[0]!
    const stranger = await rawRequest(server.baseUrl, "POST", "/gates/scans", {
      headers: { "x-device-key": gate.deviceKey }, body: { qr: first.qr, presentedHolder: holders[1]! }
    })
    assert.equal(tagOf(stranger.json), "BindingMismatch")
    const admitted = await server.run(gate.client.checkin.scan({ payload: { qr: first.qr, presentedHolder: first.holder } }))
    assert.equal(admitted.ticketId, first.ticketId)
    const again = await rawRequest(server.baseUrl, "POST", "/gates/scans", {
      headers: { "x-device-key": gate.deviceKey }, body: { qr: first.qr, presentedHolder: first.holder }
    })
    assert.equal(tagOf(again.json), "TicketAlreadyUsed")
    assert.equal(gate.gateId as GateId, "GRA-01")
  })

  test("a retried key answers the stored group without a second charge; the key with another group is refused", async () => {
    const event = await server.run(createTestEvent(server.baseUrl, "GRB", "E0002", 60))
    const holders = [freshPhone(), freshPhone()]
    await topUp(floorFareFen * 2)
    const body = { runId: event.runId, seatClass: "floor", holders }
    const first = await order("group-retry", body)
    assert.equal(first.status, 201)
    const balance = (await wallet()).balanceFen
    const retried = await order("group-retry", body)
    assert.equal(retried.status, 201)
    assert.deepEqual(retried.json, first.json)
    assert.equal((await wallet()).balanceFen, balance)
    assert.equal(await takenPlaces(event.runId), 2)
    const other = await order("group-retry", { ...body, holders: [freshPhone()] })
    assert.equal(other.status, 409)
    assert.equal(tagOf(other.json), "IdempotencyKeyReused")
  })

  test("all or nothing: no funds, not enough places, a train, an unknown class or a wrong password move no money and take no place", async () => {
    const event = await server.run(createTestEvent(server.baseUrl, "GRC", "E0003", 60))
    const drained = (await wallet()).balanceFen
    const poor = await order("group-poor", { runId: event.runId, seatClass: "floor", holders: [freshPhone()] })
    assert.ok(drained < floorFareFen, `the earlier groups left ${drained} fen`)
    assert.equal(poor.status, 402)
    assert.equal(tagOf(poor.json), "InsufficientFunds")
    assert.equal(await takenPlaces(event.runId), 0)
    await topUp(floorFareFen * (floorPlaces + 1))
    const balance = (await wallet()).balanceFen
    const taken = await takenPlaces(event.runId)
    const tooMany = await order("group-too-many", {
      runId: event.runId, seatClass: "floor", holders: Array.from({ length: floorPlaces + 1 }, () => freshPhone())
    })
    assert.equal(tooMany.status, 409)
    assert.equal(tagOf(tooMany.json), "SoldOut")
    const train = await server.run(createRun(server.baseUrl, { trainCode: "G901", stations: ["BJP", "SHH"], seatCount: 4 }))
    const onTrain = await order("group-train", { runId: train.runId, seatClass: "second", holders: [freshPhone()] })
    assert.equal(onTrain.status, 422)
    assert.equal(tagOf(onTrain.json), "GroupOrderNotAllowed")
    const unknownClass = await order("group-class", { runId: event.runId, seatClass: "balcony", holders: [freshPhone()] })
    assert.equal(tagOf(unknownClass.json), "UnknownSeatClass")
    const wrongPassword = await rawRequest(server.baseUrl, "POST", "/group-orders", {
      headers: { ...bearer(organiser.token), "idempotency-key": "group-password" },
      body: { runId: event.runId, seatClass: "floor", holders: [freshPhone()], paymentPassword: "000000" }
    })
    assert.equal(tagOf(wrongPassword.json), "PaymentPasswordWrong")
    const tooLarge = await order("group-large", {
      runId: event.runId, seatClass: "floor", holders: Array.from({ length: maxTicketsPerGroupOrder + 1 }, () => freshPhone())
    })
    assert.equal(tooLarge.status, 400)
    const notAPhone = await order("group-phone", { runId: event.runId, seatClass: "floor", holders: ["12345" as PhoneNumber] })
    assert.equal(notAPhone.status, 400)
    assert.equal((await wallet()).balanceFen, balance)
    assert.equal(await takenPlaces(event.runId), taken)
    assert.equal(await takenPlaces(train.runId), 0)
  })
})
