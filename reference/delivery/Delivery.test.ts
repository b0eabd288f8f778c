/**
 * Delivery after issuance over real HTTP: the SMS notice (once, however often the job runs), SIM ticket
 * carriers with the network ticket box (seed 003) under concurrency, and cinema pickup vouchers (004).
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import type { OrderId, TicketId } from "../Domain.js"
import { audit } from "../../simulator/Auditor.js"
import { History } from "../../simulator/History.js"
import { Delivery, ticketNoticeDedupeKey } from "./Delivery.js"
import { normaliseVoucherCode, voucherCodeOf } from "./Delivery/VoucherCode.js"
import { buyTicket, deviceClient, newTicketMachine, textsTo, topUp } from "../testing/Delivery.js"
import { cancelOrder } from "../testing/Lifecycle.js"
import { createRun, newCustomer, newGate, rawRequest, startTestServer, storeQuery, tagOf } from "../testing/TestServer.js"
import type { ChunyunClient, TestCustomer, TestRun, TestServer } from "../testing/TestServer.js"

let server: TestServer
let run: TestRun
before(async () => {
  // the background delivery sweeper stays away: these tests run the jobs themselves and count what they did
  server = await startTestServer({ deliverySweepIntervalMs: 3_600_000 })
  run = await server.run(createRun(server.baseUrl, { trainCode: "G7", stations: ["BJP", "SHH"], seatCount: 200 }))
})
after(() => server.close())

const noticesOf = (ticketId: string) => server.run(storeQuery<{ id: number; text: string }>(
  "SELECT id, text FROM sms_outbound WHERE dedupe_key = ?", ticketNoticeDedupeKey(ticketId)))

describe("the SMS notice of an issued ticket", () => {
  test("is sent once after the payment, and a rerun of the job (as after a crash before it was marked done) sends nothing more", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const { paid } = await server.run(buyTicket(customer, run))
    const ticketId = paid.ticketId!
    assert.ok(ticketId)
    const notices = await noticesOf(ticketId)
    assert.equal(notices.length, 1)
    const voucher = await server.run(customer.client.delivery.getVoucher({ path: { orderId: paid.orderId } }))
    assert.ok(notices[0]!.text.includes(`pickup code ${voucher.display}`), notices[0]!.text)
    const [job] = await server.run(storeQuery<{ attempts: number; done_at_ms: number | null }>(
      "SELECT attempts, done_at_ms FROM delivery_jobs WHERE ticket_id = ?", ticketId))
    assert.equal(Number(job?.attempts), 1)
    assert.notEqual(job?.done_at_ms, null)

    // the server died after sending, before marking the job done: the sweeper runs it again
    await server.run(storeQuery("UPDATE delivery_jobs SET done_at_ms = NULL, leased_until_ms = NULL WHERE ticket_id = ?", ticketId))
    const rerun = await server.run(Effect.flatMap(Delivery, (delivery) => delivery.sweep))
    assert.ok(rerun >= 1)
    assert.equal((await noticesOf(ticketId)).length, 1)
    const [again] = await server.run(storeQuery<{ attempts: number; done_at_ms: number | null }>(
      "SELECT attempts, done_at_ms FROM delivery_jobs WHERE ticket_id = ?", ticketId))
    assert.equal(Number(again?.attempts), 2)
    assert.notEqual(again?.done_at_ms, null)
    // a job already done is not run again
    assert.equal(await server.run(Effect.flatMap(Delivery, (delivery) => delivery.deliver(ticketId))), false)
    assert.equal((await server.run(textsTo(customer.phone))).length, 1)
  })
})

describe("delivery jobs run concurrently", () => {
  test("servers racing for the same pending jobs: each job is leased by one, each notice sent once", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const bought = [] as Array<string>
    for (let ticket = 0; ticket < 3; ticket++) bought.push((await server.run(buyTicket(customer, run))).paid.ticketId!)
    await server.run(storeQuery(`UPDATE delivery_jobs SET done_at_ms = NULL, leased_until_ms = NULL
      WHERE ticket_id IN (SELECT id FROM tickets WHERE holder = ?)`, customer.phone))
    const outcomes = await server.run(Effect.flatMap(Delivery, (delivery) =>
      Effect.all(bought.flatMap((ticketId) => [ticketId, ticketId, ticketId].map((each) => delivery.deliver(each as TicketId))),
        { concurrency: "unbounded" })))
    assert.equal(outcomes.filter((ran) => ran).length, bought.length)
    for (const ticketId of bought) assert.equal((await noticesOf(ticketId)).length, 1)
    const pending = await server.run(storeQuery<{ count: number }>(
      "SELECT COUNT(*) AS count FROM delivery_jobs j JOIN tickets t ON t.id = j.ticket_id WHERE t.holder = ? AND j.done_at_ms IS NULL", customer.phone))
    assert.equal(Number(pending[0]?.count), 0)
  })
})

describe("SIM ticket carriers and the network ticket box", () => {
  const carrierOf = async (customer: TestCustomer, capacityBytes: number) => {
    const registered = await server.run(customer.client.delivery.registerCarrier({ payload: { capacityBytes } }))
    return { ...registered, client: await server.run(deviceClient(server.baseUrl, registered.deviceKey)) as ChunyunClient }
  }
  const placesOf = (msisdn: string) => server.run(storeQuery<{ ticket_id: string; place: string }>(
    "SELECT ticket_id, place FROM ticket_places WHERE msisdn = ? ORDER BY issued_at_ms, ticket_id", msisdn))
  const ticketsOf = (customer: TestCustomer) => server.run(storeQuery<{ id: string }>(
    "SELECT id FROM tickets WHERE holder = ? ORDER BY issued_at_ms, id", customer.phone))

  test("a carrier of 1 KB holds four tickets; later ones wait in the box and migrate oldest first when slots are freed", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const carrier = await carrierOf(customer, 1_024)
    assert.deepEqual([carrier.carrier.capacitySlots, carrier.carrier.usedSlots, carrier.carrier.inBox], [4, 0, 0])
    for (let ticket = 0; ticket < 6; ticket++) await server.run(buyTicket(customer, run))
    const issued = (await ticketsOf(customer)).map((row) => row.id)
    let state = await server.run(carrier.client.delivery.carrierTickets())
    assert.deepEqual(state.tickets.map((ticket) => ticket.ticketId), issued.slice(0, 4))
    assert.ok(state.tickets.every((ticket) => !ticket.written && ticket.qr.length > 0))
    assert.deepEqual([state.usedSlots, state.inBox], [4, 2])

    state = await server.run(carrier.client.delivery.acknowledgeWritten({ payload: { ticketIds: state.tickets.map((ticket) => ticket.ticketId) } }))
    assert.ok(state.tickets.every((ticket) => ticket.written))

    // the second ticket was used at a gate: its slot takes the oldest ticket of the box
    state = await server.run(carrier.client.delivery.reportRemoved({ payload: { ticketIds: [issued[1] as TicketId] } }))
    assert.deepEqual(state.tickets.map((ticket) => [ticket.ticketId, ticket.written]),
      [[issued[0], true], [issued[2], true], [issued[3], true], [issued[4], false]])
    assert.deepEqual([state.usedSlots, state.inBox], [4, 1])
    // reported again (a retry): accepted, nothing moves
    state = await server.run(carrier.client.delivery.reportRemoved({ payload: { ticketIds: [issued[1] as TicketId] } }))
    assert.deepEqual([state.usedSlots, state.inBox], [4, 1])
    assert.deepEqual((await placesOf(customer.phone)).map((row) => row.place), ["carrier", "removed", "carrier", "carrier", "carrier", "box"])

    // a ticket in the box, or none of this carrier's, is refused and changes nothing
    for (const ticketId of [issued[5], "00000000000000000000"]) {
      const refused = await rawRequest(server.baseUrl, "POST", "/carrier/removed", {
        headers: { "x-device-key": carrier.deviceKey }, body: { ticketIds: [issued[0], ticketId] }
      })
      assert.equal(refused.status, 422)
      assert.equal(tagOf(refused.json), "TicketNotOnCarrier")
    }
    assert.equal((await server.run(carrier.client.delivery.carrierTickets())).usedSlots, 4)
  })

  test("a ticket of the box used at a gate (shown from the app) stays there: a freed slot takes the next unused one", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const carrier = await carrierOf(customer, 1_024)
    const orders = [] as Array<OrderId>
    for (let ticket = 0; ticket < 6; ticket++) orders.push((await server.run(buyTicket(customer, run))).order.orderId)
    const issued = (await ticketsOf(customer)).map((row) => row.id)
    const gate = await server.run(newGate(server.baseUrl, "bjp-gate-box", "BJP"))
    // the fifth ticket waits in the box; its holder shows it from the app and is admitted
    const shown = await server.run(customer.client.issuance.getTicket({ path: { orderId: orders[4]! } }))
    assert.equal(shown.ticketId, issued[4])
    await server.run(gate.client.checkin.scan({ payload: { qr: shown.qr, presentedHolder: customer.phone } }))
    assert.equal((await server.run(carrier.client.delivery.carrierTickets())).inBox, 1)

    const state = await server.run(carrier.client.delivery.reportRemoved({ payload: { ticketIds: [issued[0] as TicketId] } }))
    assert.deepEqual(state.tickets.map((ticket) => ticket.ticketId), [issued[1], issued[2], issued[3], issued[5]])
    assert.deepEqual([state.usedSlots, state.inBox], [4, 0])
    const again = await server.run(carrier.client.delivery.reportRemoved({ payload: { ticketIds: [issued[1] as TicketId] } }))
    assert.deepEqual([again.usedSlots, again.inBox], [3, 0], "the used ticket never migrates down")
    assert.deepEqual((await placesOf(customer.phone)).map((row) => row.place), ["removed", "removed", "carrier", "carrier", "box", "carrier"])
  })

  test("tickets issued before the carrier registered are placed when it does, oldest on the carrier", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    for (let ticket = 0; ticket < 6; ticket++) await server.run(buyTicket(customer, run))
    const carrier = await carrierOf(customer, 1_024)
    const issued = (await ticketsOf(customer)).map((row) => row.id)
    assert.deepEqual(carrier.carrier.tickets.map((ticket) => ticket.ticketId), issued.slice(0, 4))
    assert.deepEqual([carrier.carrier.usedSlots, carrier.carrier.inBox], [4, 2])
  })

  test("capacity outside 1–2 KB is refused; registering again re-keys the carrier", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    for (const capacityBytes of [1_023, 2_049]) {
      const refused = await rawRequest(server.baseUrl, "POST", "/carriers", {
        headers: { authorization: `Bearer ${customer.token}` }, body: { capacityBytes }
      })
      assert.equal(refused.status, 422)
      assert.equal(tagOf(refused.json), "InvalidCarrierCapacity")
    }
    for (let ticket = 0; ticket < 3; ticket++) await server.run(buyTicket(customer, run))
    const first = await carrierOf(customer, 2_048)
    assert.deepEqual([first.carrier.capacitySlots, first.carrier.usedSlots, first.carrier.inBox], [8, 3, 0])
    const second = await carrierOf(customer, 2_048)
    const stale = await rawRequest(server.baseUrl, "GET", "/carrier/tickets", { headers: { "x-device-key": first.deviceKey } })
    assert.equal(stale.status, 401)
    assert.equal((await server.run(second.client.delivery.carrierTickets())).usedSlots, 3)
  })

  test("concurrent issues and removals never put more on a carrier than its capacity, and every ticket has one place", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const carrier = await carrierOf(customer, 1_024)
    const purchases = 12
    await server.run(topUp(customer, purchases * run.fareFenPerSegment))
    const orders = await server.run(Effect.forEach(Array.from({ length: purchases }), () =>
      customer.client.orders.hold({ payload: { runId: run.runId, fromStation: run.stations[0]!, toStation: run.stations[1]! } })))
    await server.run(Effect.forEach(orders, (order, index) => customer.client.accounts.pay({
      path: { orderId: order.orderId }, headers: { "idempotency-key": `carrier-crowd-${index}` },
      payload: { paymentPassword: customer.paymentPassword }
    }), { concurrency: "unbounded" }))
    let state = await server.run(carrier.client.delivery.carrierTickets())
    assert.deepEqual([state.usedSlots, state.tickets.length, state.inBox], [4, 4, purchases - 4])

    // four removals at once, each retried concurrently: four slots free, four oldest box tickets move in
    const removed = state.tickets.map((ticket) => ticket.ticketId)
    await server.run(Effect.forEach([...removed, ...removed], (ticketId) =>
      carrier.client.delivery.reportRemoved({ payload: { ticketIds: [ticketId] } }), { concurrency: "unbounded" }))
    state = await server.run(carrier.client.delivery.carrierTickets())
    assert.deepEqual([state.usedSlots, state.tickets.length, state.inBox], [4, 4, purchases - 8])
    const places = await placesOf(customer.phone)
    const tickets = await ticketsOf(customer)
    assert.equal(places.length, tickets.length)
    assert.deepEqual(new Set(places.map((row) => row.ticket_id)), new Set(tickets.map((row) => row.id)))
    assert.equal(places.filter((row) => row.place === "carrier").length, 4)
    assert.equal(places.filter((row) => row.place === "removed").length, 4)
    // the carrier took the oldest of the box: every ticket that moved in is older than any still boxed (the first
    // four, placed as their payments committed, may be any four of those issued in the same millisecond)
    const boxed = places.filter((row) => row.place === "box").map((row) => row.ticket_id)
    const order = tickets.map((row) => row.id)
    const lastOut = Math.max(...places.filter((row) => row.place === "carrier").map((row) => order.indexOf(row.ticket_id)))
    assert.ok(boxed.every((ticketId) => order.indexOf(ticketId) > lastOut))
  })
})

describe("cinema pickup vouchers", () => {
  let machine: Awaited<ReturnType<typeof makeMachine>>
  const makeMachine = () => server.run(newTicketMachine(server.baseUrl, "wanda-cbd-1", "Wanda CBD"))
  before(async () => {
    machine = await makeMachine()
  })
  const redeem = (code: string, deviceKey = machine.deviceKey) =>
    rawRequest(server.baseUrl, "POST", "/ticket-machine/redemptions", { headers: { "x-device-key": deviceKey }, body: { code } })

  test("an issued ticket's voucher is 12 digits with a check digit, stable, and redeems once", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const { paid } = await server.run(buyTicket(customer, run))
    const voucher = await server.run(customer.client.delivery.getVoucher({ path: { orderId: paid.orderId } }))
    assert.match(voucher.code, /^\d{12}$/)
    assert.deepEqual(normaliseVoucherCode(voucher.code), { ok: true, code: voucher.code })
    assert.deepEqual(await server.run(customer.client.delivery.getVoucher({ path: { orderId: paid.orderId } })), voucher)
    assert.equal(voucher.redeemedAtMs, null)

    const first = await redeem(voucher.display)
    assert.equal(first.status, 201, first.text)
    const redemption = first.json as { ticketId: string; orderId: string; seatCode: string; machineId: string }
    assert.deepEqual([redemption.ticketId, redemption.orderId, redemption.machineId], [paid.ticketId, paid.orderId, "wanda-cbd-1"])
    const second = await redeem(voucher.code)
    assert.equal(second.status, 409)
    assert.equal(tagOf(second.json), "VoucherAlreadyRedeemed")
    assert.equal((second.json as { machineId: string }).machineId, "wanda-cbd-1")
    const after = await server.run(customer.client.delivery.getVoucher({ path: { orderId: paid.orderId } }))
    assert.equal(typeof after.redeemedAtMs, "number")
  })

  test("concurrent redemptions of one code: exactly one machine prints", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const { paid } = await server.run(buyTicket(customer, run))
    const voucher = await server.run(customer.client.delivery.getVoucher({ path: { orderId: paid.orderId } }))
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => redeem(voucher.code)))
    assert.equal(outcomes.filter((outcome) => outcome.status === 201).length, 1)
    assert.equal(outcomes.filter((outcome) => tagOf(outcome.json) === "VoucherAlreadyRedeemed").length, 9)
  })

  test("mistyped, unknown and foreign requests are refused by name", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const { paid } = await server.run(buyTicket(customer, run))
    const voucher = await server.run(customer.client.delivery.getVoucher({ path: { orderId: paid.orderId } }))
    const mistyped = voucher.code.slice(0, 5) + String((Number(voucher.code[5]) + 1) % 10) + voucher.code.slice(6)
    for (const [code, status, tag] of [
      [mistyped, 422, "InvalidVoucherCode"], ["12345", 422, "InvalidVoucherCode"], ["abcd efgh ijkl", 422, "InvalidVoucherCode"],
      [voucherCodeOf(voucher.code.startsWith("0") ? "11111111111" : "00000000000"), 404, "VoucherNotFound"]
    ] as const) {
      const refused = await redeem(code)
      assert.equal(refused.status, status, `${code}: ${refused.text}`)
      assert.equal(tagOf(refused.json), tag)
    }
    const gate = await server.run(newGate(server.baseUrl, "bjp-gate-vouchers", "BJP"))
    assert.equal((await redeem(voucher.code, gate.deviceKey)).status, 401)
    const stranger = await server.run(newCustomer(server.baseUrl))
    const hidden = await server.run(Effect.flip(stranger.client.delivery.getVoucher({ path: { orderId: paid.orderId } })))
    assert.equal(hidden._tag, "OrderNotFound")
    const unpaid = await server.run(customer.client.orders.hold({ payload: { runId: run.runId, fromStation: run.stations[0]!, toStation: run.stations[1]! } }))
    const notIssued = await server.run(Effect.flip(customer.client.delivery.getVoucher({ path: { orderId: unpaid.orderId as OrderId } })))
    assert.equal(notIssued._tag, "TicketNotIssued")
    // nothing was redeemed by any of it
    assert.equal((await redeem(voucher.code)).status, 201)
  })

  test("a voided ticket's voucher is refused by name: after a refund, and when the ticket row alone says voided", async () => {
    const refunded = await server.run(newCustomer(server.baseUrl))
    const bought = await server.run(buyTicket(refunded, run))
    const refundedVoucher = await server.run(refunded.client.delivery.getVoucher({ path: { orderId: bought.paid.orderId } }))
    assert.equal((await server.run(cancelOrder(refunded, bought.paid.orderId))).state, "refunded")
    const afterRefund = await redeem(refundedVoucher.code)
    assert.equal(afterRefund.status, 409, afterRefund.text)
    assert.equal(tagOf(afterRefund.json), "VoucherNotRedeemable")

    // the ticket row is what a gate and a kiosk check; a machine printing from the voucher checks it too
    const customer = await server.run(newCustomer(server.baseUrl))
    const { paid } = await server.run(buyTicket(customer, run))
    const voucher = await server.run(customer.client.delivery.getVoucher({ path: { orderId: paid.orderId } }))
    await server.run(storeQuery("UPDATE tickets SET voided_at_ms = 1 WHERE id = ?", paid.ticketId!))
    const refused = await redeem(voucher.code)
    assert.equal(refused.status, 409, refused.text)
    assert.equal(tagOf(refused.json), "VoucherNotRedeemable")
    const [row] = await server.run(storeQuery<{ redeemed_at_ms: number | null }>(
      "SELECT redeemed_at_ms FROM ticket_vouchers WHERE code = ?", voucher.code))
    assert.equal(row?.redeemed_at_ms, null)
    // the same voucher of the live ticket redeems: the refusal was the void's (and the store is whole again for the auditor below)
    await server.run(storeQuery("UPDATE tickets SET voided_at_ms = NULL WHERE id = ?", paid.ticketId!))
    assert.equal((await redeem(voucher.code)).status, 201)
  })
})

describe("bad input to the delivery endpoints", () => {
  test("each is refused with a 4xx naming the problem, and changes nothing", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const registered = await server.run(customer.client.delivery.registerCarrier({ payload: { capacityBytes: 1_024 } }))
    const machine = await server.run(newTicketMachine(server.baseUrl, "bad-input-machine", "Hall 1"))
    const asCustomer = { authorization: `Bearer ${customer.token}` }
    const asCarrier = { "x-device-key": registered.deviceKey }
    const asMachine = { "x-device-key": machine.deviceKey }
    const cases: ReadonlyArray<{ method: "GET" | "POST"; path: string; headers: Record<string, string>; body?: string | object; status: number }> = [
      { method: "POST", path: "/carriers", headers: asCustomer, body: { capacityBytes: "1024" }, status: 400 },
      { method: "POST", path: "/carriers", headers: asCustomer, body: { capacityBytes: 1_024.5 }, status: 400 },
      { method: "POST", path: "/carriers", headers: {}, body: { capacityBytes: 1_024 }, status: 401 },
      { method: "POST", path: "/carriers", headers: asCustomer, body: "{not json", status: 400 },
      { method: "POST", path: "/carrier/removed", headers: asCarrier, body: { ticketIds: ["nope"] }, status: 400 },
      { method: "POST", path: "/carrier/written", headers: asCarrier, body: { ticketIds: Array.from({ length: 65 }, () => "00000000000000000000") }, status: 400 },
      { method: "POST", path: "/carrier/written", headers: asMachine, body: { ticketIds: [] }, status: 401 },
      { method: "GET", path: "/carrier/tickets", headers: { "x-device-key": customer.token }, status: 401 },
      { method: "GET", path: "/orders/not-an-order/voucher", headers: asCustomer, status: 400 },
      { method: "POST", path: "/ticket-machine/redemptions", headers: asMachine, body: { code: "1".repeat(33) }, status: 400 },
      { method: "POST", path: "/ticket-machine/redemptions", headers: asCarrier, body: { code: "123456789015" }, status: 401 },
      { method: "POST", path: "/admin/ticket-machines", headers: {}, body: { machineId: "m1", venue: "v" }, status: 403 },
      { method: "POST", path: "/admin/ticket-machines", headers: { "x-admin-key": "chunyun-admin" }, body: { machineId: "has space", venue: "v" }, status: 400 },
      { method: "POST", path: "/admin/sms-gateways", headers: { "x-admin-key": "chunyun-admin" }, body: { gatewayId: "" }, status: 400 },
      { method: "GET", path: "/sms/outbound?afterId=abc", headers: asMachine, status: 401 }
    ]
    for (const request of cases) {
      const refused = await rawRequest(server.baseUrl, request.method, request.path, {
        headers: request.headers, ...(request.body === undefined ? {} : { body: request.body })
      })
      assert.equal(refused.status, request.status, `${request.method} ${request.path} ${JSON.stringify(request.body)}: ${refused.text}`)
      assert.equal(typeof tagOf(refused.json), "string", `${request.path}: ${refused.text}`)
    }
    const state = await server.run(deviceClient(server.baseUrl, registered.deviceKey).pipe(Effect.flatMap((client) => client.delivery.carrierTickets())))
    assert.deepEqual([state.capacitySlots, state.usedSlots, state.inBox, state.tickets.length], [4, 0, 0, 0])
    const machines = await server.run(storeQuery<{ count: number }>("SELECT COUNT(*) AS count FROM devices WHERE kind = 'ticket-machine' AND id IN ('m1', 'has space')"))
    assert.equal(Number(machines[0]?.count), 0)
  })
})

describe("the auditor over everything above", () => {
  test("finds every invariant, 7 included, unbroken in this store", async () => {
    const results = await server.run(audit(new History()))
    const carriers = results.find((result) => result.name === "carrier-within-capacity")
    assert.ok(carriers)
    for (const result of results) assert.equal(result.violations, 0, `${result.name}: ${result.witness?.join(" | ")}`)
    const placed = await server.run(storeQuery<{ count: number }>("SELECT COUNT(*) AS count FROM ticket_places"))
    assert.ok(Number(placed[0]?.count) > 20, "the carriers above placed their tickets")
  })
})
