/**
 * Order statistics over real HTTP (seed 002 [0076], [0083]): paid orders and revenue by train, by service
 * day and by customer class (VIP by spend, province and age band from the resident ID), admin only.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import { localDateOf } from "./Customers/Classification.js"
import { ageBandOf, makeResidentId } from "./Customers/ResidentId.js"
import type { StationCode } from "./Domain.js"
import type { StatisticsGrouping } from "./Statistics/Api.js"
import { buyJourney, customerWithResidentId, newDevice } from "./testing/Customers.js"
import type { TestSignedIn } from "./testing/Customers.js"
import {
  adminClient, createRun, rawRequest, serviceDateInDays, startTestServer, tagOf, withTestServer
} from "./testing/TestServer.js"
import type { TestRun, TestServer } from "./testing/TestServer.js"

const vipSpendThresholdFen = 40_000
const shortFareFen = 12_500
const longFareFen = 20_000

/** `years` before `todayIso`, plus `days` */
const birthDate = (todayIso: string, years: number, days = 0) => {
  const date = new Date(`${Number(todayIso.slice(0, 4)) - years}${todayIso.slice(4)}T00:00:00Z`)
  date.setUTCDate(date.getUTCDate() + days)
  return date.toISOString().slice(0, 10)
}
const compact = (isoDate: string) => isoDate.replaceAll("-", "")

const statistics = (server: TestServer, by: StatisticsGrouping) =>
  server.run(Effect.flatMap(adminClient(server.baseUrl), (admin) => admin.statistics.orderStatistics({ urlParams: { by } })))
const table = async (server: TestServer, by: StatisticsGrouping) =>
  Object.fromEntries((await statistics(server, by)).rows.map((row) => [row.key, [row.paidOrders, row.revenueFen]]))

describe("order statistics", () => {
  let server: TestServer
  let today: string
  let shortRun: TestRun
  let longRun: TestRun
  let young: TestSignedIn
  before(async () => {
    server = await startTestServer({ vipSpendThresholdFen })
    today = localDateOf(Date.now(), server.settings.utcOffsetMinutes)
    shortRun = await server.run(createRun(server.baseUrl, {
      trainCode: "G101", stations: ["BJP", "TJP"], seatCount: 20, fareFenPerSegment: shortFareFen
    }))
    longRun = await server.run(createRun(server.baseUrl, {
      trainCode: "G202", stations: ["SHH", "NJH"], seatCount: 20, fareFenPerSegment: longFareFen,
      serviceDate: serviceDateInDays(Date.now(), 3), firstDepartureMinuteOfDay: 600
    }))
    // Beijing, 20 years old, four short journeys: 50,000 fen, VIP
    young = await server.run(customerWithResidentId(server.baseUrl, makeResidentId("110105", compact(birthDate(today, 20)), "011")))
    for (let trip = 1; trip <= 4; trip++) await server.run(buyJourney(young, shortRun, `young-${trip}`))
    // an order held and never paid counts nowhere
    await server.run(young.client.orders.hold({ payload: { runId: shortRun.runId, fromStation: "BJP" as StationCode, toStation: "TJP" as StationCode } }))
    // Guangdong, 50 years old, one of each: 32,500 fen
    const older = await server.run(customerWithResidentId(server.baseUrl, makeResidentId("440305", compact(birthDate(today, 50)), "022")))
    await server.run(buyJourney(older, shortRun, "older-1"))
    await server.run(buyJourney(older, longRun, "older-2"))
    // an anonymous device: no region, no age
    const device = await server.run(newDevice(server.baseUrl))
    await server.run(buyJourney(device, longRun, "device-1"))
  })
  after(() => server.close())

  test("by train and by service day", async () => {
    assert.deepEqual(await table(server, "train"), { G101: [5, 5 * shortFareFen], G202: [2, 2 * longFareFen] })
    assert.deepEqual(await table(server, "service-day"), {
      [shortRun.serviceDate]: [5, 5 * shortFareFen], [longRun.serviceDate]: [2, 2 * longFareFen]
    })
  })

  test("by customer class: VIP by spend, province and age band from the resident ID", async () => {
    assert.deepEqual(await table(server, "vip"), {
      vip: [4, 4 * shortFareFen], regular: [3, shortFareFen + 2 * longFareFen]
    })
    assert.deepEqual(await table(server, "region"), {
      Beijing: [4, 4 * shortFareFen], Guangdong: [2, shortFareFen + longFareFen], unknown: [1, longFareFen]
    })
    assert.deepEqual(await table(server, "age-band"), {
      "18-29": [4, 4 * shortFareFen], "45-59": [2, shortFareFen + longFareFen], unknown: [1, longFareFen]
    })
    const answer = await statistics(server, "age-band")
    assert.equal(answer.asOfDate, today)
    assert.deepEqual(answer.rows.map((row) => row.refundedOrders), [0, 0, 0])
  })

  test("a customer's own profile shows the class statistics count them in", async () => {
    const profile = await server.run(young.client.profile.getProfile())
    assert.equal(profile.netSpendFen, 4 * shortFareFen)
    assert.deepEqual(profile.classification, { vip: true, region: "Beijing", ageBand: "18-29" })
  })

  test("only the operator reads statistics (403), and an unknown grouping is a decode error (400)", async () => {
    const anonymous = await rawRequest(server.baseUrl, "GET", "/admin/statistics/orders?by=train")
    assert.equal(anonymous.status, 403)
    assert.equal(tagOf(anonymous.json), "Forbidden")
    const unknown = await rawRequest(server.baseUrl, "GET", "/admin/statistics/orders?by=phone", {
      headers: { "x-admin-key": server.settings.adminKey }
    })
    assert.equal(unknown.status, 400)
    assert.equal(tagOf(unknown.json), "HttpApiDecodeError")
  })
})

test("the age bands of statistics agree with ageBandOf on both sides of every boundary", async () => {
  await withTestServer({}, async (server) => {
    const today = localDateOf(Date.now(), server.settings.utcOffsetMinutes)
    const run = await server.run(createRun(server.baseUrl, { trainCode: "G303", stations: ["BJP", "TJP"], seatCount: 20, fareFenPerSegment: 1_000 }))
    const births = [18, 30, 45, 60].flatMap((years) => [birthDate(today, years), birthDate(today, years, 1)])
    const expected: Record<string, [number, number]> = {}
    for (const [index, birth] of births.entries()) {
      const customer = await server.run(customerWithResidentId(server.baseUrl, makeResidentId("310115", compact(birth), String(index).padStart(3, "0"))))
      await server.run(buyJourney(customer, run, `band-${index}`))
      const band = ageBandOf(birth, today)
      expected[band] = [(expected[band]?.[0] ?? 0) + 1, (expected[band]?.[1] ?? 0) + 1_000]
    }
    assert.equal(Object.keys(expected).length, 5, "the birth dates do not reach every band")
    assert.deepEqual(await table(server, "age-band"), expected)
    assert.equal((await server.run(Effect.flatMap(adminClient(server.baseUrl), (admin) =>
      admin.statistics.orderStatistics({ urlParams: { by: "region" } })))).rows[0]?.key, "Shanghai")
  })
})

