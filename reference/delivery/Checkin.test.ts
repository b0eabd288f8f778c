/**
 * From payment to the gate over real HTTP: the issued ticket verifies with the published key, admits
 * once at its boarding station inside the check-in window, and every forged, foreign, misplaced or
 * mistimed scan is refused without using the ticket up.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import type { Fen, GateId, RunId, StationCode } from "../Domain.js"
import { decodeTicket, publicKeyFromRaw, ticketTextPrefix } from "./Issuance/TicketCode.js"
import { buyTicket as buyIssuedTicket, fundedCustomer } from "../testing/Lifecycle.js"
import {
  adminClient, bearer, createRun, newCustomer, newGate, rawRequest, serviceDateInDays, startTestServer, storeQuery, tagOf, withTestServer
} from "../testing/TestServer.js"
import type { TestCustomer, TestGate, TestRun, TestServer } from "../testing/TestServer.js"

/** Changes one bit of the byte at `offset` of the ticket's signed bytes (negative: from the end). */
const flipByte = (qr: string, offset: number) => {
  const bytes = Buffer.from(qr.slice(ticketTextPrefix.length), "base64url")
  const index = offset < 0 ? bytes.length + offset : offset
  bytes[index] = bytes[index]! ^ 0x01
  return ticketTextPrefix + bytes.toString("base64url")
}
/** offset of the price field in the ticket layout (Issuance/TicketCode.ts) */
const priceOffset = 18

