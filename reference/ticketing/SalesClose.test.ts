/**
 * Sales close over real HTTP: no seat is sold on a run whose boarding stop has left (or is about to: the close
 * time before it), whatever the path — an app hold, a kiosk walk-up sale, an SMS BUY, a change onto the run, a
 * group order for an event, a hold on a showing. The server's clock is moved forward (`advanceClock`) to the
 * minute before and after each close, so the tests do not depend on the hour they run at.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Clock, Effect } from "effect"
import { departureEpochMs } from "../delivery/Checkin.js"
import type { PhoneNumber, StationCode } from "../Domain.js"
import { createTestCinema, createTestEvent, createTestShowing, floorFareFen, venueHold } from "../testing/Catalog.js"
import { newSmsGateway } from "../testing/Delivery.js"
import { buyTicket, changeOrder, createRunDepartingIn, freshKey, fundedCustomer, holdOn, payFor, walletOf } from "../testing/Lifecycle.js"
import { newKiosk } from "../testing/Payments.js"
import {
  anonymousClient, bearer, freshPhone, minutesBetweenStops, rawRequest, startTestServer, storeQuery, tagOf
} from "../testing/TestServer.js"
import type { TestRun, TestServer } from "../testing/TestServer.js"

const minuteMs = 60_000
/** how far ahead the runs of these tests leave when created: the clock is then moved to each close */
const departsInMs = 60 * minuteMs

