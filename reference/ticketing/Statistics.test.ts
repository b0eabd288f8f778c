/**
 * Order statistics over real HTTP (seed 002 [0076], [0079], [0083]): paid orders and revenue by train, by service
 * day, by customer class (VIP by spend, province and age band from the resident ID), and sold, refunded and
 * changed orders with revenue by route (origin→destination) and by departure hour, admin only.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import { centreAccountId } from "../payments/Accounts/Repo.js"
import { localDateOf } from "../customers/Customers/Classification.js"
import { ageBandOf, makeResidentId } from "../customers/Customers/ResidentId.js"
import type { StationCode } from "../Domain.js"
import type { StatisticsGrouping } from "./Statistics/Api.js"
import { buyJourney, customerWithResidentId, newDevice } from "../testing/Customers.js"
import type { TestSignedIn } from "../testing/Customers.js"
import { buyTicket, cancelOrder, changeOrder, fundedCustomer, holdOn } from "../testing/Lifecycle.js"
import {
  adminClient, createRun, rawRequest, serviceDateInDays, startTestServer, storeQuery, tagOf, withTestServer
} from "../testing/TestServer.js"
import type { TestRun, TestServer } from "../testing/TestServer.js"

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


describe("order statistics by route and by departure hour", () => {
  // K1 stops at BJP 07:58, TJP 08:03, JNK 08:08 (5 minutes apart), 10,000 fen a segment; K3 BJP 09:40 → JNK, 10,000 fen;
  // K2 BJP 19:30 → JNK, 30,000 fen
  const morningFirstMinute = 7 * 60 + 58
  const lateMorningFirstMinute = 9 * 60 + 40
  const eveningFirstMinute = 19 * 60 + 30
  let server: TestServer
  const rowsBy = async (by: StatisticsGrouping) => {
    const answer = await statistics(server, by)
    return answer.rows.map((row) => [row.key, row.paidOrders, row.refundedOrders, row.changedOrders, row.revenueFen])
  }
  before(async () => {
    server = await startTestServer()
    // four days ahead: every refund and change below falls in the 5 % tier (48 hours to 8 days before departure)
    const serviceDate = serviceDateInDays(Date.now(), 4)
    const morning = await server.run(createRun(server.baseUrl, {
      trainCode: "K1", stations: ["BJP", "TJP", "JNK"], seatCount: 10, fareFenPerSegment: 10_000, serviceDate, firstDepartureMinuteOfDay: morningFirstMinute
    }))
    const lateMorning = await server.run(createRun(server.baseUrl, {
      trainCode: "K3", stations: ["BJP", "JNK"], seatCount: 10, fareFenPerSegment: 10_000, serviceDate, firstDepartureMinuteOfDay: lateMorningFirstMinute
    }))
    const evening = await server.run(createRun(server.baseUrl, {
      trainCode: "K2", stations: ["BJP", "JNK"], seatCount: 10, fareFenPerSegment: 30_000, serviceDate, firstDepartureMinuteOfDay: eveningFirstMinute
    }))
    const [bjp, tjp, jnk] = ["BJP", "TJP", "JNK"] as Array<StationCode>
    const alice = await server.run(fundedCustomer(server.baseUrl))
    const bob = await server.run(fundedCustomer(server.baseUrl))
    // 1. alice BJP→JNK on K1 at 07:58: 20,000 fen, kept
    await server.run(buyTicket(alice, morning, bjp, jnk))
    // 2. alice TJP→JNK on K1 at 08:03: 10,000 fen, changed to K3 BJP→JNK at 09:40 for the same fare: no money moves, and
    // the new order is sold all the same
    const sameFare = await server.run(buyTicket(alice, morning, tjp, jnk))
    const even = await server.run(changeOrder(alice, sameFare.order.orderId, lateMorning))
    assert.deepEqual([even.chargedFen, even.refundedFen], [0, 0])
    // 3. bob BJP→TJP on K1 at 07:58: 10,000 fen, refunded less the 5 % fee: 500 fen kept
    const refunded = await server.run(buyTicket(bob, morning, bjp, tjp))
    const cancelled = await server.run(cancelOrder(bob, refunded.order.orderId))
    assert.deepEqual([cancelled.state, cancelled.feeFen, cancelled.refundFen], ["refunded", 500, 9_500])
    // 4. bob BJP→JNK on K1 at 07:58: 20,000 fen, changed to K2 BJP→JNK at 19:30 (30,000 fen): 10,000 fen more charged,
    // on the new order
    const changed = await server.run(buyTicket(bob, morning, bjp, jnk))
    const change = await server.run(changeOrder(bob, changed.order.orderId, evening, { password: bob.paymentPassword }))
    assert.equal(change.chargedFen, 10_000)
    // held and never paid: counted nowhere
    await server.run(holdOn(alice, evening))
  })
  after(() => server.close())

  test("by route: sold, refunded, changed and revenue per origin→destination", async () => {
    assert.deepEqual(await rowsBy("route"), [
      // orders 1 and 4 on K1 (4 changed away), the K3 order 2 became, the K2 order 4 became: 20,000 + 20,000 + 0 + 10,000
      ["BJP→JNK", 4, 0, 1, 50_000],
      ["BJP→TJP", 1, 1, 0, 500],
      ["TJP→JNK", 1, 0, 1, 10_000]
    ])
  })

  test("by hour of day: the boarding stop's departure hour", async () => {
    assert.deepEqual(await rowsBy("hour-of-day"), [
      // orders 1, 3 and 4 board at 07:58: 20,000 + 500 + 20,000
      ["07:00", 3, 1, 1, 40_500],
      ["08:00", 1, 0, 1, 10_000],
      ["09:00", 1, 0, 0, 0],
      ["19:00", 1, 0, 0, 10_000]
    ])
  })

  test("by train, the same orders: the refund and the change counted there too, and every grouping sums to the ledger", async () => {
    assert.deepEqual(await rowsBy("train"), [["K1", 4, 1, 2, 50_500], ["K2", 1, 0, 0, 10_000], ["K3", 1, 0, 0, 0]])
    const [centre] = await server.run(storeQuery<{ kept_fen: number }>(`SELECT
        SUM(CASE WHEN credit_account_id = ? THEN amount_fen ELSE -amount_fen END) AS kept_fen
      FROM transfers WHERE order_id IS NOT NULL AND (credit_account_id = ? OR debit_account_id = ?)`, centreAccountId, centreAccountId, centreAccountId))
    assert.equal(Number(centre!.kept_fen), 60_500)
    for (const by of ["route", "hour-of-day", "train", "service-day", "vip"] as const) {
      const total = (await statistics(server, by)).rows.reduce((sum, row) => sum + row.revenueFen, 0)
      assert.equal(total, 60_500, by)
    }
  })
})