describe("check-in", () => {
  let server: TestServer
  /** BJP → TJP → SHH, departing from BJP in about half an hour */
  let run: TestRun
  let boardingGate: TestGate
  let secondBoardingGate: TestGate
  let midwayGate: TestGate
  let alightingGate: TestGate

  before(async () => {
    server = await startTestServer()
    run = await server.run(createRun(server.baseUrl, { trainCode: "G1", stations: ["BJP", "TJP", "SHH"], seatCount: 40 }))
    ;[boardingGate, secondBoardingGate, midwayGate, alightingGate] = await server.run(Effect.all([
      newGate(server.baseUrl, "bjp-gate-1", "BJP"),
      newGate(server.baseUrl, "bjp-gate-2", "BJP"),
      newGate(server.baseUrl, "tjp-gate-1", "TJP"),
      newGate(server.baseUrl, "shh-gate-1", "SHH")
    ]))
  })
  after(() => server.close())

  /** A new customer with money, a paid BJP → SHH order on `onRun`, and its ticket. */
  const buyTicket = async (onRun: TestRun = run) => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const client = buyer.client
    await server.run(client.accounts.topUp({ headers: { "idempotency-key": "ticket-topup-1" }, payload: { amountFen: 500_000 as Fen } }))
    const order = await server.run(client.orders.hold({
      payload: { runId: onRun.runId, fromStation: onRun.stations[0]!, toStation: onRun.stations.at(-1)! }
    }))
    const paid = await server.run(client.accounts.pay({
      path: { orderId: order.orderId }, headers: { "idempotency-key": "ticket-pay-1" },
      payload: { paymentPassword: buyer.paymentPassword }
    }))
    const ticket = await server.run(client.issuance.getTicket({ path: { orderId: order.orderId } }))
    return { buyer, order, paid, ticket }
  }

  const scan = (gate: TestGate, qr: string, presentedHolder: string) =>
    server.run(gate.client.checkin.scan({ payload: { qr, presentedHolder } }))
  const scanRefusal = (gate: TestGate, qr: string, presentedHolder: string) =>
    server.run(Effect.flip(gate.client.checkin.scan({ payload: { qr, presentedHolder } })))
  const rawScan = (gate: TestGate, qr: string, presentedHolder: string) =>
    rawRequest(server.baseUrl, "POST", "/gates/scans", { headers: { "x-device-key": gate.deviceKey }, body: { qr, presentedHolder } })
  const scanOutcomes = async (gate: TestGate) =>
    (await server.run(storeQuery<{ outcome: string }>(`SELECT outcome FROM scans WHERE gate_id = ? ORDER BY id`, gate.gateId)))
      .map((row) => row.outcome)

  test("a gate told which run it boards refuses a ticket for another train leaving its station ten minutes apart (TicketForAnotherTrain)", async () => {
    const boarded = await server.run(createRun(server.baseUrl, { trainCode: "G41", stations: ["BJP", "TJP"], seatCount: 4 }))
    const minutesApart = 10
    const otherDepartureMinute = boarded.firstDepartureMinuteOfDay + minutesApart <= 1439 - 60
      ? boarded.firstDepartureMinuteOfDay + minutesApart : boarded.firstDepartureMinuteOfDay - minutesApart
    const other = await server.run(createRun(server.baseUrl, {
      trainCode: "G43", stations: ["BJP", "TJP"], seatCount: 4, serviceDate: boarded.serviceDate, firstDepartureMinuteOfDay: otherDepartureMinute
    }))
    const platformGate = await server.run(newGate(server.baseUrl, "bjp-platform-4", "BJP"))
    const admin = await server.run(adminClient(server.baseUrl))
    const board = (runId: RunId | null) => server.run(admin.catalog.setGateBoarding({ path: { gateId: platformGate.gateId }, payload: { runId } }))
    assert.deepEqual(await board(boarded.runId), { gateId: platformGate.gateId, boardingRunId: boarded.runId })

    const otherTicket = await buyTicket(other)
    const refused = await rawScan(platformGate, otherTicket.ticket.qr, otherTicket.buyer.phone)
    assert.equal(refused.status, 403)
    assert.deepEqual(refused.json, {
      _tag: "TicketForAnotherTrain", ticketId: otherTicket.ticket.ticketId, ticketTrainCode: "G43", ticketServiceDate: other.serviceDate,
      gateTrainCode: "G41", gateServiceDate: boarded.serviceDate
    })
    const boardedTicket = await buyTicket(boarded)
    assert.equal((await scan(platformGate, boardedTicket.ticket.qr, boardedTicket.buyer.phone)).ticketId, boardedTicket.ticket.ticketId)

    // the refused ticket was not used up: the gate boards its train next
    await board(other.runId)
    assert.equal((await scan(platformGate, otherTicket.ticket.qr, otherTicket.buyer.phone)).ticketId, otherTicket.ticket.ticketId)

    const elsewhere = await server.run(createRun(server.baseUrl, { trainCode: "G45", stations: ["TJP", "SHH"], seatCount: 2 }))
    const notStopping = await rawRequest(server.baseUrl, "PUT", `/admin/gates/${platformGate.gateId}/boarding`, {
      headers: { "x-admin-key": server.settings.adminKey }, body: { runId: elsewhere.runId }
    })
    assert.equal(notStopping.status, 422)
    assert.equal(tagOf(notStopping.json), "InvalidCatalog")
    const unknownGate = await server.run(Effect.flip(admin.catalog.setGateBoarding({ path: { gateId: "no-such-gate" as GateId }, payload: { runId: null } })))
    assert.equal(unknownGate._tag, "GateNotFound")
  })

  test("the issued ticket verifies with the published key and carries the order's journey", async () => {
    const { buyer, order, paid, ticket } = await buyTicket()
    assert.equal(paid.ticketId, ticket.ticketId)
    assert.equal(ticket.orderId, order.orderId)
    const fetched = await server.run(buyer.client.orders.getOrder({ path: { orderId: order.orderId } }))
    assert.equal(fetched.state, "issued")
    assert.equal(fetched.ticketId, ticket.ticketId)

    const published = await server.run(buyer.client.issuance.publicKeys())
    const keys = new Map(published.map((key) => [key.keyId, publicKeyFromRaw(Buffer.from(key.publicKeyBase64, "base64"))]))
    const decoded = decodeTicket(ticket.qr, keys)
    assert.ok(decoded.ok, "the ticket does not verify with the published keys")
    assert.equal(decoded.payload.ticketId, ticket.ticketId)
    assert.equal(decoded.payload.serviceDate, run.serviceDate)
    assert.equal(decoded.payload.departureMinuteOfDay, run.firstDepartureMinuteOfDay)
    assert.equal(decoded.payload.fromStation, "BJP")
    assert.equal(decoded.payload.toStation, "SHH")
    assert.equal(decoded.payload.coach, order.coach)
    assert.equal(decoded.payload.seatCode, order.seatCode)
    assert.equal(decoded.payload.priceFen, order.priceFen)
  })

  test("a held order has no ticket yet: TicketNotIssued", async () => {
    const buyer = await server.run(newCustomer(server.baseUrl))
    const order = await server.run(buyer.client.orders.hold({
      payload: { runId: run.runId, fromStation: "BJP" as StationCode, toStation: "TJP" as StationCode }
    }))
    const refused = await server.run(Effect.flip(buyer.client.issuance.getTicket({ path: { orderId: order.orderId } })))
    assert.equal(refused._tag, "TicketNotIssued")
  })

  test("a ticket admits once at its boarding station (201); a second scan is TicketAlreadyUsed (409)", async () => {
    const { buyer, order, ticket } = await buyTicket()
    const beforeScanMs = Date.now()
    const admitted = await rawScan(boardingGate, ticket.qr, buyer.phone)
    assert.equal(admitted.status, 201)
    const { admittedAtMs, ...admission } = admitted.json as { readonly admittedAtMs: number }
    assert.ok(admittedAtMs >= beforeScanMs && admittedAtMs <= Date.now(), `admittedAtMs ${admittedAtMs} is not the scan's time`)
    assert.deepEqual(admission, {
      ticketId: ticket.ticketId, coach: order.coach, seatCode: order.seatCode, fromStation: "BJP", toStation: "SHH"
    })

    const replay = await rawScan(secondBoardingGate, ticket.qr, buyer.phone)
    assert.equal(replay.status, 409)
    assert.equal(tagOf(replay.json), "TicketAlreadyUsed")
    const replayAtSameGate = await scanRefusal(boardingGate, ticket.qr, buyer.phone)
    assert.equal(replayAtSameGate._tag, "TicketAlreadyUsed")
    assert.equal(replayAtSameGate._tag === "TicketAlreadyUsed" && replayAtSameGate.firstGateId, boardingGate.gateId)

    assert.equal((await scanOutcomes(secondBoardingGate)).at(-1), "TicketAlreadyUsed")
    assert.deepEqual((await scanOutcomes(boardingGate)).slice(-2), ["admitted", "TicketAlreadyUsed"])
  })

  test("a QR with one byte changed is InvalidTicket (422) and does not use the real ticket up", async () => {
    const { buyer, ticket } = await buyTicket()
    for (const offset of [priceOffset, -1]) {
      const forged = flipByte(ticket.qr, offset)
      assert.notEqual(forged, ticket.qr)
      const raw = await rawScan(boardingGate, forged, buyer.phone)
      assert.equal(raw.status, 422)
      assert.equal(tagOf(raw.json), "InvalidTicket")
      const refused = await scanRefusal(boardingGate, forged, buyer.phone)
      assert.equal(refused._tag === "InvalidTicket" && refused.reason, "signature")
    }
    const garbage = await scanRefusal(boardingGate, "hello, gate", buyer.phone)
    assert.equal(garbage._tag, "InvalidTicket")
    const admission = await scan(boardingGate, ticket.qr, buyer.phone)
    assert.equal(admission.ticketId, ticket.ticketId)
  })

  test("a holder other than the buyer's phone is BindingMismatch (403)", async () => {
    const { buyer, ticket } = await buyTicket()
    const stranger: TestCustomer = await server.run(newCustomer(server.baseUrl))
    const raw = await rawScan(boardingGate, ticket.qr, stranger.phone)
    assert.equal(raw.status, 403)
    assert.deepEqual(raw.json, { _tag: "BindingMismatch", ticketId: ticket.ticketId })
    const admission = await scan(boardingGate, ticket.qr, buyer.phone)
    assert.equal(admission.ticketId, ticket.ticketId)
  })

  test("a gate at another station is TicketNotValidHere (422)", async () => {
    const { buyer, ticket } = await buyTicket()
    for (const gate of [midwayGate, alightingGate]) {
      const raw = await rawScan(gate, ticket.qr, buyer.phone)
      assert.equal(raw.status, 422)
      assert.equal(tagOf(raw.json), "TicketNotValidHere")
    }
    const admission = await scan(boardingGate, ticket.qr, buyer.phone)
    assert.equal(admission.ticketId, ticket.ticketId)
  })

  test("outside the check-in window the boarding gate refuses: not yet open, already closed", async () => {
    const later = await server.run(createRun(server.baseUrl, {
      trainCode: "G3", stations: ["BJP", "SHH"], seatCount: 4, serviceDate: serviceDateInDays(Date.now(), 10), firstDepartureMinuteOfDay: 600
    }))
    const early = await buyTicket(later)
    const notOpen = await scanRefusal(boardingGate, early.ticket.qr, early.buyer.phone)
    assert.equal(notOpen._tag, "TicketNotValidHere")
    assert.match(notOpen._tag === "TicketNotValidHere" ? notOpen.reason : "", /not opened/)

    // a ticket bought before its train left, shown two days later: a server of its own, whose clock moves on
    await withTestServer({}, async (own) => {
      const soon = await own.run(createRun(own.baseUrl, { trainCode: "G5", stations: ["BJP", "SHH"], seatCount: 4 }))
      const gate = await own.run(newGate(own.baseUrl, "bjp-gate-late", "BJP"))
      const buyer = await own.run(fundedCustomer(own.baseUrl))
      const { ticket } = await own.run(buyIssuedTicket(buyer, soon))
      own.advanceClock(2 * 24 * 3_600_000)
      const closed = await own.run(Effect.flip(gate.client.checkin.scan({ payload: { qr: ticket.qr, presentedHolder: buyer.phone } })))
      assert.equal(closed._tag, "TicketNotValidHere")
      assert.match(closed._tag === "TicketNotValidHere" ? closed.reason : "", /closed/)
    })
  })

  test("customer B cannot see customer A's order or ticket (404 OrderNotFound)", async () => {
    const { order } = await buyTicket()
    const other = await server.run(newCustomer(server.baseUrl))
    const ticketRefusal = await server.run(Effect.flip(other.client.issuance.getTicket({ path: { orderId: order.orderId } })))
    assert.equal(ticketRefusal._tag, "OrderNotFound")
    const orderRefusal = await server.run(Effect.flip(other.client.orders.getOrder({ path: { orderId: order.orderId } })))
    assert.equal(orderRefusal._tag, "OrderNotFound")
    for (const path of [`/orders/${order.orderId}/ticket`, `/orders/${order.orderId}`]) {
      const raw = await rawRequest(server.baseUrl, "GET", path, { headers: bearer(other.token) })
      assert.equal(raw.status, 404)
      assert.deepEqual(raw.json, { _tag: "OrderNotFound", orderId: order.orderId })
    }
  })
})
