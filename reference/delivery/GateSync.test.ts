/**
 * Offline gates (seeds 000, 003): the gate scanner verifies tickets with the published public key while its
 * link is down, keeps its admissions, and syncs them later. The server redeems each with the same
 * conditional write as an online scan; double admissions (online and offline, or two offline gates) are
 * counted and listed in the admin report, never hidden.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import { makeOfflineGateScanner } from "../../devices/GateScanner.js"
import type { OfflineGateScanner } from "../../devices/GateScanner.js"
import type { Fen } from "../Domain.js"
import {
  adminClient, createRun, newCustomer, newGate, rawRequest, startTestServer, storeQuery, tagOf
} from "../testing/TestServer.js"
import type { TestGate, TestRun, TestServer } from "../testing/TestServer.js"

describe("offline gates", () => {
  let server: TestServer
  let run: TestRun
  let onlineGate: TestGate
  let gateA: TestGate
  let gateB: TestGate
  let otherStationGate: TestGate

  before(async () => {
    server = await startTestServer()
    run = await server.run(createRun(server.baseUrl, { trainCode: "G31", stations: ["BJP", "TJP", "SHH"], seatCount: 40 }))
    ;[onlineGate, gateA, gateB, otherStationGate] = await server.run(Effect.all([
      newGate(server.baseUrl, "bjp-online", "BJP"),
      newGate(server.baseUrl, "bjp-offline-a", "BJP"),
      newGate(server.baseUrl, "bjp-offline-b", "BJP"),
      newGate(server.baseUrl, "tjp-offline", "TJP")
    ]))
  })
  after(() => server.close())

  let purchases = 0
  const buyTicket = async () => {
    purchases++
    const buyer = await server.run(newCustomer(server.baseUrl))
    await server.run(buyer.client.accounts.topUp({ headers: { "idempotency-key": `offline-topup-${purchases}` }, payload: { amountFen: 500_000 as Fen } }))
    const order = await server.run(buyer.client.orders.hold({ payload: { runId: run.runId, fromStation: run.stations[0]!, toStation: run.stations[2]! } }))
    await server.run(buyer.client.accounts.pay({
      path: { orderId: order.orderId }, headers: { "idempotency-key": `offline-pay-${purchases}` }, payload: { paymentPassword: buyer.paymentPassword }
    }))
    const ticket = await server.run(buyer.client.issuance.getTicket({ path: { orderId: order.orderId } }))
    return { phone: buyer.phone as string, ticket }
  }
  /** the gate fetches the keys while online, then loses its link */
  const goOffline = (gate: TestGate) => server.run(makeOfflineGateScanner(gate.client, gate.gateId, gate.station, server.settings))
  const offlineScan = (scanner: OfflineGateScanner, qr: string, holder: string) =>
    server.run(Effect.either(scanner.scan({ kind: "text", text: qr }, holder)))
  const report = () => server.run(Effect.flatMap(adminClient(server.baseUrl), (admin) => admin.gateSync.offlineReport({ urlParams: {} })))

  test("an offline gate admits on its own; the sync redeems the ticket, so a later online scan is refused", async () => {
    const { phone, ticket } = await buyTicket()
    const scanner = await goOffline(gateA)
    const admitted = await offlineScan(scanner, ticket.qr, phone)
    assert.equal(admitted._tag, "Right")
    const [before] = await server.run(storeQuery<{ admitted_at_ms: number | null }>(`SELECT admitted_at_ms FROM tickets WHERE id = ?`, ticket.ticketId))
    assert.equal(before?.admitted_at_ms, null, "the server knows nothing until the gate syncs")
    const synced = await server.run(scanner.sync)
    assert.deepEqual(synced.results, [{ ticketId: ticket.ticketId, outcome: "admitted", firstSync: true }])
    assert.equal(scanner.pending().length, 0)
    const online = await server.run(Effect.flip(onlineGate.client.checkin.scan({ payload: { qr: ticket.qr, presentedHolder: phone } })))
    assert.equal(online._tag, "TicketAlreadyUsed")
    if (online._tag === "TicketAlreadyUsed") assert.equal(online.firstGateId, gateA.gateId)
  })

  test("admitted online, then at an offline gate: a double admission, reported with the online gate as first", async () => {
    const { phone, ticket } = await buyTicket()
    const scanner = await goOffline(gateB)
    await server.run(onlineGate.client.checkin.scan({ payload: { qr: ticket.qr, presentedHolder: phone } }))
    assert.equal((await offlineScan(scanner, ticket.qr, phone))._tag, "Right", "the offline gate cannot know")
    const doublesBefore = (await report()).counts.double
    const synced = await server.run(scanner.sync)
    assert.deepEqual(synced.results.map((result) => result.outcome), ["double"])
    const after = await report()
    assert.equal(after.counts.double, doublesBefore + 1)
    const listed = after.doubleAdmissions.find((entry) => entry.ticketId === ticket.ticketId)
    assert.ok(listed, "the double admission is listed")
    assert.equal(listed.gateId, gateB.gateId)
    assert.equal(listed.firstGateId, onlineGate.gateId)
  })

  test("one ticket at two offline gates: the first to sync owns it, the other is counted; a re-sync counts nothing twice", async () => {
    const { phone, ticket } = await buyTicket()
    const scannerA = await goOffline(gateA)
    const scannerB = await goOffline(gateB)
    assert.equal((await offlineScan(scannerA, ticket.qr, phone))._tag, "Right")
    assert.equal((await offlineScan(scannerB, ticket.qr, phone))._tag, "Right")
    const pendingB = scannerB.pending()
    const doublesBefore = (await report()).counts.double
    assert.deepEqual((await server.run(scannerB.sync)).results.map((result) => result.outcome), ["admitted"])
    assert.deepEqual((await server.run(scannerA.sync)).results.map((result) => result.outcome), ["double"])
    // gate B lost the answer and sends the same batch again
    const again = await server.run(gateB.client.gateSync.sync({ payload: { admissions: pendingB } }))
    assert.deepEqual(again.results, [{ ticketId: ticket.ticketId, outcome: "admitted", firstSync: false }])
    assert.equal((await report()).counts.double, doublesBefore + 1)
    const rows = await server.run(storeQuery<{ n: number }>(`SELECT COUNT(*) AS n FROM offline_admissions WHERE ticket_id = ?`, ticket.ticketId))
    assert.equal(Number(rows[0]?.n), 2)
  })

  test("offline, the gate refuses a forged ticket, another station's, and a replay at itself", async () => {
    const { phone, ticket } = await buyTicket()
    const scanner = await goOffline(gateA)
    const forged = ticket.qr.slice(0, -4) + (ticket.qr.endsWith("AAAA") ? "BBBB" : "AAAA")
    const refusedForged = await offlineScan(scanner, forged, phone)
    assert.ok(refusedForged._tag === "Left" && refusedForged.left._tag === "OfflineRefusal" && refusedForged.left.reason === "unverified")
    const elsewhere = await server.run(Effect.either(
      (await goOffline(otherStationGate)).scan({ kind: "text", text: ticket.qr }, phone)))
    assert.ok(elsewhere._tag === "Left" && elsewhere.left._tag === "OfflineRefusal" && elsewhere.left.reason === "wrong-station")
    assert.equal((await offlineScan(scanner, ticket.qr, phone))._tag, "Right")
    const replay = await offlineScan(scanner, ticket.qr, phone)
    assert.ok(replay._tag === "Left" && replay.left._tag === "OfflineRefusal" && replay.left.reason === "already-admitted-here")
    assert.equal(scanner.pending().length, 1)
  })

  test("a sync reports a forged code as invalid and a wrong holder as a binding mismatch, without redeeming", async () => {
    const { ticket } = await buyTicket()
    const before = (await report()).counts
    const forged = ticket.qr.slice(0, -4) + (ticket.qr.endsWith("AAAA") ? "BBBB" : "AAAA")
    const synced = await server.run(gateA.client.gateSync.sync({
      payload: { admissions: [
        { qr: forged, presentedHolder: "13900000000", admittedAtMs: Date.now() },
        { qr: ticket.qr, presentedHolder: "13900000000", admittedAtMs: Date.now() }
      ] }
    }))
    assert.deepEqual(synced.results.map((result) => result.outcome), ["invalid", "binding-mismatch"])
    assert.ok(synced.results[0]!.ticketId.startsWith("qr:"))
    const after = (await report()).counts
    assert.equal(after.invalid, before.invalid + 1)
    assert.equal(after["binding-mismatch"], before["binding-mismatch"] + 1)
    const [row] = await server.run(storeQuery<{ admitted_at_ms: number | null }>(`SELECT admitted_at_ms FROM tickets WHERE id = ?`, ticket.ticketId))
    assert.equal(row?.admitted_at_ms, null)
  })

  test("sync needs a gate's key, refuses malformed batches; the report needs the admin key", async () => {
    const body = { admissions: [] }
    assert.equal((await rawRequest(server.baseUrl, "POST", "/gates/sync", { body })).status, 401)
    assert.equal((await rawRequest(server.baseUrl, "POST", "/gates/sync", { headers: { "x-device-key": "nope" }, body })).status, 401)
    const malformed = await rawRequest(server.baseUrl, "POST", "/gates/sync", {
      headers: { "x-device-key": gateA.deviceKey }, body: { admissions: [{ qr: "CY1:x", presentedHolder: "", admittedAtMs: -1 }] }
    })
    assert.equal(malformed.status, 400)
    assert.equal(tagOf(malformed.json), "HttpApiDecodeError")
    const tooMany = await rawRequest(server.baseUrl, "POST", "/gates/sync", {
      headers: { "x-device-key": gateA.deviceKey },
      body: { admissions: Array.from({ length: 501 }, () => ({ qr: "CY1:x", presentedHolder: "1", admittedAtMs: 1 })) }
    })
    assert.equal(tooMany.status, 400)
    assert.equal((await rawRequest(server.baseUrl, "GET", "/admin/gates/offline-admissions")).status, 403)
    const badLimit = await rawRequest(server.baseUrl, "GET", "/admin/gates/offline-admissions?limit=0", { headers: { "x-admin-key": server.settings.adminKey } })
    assert.equal(badLimit.status, 400)
  })
})
