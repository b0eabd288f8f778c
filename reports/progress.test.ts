import assert from "node:assert/strict"
import { test } from "node:test"
import { formatProgress, formatProgressBlock, paymentToIssuanceTracker, progressDisplay } from "./progress.js"
import type { IssuanceEvent } from "./progress.js"

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

test("the p99 so far joins the line once a ticket is issued", () => {
  assert.match(formatProgress({ ...snapshot, paymentToIssuanceP99Ms: 1_412 }), / errors 3 {2}p99 1,412ms {2}\(5\.2s wall\)$/)
  assert.match(formatProgress({ ...snapshot, issued: 0, paymentToIssuanceP99Ms: 0 }), / errors 3 {2}\(5\.2s wall\)$/)
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

const fakeStream = (isTTY: boolean, columns?: number) => {
  const writes: Array<string> = []
  return { writes, stream: { isTTY, ...(columns === undefined ? {} : { columns }), write: (text: string) => writes.push(text) } }
}

/** What a terminal shows after the writes: applies \r, ESC[2K (clear line), ESC[nA (cursor up) and \n. */
const screenAfter = (writes: ReadonlyArray<string>): Array<string> => {
  const screen: Array<string> = []
  let row = 0
  for (const token of writes.join("").match(/\u001b\[(\d*)([AK])|\r|\n|[^\u001b\r\n]+/g) ?? []) {
    const escape = /^\u001b\[(\d*)([AK])$/.exec(token)
    if (escape?.[2] === "A") row = Math.max(0, row - Number(escape[1] || 1))
    else if (escape?.[2] === "K") screen[row] = ""
    else if (token === "\n") row++
    else if (token !== "\r") screen[row] = (screen[row] ?? "") + token
  }
  return screen
}

test("not a terminal: plain lines, one per update, as before", () => {
  const { writes, stream } = fakeStream(false)
  const display = progressDisplay(stream)
  display.update(snapshot)
  display.update({ ...snapshot, issued: 1_200 })
  assert.equal(display.intervalMs, 1_000)
  assert.deepEqual(writes, [formatProgress(snapshot) + "\n", formatProgress({ ...snapshot, issued: 1_200 }) + "\n"])
  assert.doesNotMatch(writes.join(""), /\u001b/)
})

test("a terminal: one block redrawn in place, the second update overwriting the first", () => {
  const { writes, stream } = fakeStream(true, 120)
  const display = progressDisplay(stream)
  display.update({ ...snapshot, paymentToIssuanceP99Ms: 388 })
  const first = screenAfter(writes)
  assert.equal(first.length, 4)
  display.update({ ...snapshot, elapsedVirtualMs: 3_624_000, wallMs: 6_210, issued: 1_400, paymentToIssuanceP99Ms: 412 })
  const second = screenAfter(writes)
  assert.equal(second.length, 4, "the block grew instead of being redrawn")
  assert.match(writes[1] ?? "", /^\u001b\[4A/)
  assert.match(second[0] ?? "", /^chunyun █{20}░{20}  50%  01:00:24 virt$/)
  assert.equal(second[1], "  elapsed   1h 00m 24s virt, 6.2 s wall   remaining 59m 36s virt, ~6.1 s wall")
  assert.equal(second[2], "  arrived 8400  held 1200  paid 1100  issued 1400  admitted 0  errors 3")
  // 300 tickets in the 600 virtual seconds since the last update; 1,400 in 6.21 wall seconds
  assert.equal(second[3], "  rate      0.5 issued/s virt now, 225.4/s wall overall   p99 payment→issuance 412 ms")
})

test("a narrow terminal gets lines cut to its width, so none wraps and breaks the redraw", () => {
  const { writes, stream } = fakeStream(true, 40)
  progressDisplay(stream).update(snapshot)
  const screen = screenAfter(writes)
  assert.ok(screen.every((line) => [...line].length <= 39), screen.join("\n"))
  assert.match(screen[0] ?? "", /^chunyun █{4}░{6}  42%/)
})

test("before any ticket is issued the p99 and the remaining wall time read as unknown, not 0", () => {
  const lines = formatProgressBlock({ ...snapshot, elapsedVirtualMs: 0, issued: 0, paymentToIssuanceP99Ms: 0 }, { columns: 200 })
  assert.match(lines[3] ?? "", /p99 payment→issuance –$/)
  assert.match(lines[1] ?? "", /remaining 2h 00m 00s virt, ~n\/a wall$/)
})

test("the p99 tracker reads only new events, counts only issued tickets, at the report histograms' precision", () => {
  const tracker = paymentToIssuanceTracker()
  const events: Array<IssuanceEvent> = []
  assert.equal(tracker.p99(events), 0)
  for (let index = 1; index <= 100; index++) events.push({ kind: "ticket-received", outcome: "ok", detail: { paymentToIssuanceMs: index * 10 } })
  events.push({ kind: "ticket-received", outcome: "Timeout", detail: { paymentToIssuanceMs: 99_999 } }, { kind: "pay", outcome: "ok" })
  assert.equal(tracker.p99(events), 990)
  // events already read are not read again: were they, these ten would put the p99 at a million
  for (let index = 0; index < 10; index++) events[index] = { kind: "ticket-received", outcome: "ok", detail: { paymentToIssuanceMs: 1_000_000 } }
  for (let index = 0; index < 100; index++) events.push({ kind: "ticket-received", outcome: "ok", detail: { paymentToIssuanceMs: 5_000 } })
  // 3 significant digits, as the report's histograms: 5,000 reads back as its bucket's top, 5,003
  assert.equal(tracker.p99(events), 5_003)
})