describe("sales close", () => {
  let server: TestServer
  let trainNumber = 0
  const nextTrain = () => `G${9000 + ++trainNumber}`

  before(async () => {
    server = await startTestServer()
  })
  after(() => server.close())

  const closeBeforeMs = () => server.settings.salesCloseBeforeDepartureMs
  const departureOf = (run: TestRun, stopIndex = 0) =>
    departureEpochMs(run.serviceDate, run.firstDepartureMinuteOfDay + minutesBetweenStops * stopIndex, server.settings.utcOffsetMinutes)
  /** Moves the server's clock forward to `atMs` (the clock never goes back: every test makes its own runs). */
  const moveClockTo = async (atMs: number) => {
    const nowMs = await server.run(Clock.currentTimeMillis)
    assert.ok(atMs > nowMs, `the clock is already past ${new Date(atMs).toISOString()}`)
    server.advanceClock(atMs - nowMs)
  }
  const newRun = (stations: ReadonlyArray<string>, seatCount = 4) =>
    server.run(createRunDepartingIn(server.baseUrl, departsInMs, { trainCode: nextTrain(), stations, seatCount }))
  const ordersOn = async (runId: string) =>
    Number((await server.run(storeQuery<{ n: number }>("SELECT COUNT(*) AS n FROM orders WHERE run_id = ?", runId)))[0]!.n)

  test("the default closes a train's sales some minutes before departure", () => {
    assert.ok(closeBeforeMs() > 0 && closeBeforeMs() < 30 * minuteMs, `salesCloseBeforeDepartureMs ${closeBeforeMs()}`)
  })

  test("a hold a minute before the close is taken; from the close on it is refused (410 SalesClosed) and takes nothing", async () => {
    // SHH → NJH → BJP, NJH leaving minutesBetweenStops after SHH: its own close comes that much later
    const run = await newRun(["SHH", "NJH", "BJP"], 2)
    const closeMs = departureOf(run) - closeBeforeMs()
    const buyer = await server.run(fundedCustomer(server.baseUrl))

    await moveClockTo(closeMs - minuteMs)
    const early = await server.run(holdOn(buyer, run))
    assert.equal(early.state, "held")
    // the hold ends at the close, not a whole holdTtlMs later: it cannot be paid once the run stopped selling
    assert.ok(server.settings.holdTtlMs > minuteMs)
    assert.equal(early.holdExpiresAtMs, closeMs)

    await moveClockTo(closeMs + minuteMs)
    const refused = await rawRequest(server.baseUrl, "POST", "/orders", {
      headers: bearer(buyer.token), body: { runId: run.runId, fromStation: "SHH", toStation: "BJP" }
    })
    assert.equal(refused.status, 410)
    assert.deepEqual(refused.json, { _tag: "SalesClosed", runId: run.runId, fromStation: "SHH", closedAtMs: closeMs })
    // the hold taken before the close is not paid after it
    const wallet = await server.run(walletOf(buyer))
    const latePayment = await server.run(Effect.flip(payFor(buyer, early.orderId)))
    assert.equal(latePayment._tag, "HoldExpired")
    assert.equal(await server.run(walletOf(buyer)), wallet)
    // the close is the boarding stop's: NJH leaves later and still sells
    const fromLaterStop = await server.run(holdOn(buyer, run, "NJH" as StationCode, "BJP" as StationCode))
    assert.equal(fromLaterStop.state, "held")

    await moveClockTo(departureOf(run, 1) + 10 * minuteMs)
    for (const from of ["SHH", "NJH"] as const) {
      const departed = await server.run(Effect.flip(holdOn(buyer, run, from as StationCode, "BJP" as StationCode)))
      assert.equal(departed._tag, "SalesClosed")
    }
    assert.equal(await ordersOn(run.runId), 2, "a refused hold wrote an order")
  })

  test("the search still lists a run whose sales have closed, marked not on sale", async () => {
    const run = await newRun(["TJP", "SHH"])
    const search = () => server.run(Effect.flatMap(anonymousClient(server.baseUrl), (client) =>
      client.catalog.search({ urlParams: { from: "TJP" as StationCode, to: "SHH" as StationCode, date: run.serviceDate } })))
    const offerOf = async () => (await search()).find((offer) => offer.runId === run.runId)
    assert.deepEqual([(await offerOf())?.onSale, (await offerOf())?.availableSeats], [true, 4])
    await moveClockTo(departureOf(run) - closeBeforeMs() + minuteMs)
    assert.deepEqual([(await offerOf())?.onSale, (await offerOf())?.availableSeats], [false, 4])
  })

  test("a kiosk walk-up sale and an SMS BUY are refused once sales have closed, holding nothing", async () => {
    const run = await newRun(["TJP", "SHH"])
    const kiosk = await server.run(newKiosk(server.baseUrl, `kiosk-close-${trainNumber}`, "TJP"))
    const gateway = await server.run(newSmsGateway(server.baseUrl, `sms-close-${trainNumber}`))
    const texter = await server.run(fundedCustomer(server.baseUrl))
    const closeMs = departureOf(run) - closeBeforeMs()
    await moveClockTo(closeMs + minuteMs)

    const walkUp = await server.run(Effect.flip(kiosk.client.kiosk.holdWalkUp({
      payload: { runId: run.runId, fromStation: "TJP" as StationCode, toStation: "SHH" as StationCode, passengerPhone: freshPhone() }
    })))
    assert.equal(walkUp._tag, "SalesClosed")
    const trainCode = run.runId.split("-")[0]!
    const answered = await server.run(gateway.client.sms.receive({
      payload: { messageId: freshKey("sms-close"), from: texter.phone as PhoneNumber, text: `BUY ${trainCode} ${run.serviceDate.replaceAll("-", "")} TJP-SHH 2` }
    }))
    assert.match(answered.reply, new RegExp(`^Chunyun: ${trainCode} ${run.serviceDate} TJP-SHH is no longer sold: sales closed at \\d\\d:\\d\\d\\. Nothing was held\\.$`))
    assert.equal(await ordersOn(run.runId), 0)
  })

  test("a change onto a run whose sales have closed is refused (410 SalesClosed) and changes nothing", async () => {
    const later = await server.run(createRunDepartingIn(server.baseUrl, 4 * departsInMs, {
      trainCode: nextTrain(), stations: ["SHH", "NJH"], seatCount: 4
    }))
    const target = await newRun(["SHH", "NJH"])
    const buyer = await server.run(fundedCustomer(server.baseUrl))
    const { order, ticket } = await server.run(buyTicket(buyer, later))
    const walletBefore = await server.run(walletOf(buyer))

    await moveClockTo(departureOf(target) - closeBeforeMs() + minuteMs)
    const refused = await rawRequest(server.baseUrl, "POST", `/orders/${order.orderId}/change`, {
      headers: { ...bearer(buyer.token), "idempotency-key": freshKey("change-close") },
      body: { runId: target.runId, fromStation: "SHH", toStation: "NJH" }
    })
    assert.equal(refused.status, 410)
    assert.equal(tagOf(refused.json), "SalesClosed")
    assert.equal((await server.run(buyer.client.orders.getOrder({ path: { orderId: order.orderId } }))).state, "issued")
    assert.equal(await server.run(walletOf(buyer)), walletBefore)
    assert.equal(await ordersOn(target.runId), 0)
    const [voided] = await server.run(storeQuery<{ voided_at_ms: number | null }>("SELECT voided_at_ms FROM tickets WHERE id = ?", ticket.ticketId))
    assert.equal(voided?.voided_at_ms, null)
    // the typed client knows the error as the same class
    const typed = await server.run(Effect.flip(changeOrder(buyer, order.orderId, target)))
    assert.equal(typed._tag, "SalesClosed")
  })

  test("an event's group order and a showing's hold are sold up to the start and refused after it", async () => {
    const cinemaCode = "SCC"
    await server.run(createTestCinema(server.baseUrl, cinemaCode))
    const showing = await server.run(createTestShowing(server.baseUrl, cinemaCode, "F0901", 60))
    const event = await server.run(createTestEvent(server.baseUrl, "SCE", "E0901", 60))
    const closeOf = (venueRun: { serviceDate: string; startMinuteOfDay: number }) =>
      departureEpochMs(venueRun.serviceDate, venueRun.startMinuteOfDay, server.settings.utcOffsetMinutes) - server.settings.venueSalesCloseBeforeStartMs
    // created a moment apart, they may start a minute apart
    const [firstCloseMs, lastCloseMs] = [Math.min(closeOf(showing), closeOf(event)), Math.max(closeOf(showing), closeOf(event))]
    const showingHold = () => organiser.client.orders.hold({ payload: venueHold(showing.runId, cinemaCode) })
    const organiser = await server.run(fundedCustomer(server.baseUrl))
    const groupOrder = (holders: ReadonlyArray<PhoneNumber>) => rawRequest(server.baseUrl, "POST", "/group-orders", {
      headers: { ...bearer(organiser.token), "idempotency-key": freshKey("group-close") },
      body: { runId: event.runId, seatClass: "floor", holders, paymentPassword: organiser.paymentPassword }
    })

    await moveClockTo(firstCloseMs - minuteMs)
    const sold = await groupOrder([freshPhone()])
    assert.equal(sold.status, 201, sold.text)
    assert.equal((await server.run(showingHold())).state, "held")

    await moveClockTo(lastCloseMs + minuteMs)
    const walletBefore = await server.run(walletOf(organiser))
    const late = await groupOrder([freshPhone(), freshPhone()])
    assert.equal(late.status, 410)
    assert.equal(tagOf(late.json), "SalesClosed")
    assert.equal(await server.run(walletOf(organiser)), walletBefore)
    assert.equal(await ordersOn(event.runId), 1)
    assert.ok(walletBefore >= floorFareFen * 2, "the refusal is not for want of money")
    const lateHold = await server.run(Effect.flip(showingHold()))
    assert.equal(lateHold._tag, "SalesClosed")
    const listed = await server.run(organiser.client.venues.listShowings({ urlParams: { date: showing.serviceDate, venue: cinemaCode as StationCode } }))
    assert.deepEqual(listed.filter((offer) => offer.runId === showing.runId).map((offer) => offer.onSale), [false])
  })

  test("the OpenAPI document gives SalesClosed (410) on every endpoint that sells a seat", async () => {
    const document = (await rawRequest(server.baseUrl, "GET", "/openapi.json")).json as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
    }
    for (const [path, method] of [["/orders", "post"], ["/kiosk/orders", "post"], ["/group-orders", "post"], ["/orders/{orderId}/change", "post"]] as const) {
      const gone = document.paths[path]?.[method]?.responses["410"]
      assert.ok(JSON.stringify(gone ?? null).includes("SalesClosed"), `${method} ${path}: 410 is ${JSON.stringify(gone)}`)
    }
  })
})
