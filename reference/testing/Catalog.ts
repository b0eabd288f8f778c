/**
 * Test helpers for the catalog: cinemas, showings and events starting at a chosen time from the
 * Clock's now, and buying a ticket for any run (top up, hold, pay, fetch the ticket).
 */
import { Clock, Effect } from "effect"
import { defaultSettings } from "../Config.js"
import type { Fen, RunId, ServiceDate, StationCode, TrainCode } from "../Domain.js"
import type { HoldRequest } from "../ticketing/Orders/Api.js"
import type { NewEvent } from "../ticketing/Venues/Api.js"
import { adminClient } from "./TestServer.js"
import type { TestCustomer } from "./TestServer.js"

const msPerMinute = 60_000
const minutesPerDay = 1440

/** The service date and minute of day (in the server's UTC offset) `minutes` after `nowMs`. */
export const startingIn = (nowMs: number, minutes: number, utcOffsetMinutes = defaultSettings.utcOffsetMinutes) => {
  const localMs = nowMs + (utcOffsetMinutes + minutes) * msPerMinute
  return {
    serviceDate: new Date(localMs).toISOString().slice(0, 10) as ServiceDate,
    startMinuteOfDay: Math.floor(localMs / msPerMinute) % minutesPerDay
  }
}

/**
 * Hall 1 of the test cinema: three seated rows with an aisle, a cross aisle, and a VIP row at the back.
 * Seats: 01-01..01-06, 02-01..02-06, 03-01..03-04 (V). Grid: row 2 is the cross aisle.
 */
export const testHallRows = ["SSS.SSS", "SSS.SSS", ".......", ".VV.VV."] as const

export const createTestCinema = (baseUrl: string, code: string) =>
  Effect.gen(function* () {
    const admin = yield* adminClient(baseUrl)
    return yield* admin.venues.createCinema({
      payload: { code: code as StationCode, name: `Cinema ${code}`, city: "Beijing", halls: [{ hall: 1, name: "Hall 1", rows: testHallRows }] }
    })
  })

export const standardFareFen = 4_500
export const vipFareFen = 8_000

/** A showing in hall 1 of `cinema`, starting `minutesAhead` after the Clock's now. */
export const createTestShowing = (baseUrl: string, cinema: string, showingCode: string, minutesAhead: number) =>
  Effect.gen(function* () {
    const admin = yield* adminClient(baseUrl)
    const start = startingIn(yield* Clock.currentTimeMillis, minutesAhead)
    const created = yield* admin.venues.createShowing({
      payload: {
        showingCode: showingCode as TrainCode, cinema: cinema as StationCode, hall: 1, serviceDate: start.serviceDate,
        startMinuteOfDay: start.startMinuteOfDay, film: { title: "Lost in the Stars", durationMinutes: 120 },
        fares: [{ seatClass: "standard", fareFen: standardFareFen as Fen }, { seatClass: "vip", fareFen: vipFareFen as Fen }]
      }
    })
    return { ...created, ...start }
  })

export const floorFareFen = 68_000
export const standFareFen = 38_000

/** An event at `venue` with a standing floor (zone 1, 30 places) and a seated stand (zone 2, rows as a hall's). */
export const createTestEvent = (baseUrl: string, venue: string, eventCode: string, minutesAhead: number) =>
  Effect.gen(function* () {
    const admin = yield* adminClient(baseUrl)
    const start = startingIn(yield* Clock.currentTimeMillis, minutesAhead)
    const payload: NewEvent = {
      eventCode: eventCode as TrainCode, venue: { code: venue as StationCode, name: `Stadium ${venue}` }, title: "Spring Gala",
      serviceDate: start.serviceDate, startMinuteOfDay: start.startMinuteOfDay, durationMinutes: 180,
      zones: [
        { zone: 1, name: "Floor", seatClass: "floor", fareFen: floorFareFen as Fen, standingCapacity: 30 },
        { zone: 2, name: "Stand A", seatClass: "stand", fareFen: standFareFen as Fen, rows: ["SSSS.SSSS", "SSSS.SSSS"] }
      ]
    }
    const created = yield* admin.venues.createEvent({ payload })
    return { ...created, ...start }
  })

/** A hold at a venue: both stations are the venue's code. */
export const venueHold = (runId: RunId, venue: string, extra: Pick<HoldRequest, "seatClass" | "seat"> = {}): HoldRequest => ({
  runId, fromStation: venue as StationCode, toStation: venue as StationCode, ...extra
})

let payments = 0
/** Tops the customer up, holds, pays and fetches the ticket. */
export const buyTicket = (customer: TestCustomer, request: HoldRequest) =>
  Effect.gen(function* () {
    payments++
    yield* customer.client.accounts.topUp({ headers: { "idempotency-key": `catalog-topup-${payments}` }, payload: { amountFen: 500_000 as Fen } })
    const order = yield* customer.client.orders.hold({ payload: request })
    yield* customer.client.accounts.pay({
      path: { orderId: order.orderId }, headers: { "idempotency-key": `catalog-pay-${payments}` },
      payload: { paymentPassword: customer.paymentPassword }
    })
    const ticket = yield* customer.client.issuance.getTicket({ path: { orderId: order.orderId } })
    return { order, ticket }
  })
