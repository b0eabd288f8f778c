import assert from "node:assert/strict"
import { test } from "node:test"
import { formatProgress } from "./progress.js"

const snapshot = {
  elapsedVirtualMs: 3_024_000,
  totalVirtualMs: 7_200_000,
  wallMs: 5_210,
  arrived: 8_400,
  held: 1_200,
  paid: 1_100,
  issued: 1_100,
  admitted: 0,
  errors: 3
}

test("the line reads like k6's, with the virtual clock offset from the scenario start", () => {
  assert.equal(
    formatProgress({ ...snapshot, elapsedVirtualMs: 750_000, startClockMs: 28_800_000 }),
    "[ 10%] 08:12:30 virt  arrived 8400  held 1200  paid 1100  issued 1100  admitted 0  errors 3  (5.2s wall)"
  )
  assert.match(formatProgress({ ...snapshot, startClockMs: 28_800_000 }), /^\[ 42%\] 08:50:24 virt /)
})

test("without a start clock the elapsed virtual time is shown", () => {
  assert.match(formatProgress(snapshot), /^\[ 42%\] 00:50:24 virt /)
})

test("the clock wraps at midnight for an overnight scenario", () => {
  assert.match(formatProgress({ ...snapshot, elapsedVirtualMs: 7_200_000, startClockMs: 82_800_000 }), /^\[100%\] 01:00:00 virt /)
})

test("the percentage is floored and clamped, so 100% means the run is over", () => {
  assert.match(formatProgress({ ...snapshot, elapsedVirtualMs: 7_199_999 }), /^\[ 99%\]/)
  assert.match(formatProgress({ ...snapshot, elapsedVirtualMs: 9_000_000 }), /^\[100%\]/)
  assert.match(formatProgress({ ...snapshot, elapsedVirtualMs: -5 }), /^\[ {2}0%\] 00:00:00/)
  assert.match(formatProgress({ ...snapshot, totalVirtualMs: 0 }), /^\[100%\]/)
})
