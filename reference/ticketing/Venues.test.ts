/**
 * Cinemas, showings and events over real HTTP: created by the admin, listed with prices per class, sold
 * through the same hold → pay → issue pipeline as trains, and admitted at the venue's gate inside the
 * window of their kind (seed 004).
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import type { SeatClassName } from "./Catalog/Api.js"
import { newKiosk } from "../testing/Payments.js"
import type { Fen, PhoneNumber, RunId, StationCode, TrainCode } from "../Domain.js"
import { decodeTicket, publicKeyFromRaw } from "../delivery/Issuance/TicketCode.js"
import {
  buyTicket, createTestCinema, createTestEvent, createTestShowing, floorFareFen, standardFareFen, standFareFen, startingIn,
  testHallRows, venueHold, vipFareFen
} from "../testing/Catalog.js"
import { adminClient, anonymousClient, bearer, newCustomer, newGate, rawRequest, startTestServer, storeQuery, tagOf } from "../testing/TestServer.js"
import type { TestServer } from "../testing/TestServer.js"

const admin = { "x-admin-key": "chunyun-admin" }
const keyMap = (keys: ReadonlyArray<{ keyId: number; publicKeyBase64: string }>) =>
  new Map(keys.map((key) => [key.keyId, publicKeyFromRaw(Buffer.from(key.publicKeyBase64, "base64"))] as const))

describe("cinemas and showings", () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
  })
  after(() => server.close())

  const gateKeys = async () => {
    const keys = await server.run(Effect.flatMap(anonymousClient(server.baseUrl), (client) => client.issuance.publicKeys()))
    return keyMap(keys)
  }

  test("a cinema lists its halls with seat counts; its code cannot be taken twice", async () => {
    const created = await server.run(createTestCinema(server.baseUrl, "WDA"))
    assert.deepEqual(created.halls, [{ hall: 1, name: "Hall 1", seatCount: 16, rows: [...testHallRows] }])
    const listed = await server.run(Effect.flatMap(anonymousClient(server.baseUrl), (client) => client.venues.listCinemas()))
    assert.deepEqual(listed.find((cinema) => cinema.code === "WDA"), created)
    const again = await rawRequest(server.baseUrl, "POST", "/admin/cinemas", {
      headers: admin, body: { code: "WDA", name: "again", city: "Beijing", halls: [{ hall: 1, name: "H", rows: ["SS"] }] }
    })
    assert.equal(again.status, 409)
    assert.equal(tagOf(again.json), "CinemaExists")
    const empty = await rawRequest(server.baseUrl, "POST", "/admin/cinemas", {
      headers: admin, body: { code: "WDZ", name: "empty", city: "Beijing", halls: [{ hall: 1, name: "H", rows: ["..."] }] }
    })
    assert.equal(empty.status, 422)
    assert.equal(tagOf(empty.json), "InvalidCatalog")
  })

  test("a showing needs an existing hall and a fare for every class the hall has", async () => {
    await server.run(createTestCinema(server.baseUrl, "WDB"))
    const start = startingIn(Date.now(), 600)
    const showing = {
      showingCode: "F0001", cinema: "WDB", hall: 1, serviceDate: start.serviceDate, startMinuteOfDay: start.startMinuteOfDay,
      film: { title: "Film", durationMinutes: 100 }, fares: [{ seatClass: "standard", fareFen: 100 }, { seatClass: "vip", fareFen: 200 }]
    }
    const noHall = await rawRequest(server.baseUrl, "POST", "/admin/showings", { headers: admin, body: { ...showing, hall: 9 } })
    assert.equal(noHall.status, 404)
    assert.deepEqual(noHall.json, { _tag: "HallNotFound", cinema: "WDB", hall: 9 })
    const noVipFare = await rawRequest(server.baseUrl, "POST", "/admin/showings", {
      headers: admin, body: { ...showing, fares: [{ seatClass: "standard", fareFen: 100 }] }
    })
    assert.equal(noVipFare.status, 422)
    assert.equal(tagOf(noVipFare.json), "InvalidCatalog")
    assert.match(String((noVipFare.json as { message: string }).message), /class vip has seats but no fares/)
    await rawRequest(server.baseUrl, "POST", "/admin/cinemas", {
      headers: admin, body: { code: "WDF", name: "small", city: "Beijing", halls: [{ hall: 1, name: "H", rows: ["SS.SS"] }] }
    })
    const vipFareWithoutVipSeats = await rawRequest(server.baseUrl, "POST", "/admin/showings", { headers: admin, body: { ...showing, cinema: "WDF" } })
    assert.equal(vipFareWithoutVipSeats.status, 422)
    assert.match(String((vipFareWithoutVipSeats.json as { message: string }).message), /class vip has fares but no seats/)
    const created = await rawRequest(server.baseUrl, "POST", "/admin/showings", { headers: admin, body: showing })
    assert.equal(created.status, 201)
    const twice = await rawRequest(server.baseUrl, "POST", "/admin/showings", { headers: admin, body: showing })
    assert.equal(twice.status, 409)
    assert.equal(tagOf(twice.json), "TrainRunExists")
  })

  test("a showing is listed with price per class, sold seat by seat, and admitted once at the cinema's gate", async () => {
    await server.run(createTestCinema(server.baseUrl, "WDC"))
    const showing = await server.run(createTestShowing(server.baseUrl, "WDC", "F0712", 10))
    const client = await server.run(anonymousClient(server.baseUrl))
    const listed = await server.run(client.venues.listShowings({ urlParams: { date: showing.serviceDate, venue: "WDC" as StationCode } }))
    assert.equal(listed.length, 1)
    assert.deepEqual(listed[0]!.classes, [
      { seatClass: "standard", availableSeats: 12, priceFen: standardFareFen },
      { seatClass: "vip", availableSeats: 4, priceFen: vipFareFen }
    ])
    assert.equal(listed[0]!.title, "Lost in the Stars")
    assert.equal(listed[0]!.hall, 1)
    // trains are not in the cinema's list, nor showings in a train search
    const trains = await server.run(client.catalog.search({ urlParams: { from: "WDC" as StationCode, to: "WDC" as StationCode, date: showing.serviceDate } }))
    assert.deepEqual(trains, [])

    const buyer = await server.run(newCustomer(server.baseUrl))
    const { order, ticket } = await server.run(buyTicket(buyer, venueHold(showing.runId, "WDC", { seat: { coach: 1, seatCode: "03-02" } })))
    assert.equal(order.seatClass, "vip")
    assert.equal(order.priceFen, vipFareFen)
    const decoded = decodeTicket(ticket.qr, await gateKeys())
    assert.ok(decoded.ok)
    assert.deepEqual(
      { kind: decoded.payload.kind, code: decoded.payload.trainCode, hall: decoded.payload.coach, seat: decoded.payload.seatCode, venue: decoded.payload.fromStation, start: decoded.payload.departureMinuteOfDay },
      { kind: "cinema", code: "F0712", hall: 1, seat: "03-02", venue: "WDC", start: showing.startMinuteOfDay }
    )
    const gate = await server.run(newGate(server.baseUrl, "wdc-gate-1", "WDC"))
    const admitted = await server.run(gate.client.checkin.scan({ payload: { qr: ticket.qr, presentedHolder: buyer.phone } }))
    assert.equal(admitted.seatCode, "03-02")
    const replay = await server.run(Effect.flip(gate.client.checkin.scan({ payload: { qr: ticket.qr, presentedHolder: buyer.phone } })))
    assert.equal(replay._tag, "TicketAlreadyUsed")
    const after = await server.run(client.venues.listShowings({ urlParams: { date: showing.serviceDate } }))
    assert.equal(after.find((offer) => offer.runId === showing.runId)?.classes.find((offer) => offer.seatClass === "vip")?.availableSeats, 3)
  })

  test("a showing's gate opens 30 minutes before the start, though a train's would be open at 90", async () => {
    await server.run(createTestCinema(server.baseUrl, "WDD"))
    const showing = await server.run(createTestShowing(server.baseUrl, "WDD", "F0900", 90))
    const buyer = await server.run(newCustomer(server.baseUrl))
    const { ticket } = await server.run(buyTicket(buyer, venueHold(showing.runId, "WDD", { seatClass: "standard" })))
    const gate = await server.run(newGate(server.baseUrl, "wdd-gate-1", "WDD"))
    const refused = await server.run(Effect.flip(gate.client.checkin.scan({ payload: { qr: ticket.qr, presentedHolder: buyer.phone } })))
    assert.equal(refused._tag, "TicketNotValidHere")
    assert.equal((refused as { reason: string }).reason, "check-in has not opened for this showing")
  })

  test("a hold at a venue names the venue as both stations", async () => {
    await server.run(createTestCinema(server.baseUrl, "WDE"))
    const showing = await server.run(createTestShowing(server.baseUrl, "WDE", "F1000", 60))
    const buyer = await server.run(newCustomer(server.baseUrl))
    const wrong = await server.run(Effect.flip(buyer.client.orders.hold({
      payload: { runId: showing.runId, fromStation: "WDE" as StationCode, toStation: "BJP" as StationCode }
    })))
    assert.equal(wrong._tag, "InvalidSegment")
    const held = await server.run(buyer.client.orders.hold({ payload: venueHold(showing.runId, "WDE") }))
    assert.equal(held.seatCode, "01-01")
    assert.equal(held.fromStation, "WDE")
  })
})

describe("events", () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
  })
  after(() => server.close())

  test("standing and seated zones sell by class in group orders; the venue's gate admits 150 minutes before the start", async () => {
    const event = await server.run(createTestEvent(server.baseUrl, "NST", "E2027", 150))
    assert.equal(event.seatCount, 30 + 16)
    const client = await server.run(anonymousClient(server.baseUrl))
    const [listed] = await server.run(client.venues.listEvents({ urlParams: { date: event.serviceDate, venue: "NST" as StationCode } }))
    assert.deepEqual(listed?.classes, [
      { seatClass: "stand", availableSeats: 16, priceFen: standFareFen },
      { seatClass: "floor", availableSeats: 30, priceFen: floorFareFen }
    ])
    assert.equal(listed?.kind, "event")
    assert.equal(listed?.hall, null)

    const [fan, seatedFan, organiser] = await server.run(Effect.all([newCustomer(server.baseUrl), newCustomer(server.baseUrl), newCustomer(server.baseUrl)]))
    await server.run(organiser!.client.accounts.topUp({ headers: { "idempotency-key": "venues-organiser-topup" }, payload: { amountFen: 500_000 as Fen } }))
    const groupOrder = (seatClass: string, holder: PhoneNumber) => server.run(Effect.map(organiser!.client.groupOrders.buy({
      headers: { "idempotency-key": `venues-group-${seatClass}` },
      payload: { runId: event.runId, seatClass: seatClass as typeof SeatClassName.Type, holders: [holder], paymentPassword: organiser!.paymentPassword }
    }), (bought) => ({ ...bought.tickets[0]!, priceFen: bought.amountFen })))
    const standing = await groupOrder("floor", fan!.phone)
    assert.deepEqual([standing.coach, standing.seatCode, standing.priceFen], [1, "GA0001", floorFareFen])
    const seated = await groupOrder("stand", seatedFan!.phone)
    assert.deepEqual([seated.coach, seated.priceFen], [2, standFareFen])

    const keys = await server.run(client.issuance.publicKeys())
    const decoded = decodeTicket(standing.qr, keyMap(keys))
    assert.ok(decoded.ok && decoded.payload.kind === "event" && decoded.payload.coach === 1 && decoded.payload.trainCode === "E2027")
    // 150 minutes ahead: a train's gate (2 h) would refuse; an event's (3 h) admits
    const gate = await server.run(newGate(server.baseUrl, "nst-gate-7", "NST"))
    const admitted = await server.run(gate.client.checkin.scan({ payload: { qr: standing.qr, presentedHolder: fan!.phone } }))
    assert.equal(admitted.seatCode, "GA0001")
    const elsewhere = await server.run(newGate(server.baseUrl, "wdc-gate-9", "WDC"))
    const refused = await server.run(Effect.flip(elsewhere.client.checkin.scan({ payload: { qr: seated.qr, presentedHolder: seatedFan!.phone } })))
    assert.equal(refused._tag, "TicketNotValidHere")
  })

  test("a single hold on an event is refused, naming group orders, at POST /orders and at a kiosk; no place is taken", async () => {
    const event = await server.run(createTestEvent(server.baseUrl, "NSH", "E2028", 150))
    const fan = await server.run(newCustomer(server.baseUrl))
    for (const hold of [venueHold(event.runId, "NSH", { seatClass: "floor" }), venueHold(event.runId, "NSH", { seat: { coach: 2, seatCode: "02-08" } }), venueHold(event.runId, "NSH")]) {
      const refused = await rawRequest(server.baseUrl, "POST", "/orders", { headers: bearer(fan.token), body: hold })
      assert.equal(refused.status, 422, refused.text)
      assert.equal(tagOf(refused.json), "EventSoldAsGroupOrders")
      assert.match(String((refused.json as { message?: unknown }).message), /group orders/)
    }
    const registered = await server.run(newKiosk(server.baseUrl, "nsh-kiosk-1", "NSH"))
    const kiosk = await rawRequest(server.baseUrl, "POST", "/kiosk/orders", { headers: { "x-device-key": registered.deviceKey }, body: venueHold(event.runId, "NSH") })
    assert.equal(tagOf(kiosk.json), "EventSoldAsGroupOrders", kiosk.text)
    const [taken] = await server.run(storeQuery<{ n: number }>("SELECT COUNT(*) AS n FROM seats WHERE run_id = ? AND occupied_mask <> 0", event.runId))
    assert.equal(Number(taken?.n), 0)
  })

  test("a zone needs seats or a capacity, not both; zones of one class share one fare", async () => {
    const start = startingIn(Date.now(), 600)
    const base = {
      eventCode: "E3000", venue: { code: "NSU", name: "Arena" }, title: "Gala", serviceDate: start.serviceDate,
      startMinuteOfDay: start.startMinuteOfDay, durationMinutes: 90
    }
    const cases = [
      [{ zone: 1, name: "Both", seatClass: "floor", fareFen: 100, standingCapacity: 5, rows: ["SS"] }],
      [{ zone: 1, name: "Neither", seatClass: "floor", fareFen: 100 }],
      [{ zone: 1, name: "A", seatClass: "floor", fareFen: 100, standingCapacity: 5 }, { zone: 2, name: "B", seatClass: "floor", fareFen: 200, standingCapacity: 5 }],
      [{ zone: 1, name: "A", seatClass: "floor", fareFen: 100, standingCapacity: 5 }, { zone: 1, name: "B", seatClass: "stand", fareFen: 200, standingCapacity: 5 }]
    ]
    for (const zones of cases) {
      const refused = await rawRequest(server.baseUrl, "POST", "/admin/events", { headers: admin, body: { ...base, zones } })
      assert.equal(refused.status, 422, JSON.stringify(zones))
      assert.equal(tagOf(refused.json), "InvalidCatalog")
    }
    const client = await server.run(anonymousClient(server.baseUrl))
    assert.deepEqual(await server.run(client.venues.listEvents({ urlParams: { date: start.serviceDate, venue: "NSU" as StationCode } })), [])
    const created = await server.run(Effect.flatMap(adminClient(server.baseUrl), (adminApi) => adminApi.venues.createEvent({
      payload: {
        ...base, eventCode: base.eventCode as TrainCode, venue: { code: "NSU" as StationCode, name: "Arena" },
        zones: [{ zone: 1, name: "A", seatClass: "floor", fareFen: 100 as Fen, standingCapacity: 5 }]
      }
    })))
    assert.deepEqual(created, { runId: "E3000-" + start.serviceDate.replaceAll("-", "") as RunId, seatCount: 5 })
  })
})
