/**
 * Seat classes with their own fares (seed 000: trains, seat classes, fares per segment): the run keeps
 * one fare per class and segment, search answers availability and price per class, and a hold by class
 * takes a seat of that class at that class's price. The one-fare form stays valid.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import type { NewRun } from "./Catalog/Api.js"
import type { Fen, RunId, StationCode, TrainCode } from "../Domain.js"
import { adminClient, departingSoon, newCustomer, rawRequest, startTestServer } from "../testing/TestServer.js"
import type { TestServer } from "../testing/TestServer.js"

const admin = { "x-admin-key": "chunyun-admin" }
const stations = ["BJP", "TJP", "JNK", "SHH"] as const
const secondFares = [5_000, 7_000, 9_000]
const firstFares = [8_000, 11_000, 15_000]
const businessFares = [15_000, 21_000, 30_000]

const newRun = (trainCode: string, extra: Partial<NewRun>): NewRun => {
  const soon = departingSoon(Date.now(), stations.length)
  return {
    trainCode: trainCode as TrainCode,
    serviceDate: soon.serviceDate,
    stops: stations.map((station, index) => ({
      station: station as StationCode, name: station, departureMinuteOfDay: soon.firstDepartureMinuteOfDay + 5 * index
    })),
    coaches: [
      { coach: 1, seatClass: "business", seatCount: 1 },
      { coach: 2, seatClass: "first", seatCount: 2 },
      { coach: 3, seatClass: "second", seatCount: 5 }
    ],
    ...extra
  }
}

const classFares = {
  fareFenPerSegmentByClass: [
    { seatClass: "business" as const, fareFenPerSegment: businessFares as Array<Fen> },
    { seatClass: "first" as const, fareFenPerSegment: firstFares as Array<Fen> }
  ],
  // second class pays the simple form
  fareFenPerSegment: secondFares as Array<Fen>
}

describe("seat classes and fares", () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
  })
  after(() => server.close())

  const create = (run: NewRun) => server.run(Effect.flatMap(adminClient(server.baseUrl), (client) => client.catalog.createRun({ payload: run })))
  const offerOf = async (runId: RunId, date: string, from: string, to: string) => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const offers = await server.run(customer.client.catalog.search({
      urlParams: { from: from as StationCode, to: to as StationCode, date: date as NewRun["serviceDate"] }
    }))
    return offers.find((offer) => offer.runId === runId)
  }

  test("search shows each class's free seats and its own price for the journey", async () => {
    const run = newRun("G4000", classFares)
    const created = await create(run)
    const offer = await offerOf(created.runId, run.serviceDate, "TJP", "SHH")
    assert.deepEqual(offer?.classes, [
      { seatClass: "second", availableSeats: 5, priceFen: 7_000 + 9_000 },
      { seatClass: "first", availableSeats: 2, priceFen: 11_000 + 15_000 },
      { seatClass: "business", availableSeats: 1, priceFen: 21_000 + 30_000 }
    ])
    assert.equal(offer?.availableSeats, 8)
    assert.equal(offer?.priceFen, 7_000 + 9_000, "the headline price is the cheapest class's")
  })

  test("a hold by class takes a seat of that class at that class's price; the class sells out alone", async () => {
    const run = newRun("G4001", classFares)
    const created = await create(run)
    const [first, second] = await server.run(Effect.all([newCustomer(server.baseUrl), newCustomer(server.baseUrl)]))
    const hold = (customer: typeof first, seatClass?: string) => customer!.client.orders.hold({
      payload: { runId: created.runId, fromStation: "BJP" as StationCode, toStation: "JNK" as StationCode, ...(seatClass ? { seatClass } : {}) }
    })
    const business = await server.run(hold(first, "business"))
    assert.deepEqual([business.coach, business.seatCode, business.seatClass, business.priceFen], [1, "01A", "business", 15_000 + 21_000])
    const soldOut = await server.run(Effect.flip(hold(second, "business")))
    assert.equal(soldOut._tag, "SoldOut")
    const firstClass = await server.run(hold(second, "first"))
    assert.deepEqual([firstClass.coach, firstClass.seatClass, firstClass.priceFen], [2, "first", 8_000 + 11_000])
    // without a class: any free seat, priced by the class of the seat it got
    const any = await server.run(hold(second))
    assert.equal(any.priceFen, any.seatClass === "first" ? 8_000 + 11_000 : 5_000 + 7_000)
    const offer = await offerOf(created.runId, run.serviceDate, "BJP", "SHH")
    assert.equal(offer?.classes.find((entry) => entry.seatClass === "business")?.availableSeats, 0)

    const unknown = await rawRequest(server.baseUrl, "POST", "/orders", {
      headers: { authorization: `Bearer ${first!.token}` },
      body: { runId: created.runId, fromStation: "BJP", toStation: "JNK", seatClass: "standard" }
    })
    assert.equal(unknown.status, 422)
    assert.deepEqual(unknown.json, { _tag: "UnknownSeatClass", runId: created.runId, seatClass: "standard" })
    const mismatch = await rawRequest(server.baseUrl, "POST", "/orders", {
      headers: { authorization: `Bearer ${first!.token}` },
      body: { runId: created.runId, fromStation: "JNK", toStation: "SHH", seatClass: "first", seat: { coach: 1, seatCode: "01A" } }
    })
    assert.equal(mismatch.status, 422)
    assert.deepEqual(mismatch.json, {
      _tag: "UnknownSeat", runId: created.runId, coach: 1, seatCode: "01A", message: "the seat is business, not first"
    })
  })

  test("the one-fare form prices every class the same", async () => {
    const run = newRun("G4002", { fareFenPerSegment: secondFares as Array<Fen> })
    const created = await create(run)
    const offer = await offerOf(created.runId, run.serviceDate, "BJP", "TJP")
    assert.deepEqual(offer?.classes.map((entry) => entry.priceFen), [5_000, 5_000, 5_000])
  })

  test("fares that do not fit the classes or the segments are refused and create nothing", async () => {
    const simple = newRun("G4003", {})
    const cases: ReadonlyArray<readonly [string, object]> = [
      ["a class without fares", { fareFenPerSegmentByClass: classFares.fareFenPerSegmentByClass }],
      ["no fares at all", {}],
      ["fares for a class no coach has", { ...classFares, coaches: [{ coach: 1, seatClass: "second", seatCount: 2 }] }],
      ["a class's fares of the wrong length", { fareFenPerSegment: secondFares, fareFenPerSegmentByClass: [{ seatClass: "first", fareFenPerSegment: [1, 2] }] }],
      ["a class twice", { fareFenPerSegment: secondFares, fareFenPerSegmentByClass: [classFares.fareFenPerSegmentByClass[1], classFares.fareFenPerSegmentByClass[1]] }]
    ]
    for (const [name, fares] of cases) {
      const refused = await rawRequest(server.baseUrl, "POST", "/admin/runs", { headers: admin, body: { ...simple, ...fares } })
      assert.equal(refused.status, 422, name)
      assert.equal((refused.json as { _tag: string })._tag, "InvalidCatalog", name)
    }
    const created = await create({ ...simple, ...classFares })
    assert.equal(created.seatCount, 8)
  })
})
