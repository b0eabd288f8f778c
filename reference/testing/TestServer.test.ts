/**
 * The "departing soon" helper must give a run whose check-in window is open now at any hour, or the
 * check-in tests would fail only late at night (China time).
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { departureEpochMs } from "../delivery/Checkin.js"
import { defaultSettings } from "../Config.js"
import { departingSoon, maxStopsOfSoonRun, minutesBetweenStops, serviceDateInDays } from "./TestServer.js"

const msPerMinute = 60_000
const dayMs = 1440 * msPerMinute
/** a Wednesday, 00:00 UTC */
const startMs = Date.parse("2025-01-29T00:00:00Z")
/** a prime step visits every minute offset of the day across the stop counts */
const stepMinutes = 7

describe("departingSoon", () => {
  test("at every time of day the first stop leaves inside the check-in window and every stop stays on its date", () => {
    for (let nowMs = startMs; nowMs < startMs + dayMs; nowMs += stepMinutes * msPerMinute + 13_000) {
      for (let stopCount = 2; stopCount <= maxStopsOfSoonRun; stopCount++) {
        const soon = departingSoon(nowMs, stopCount)
        const departureMs = departureEpochMs(soon.serviceDate, soon.firstDepartureMinuteOfDay, defaultSettings.utcOffsetMinutes)
        const context = `now ${new Date(nowMs).toISOString()}, ${stopCount} stops → ${soon.serviceDate} minute ${soon.firstDepartureMinuteOfDay}`
        assert.ok(departureMs - defaultSettings.checkinOpensBeforeDepartureMs < nowMs, `window not open yet: ${context}`)
        assert.ok(departureMs > nowMs, `already departed: ${context}`)
        assert.ok(soon.firstDepartureMinuteOfDay + (stopCount - 1) * minutesBetweenStops <= 1439, `last stop crosses midnight: ${context}`)
      }
    }
  })

  test("service dates are counted in China time", () => {
    // 2025-01-29 17:00 UTC is 2025-01-30 01:00 in UTC+8
    const nowMs = Date.parse("2025-01-29T17:00:00Z")
    assert.equal(departingSoon(nowMs, 2).serviceDate, "2025-01-30")
    assert.equal(departingSoon(nowMs, 2).firstDepartureMinuteOfDay, 60 + 30)
    assert.equal(serviceDateInDays(nowMs, 0), "2025-01-30")
    assert.equal(serviceDateInDays(nowMs, -2), "2025-01-28")
  })
})
