import assert from "node:assert/strict"
import { test } from "node:test"
import { History } from "../simulator/History.js"
import type { HistoryEvent } from "../devices/HistoryEvents.js"
import { countsOf } from "./metrics.js"
import { PassengerProgress } from "../simulator/Progress.js"
import { formatProgress, formatProgressBlock, paymentToIssuanceTracker, progressDisplay, progressReporter, remainingAtPace } from "./progress.js"
import type { IssuanceEvent } from "./progress.js"

const snapshot = {
  elapsedVirtualMs: 3_024_000,
  totalVirtualMs: 7_200_000,
  wallMs: 5_210,
  passengers: 20_000,
  arrived: 8_400,
  finished: 8_000,
  held: 1_200,
  paid: 1_100,
  issued: 1_100,
  admitted: 0,
  errors: 3
}

test("the line reads like k6's: work done, the virtual clock offset from the scenario start, the counts, wall time and what is left", () => {
  assert.equal(
    formatProgress({ ...snapshot, elapsedVirtualMs: 750_000, startClockMs: 28_800_000, remainingWallMs: 7_400 }),
    "[ 41%] 08:12:30 virt  done 8000/20000  arrived 8400  held 1200  paid 1100  issued 1100  admitted 0  errors 3  (5.2s wall, ~7.4 s left)"
  )
  assert.match(formatProgress({ ...snapshot, startClockMs: 28_800_000 }), /^\[ 41%\] 08:50:24 virt .*\(5\.2s wall, \? left\)$/)
})

test("the p99 so far joins the line once a ticket is issued", () => {
  assert.match(formatProgress({ ...snapshot, paymentToIssuanceP99Ms: 1_412 }), / errors 3 {2}p99 1,412ms {2}\(5\.2s wall, \? left\)$/)
  assert.match(formatProgress({ ...snapshot, issued: 0, paymentToIssuanceP99Ms: 0 }), / errors 3 {2}\(5\.2s wall, \? left\)$/)
})

test("the recent pace joins the line: requests per wall-second and the clock's acceleration, with a decimal below ten", () => {
  assert.match(formatProgress({ ...snapshot, requestsPerWallSecond: 1_234.4, acceleration: 56.2 }), / errors 3 {2}1,234 req\/s {2}×56 {2}\(5\.2s wall, \? left\)$/)
  assert.match(formatProgress({ ...snapshot, requestsPerWallSecond: 410, acceleration: 0.44 }), / 410 req\/s {2}×0\.4 {2}\(/)
  assert.match(formatProgressBlock({ ...snapshot, requestsPerWallSecond: 980, acceleration: 12 }, { columns: 200 }).at(-1) ?? "", / 980 req\/s {2}×12$/)
})

test("without a start clock the elapsed virtual time is shown", () => {
  assert.match(formatProgress(snapshot), /^\[ 41%\] 00:50:24 virt /)
})

test("the clock wraps at midnight for an overnight scenario", () => {
  assert.match(formatProgress({ ...snapshot, elapsedVirtualMs: 7_200_000, startClockMs: 82_800_000 }), /^\[ 41%\] 01:00:00 virt /)
})

test("the percentage is work done, not virtual time: a passenger is half done when it arrives, done when its journey is over", () => {
  // the first virtual minute of the rush: most of the run's work, 1 % of its virtual time
  const rush = { ...snapshot, elapsedVirtualMs: 60_000, totalVirtualMs: 21_000_000, passengers: 3_000, arrived: 1_500, finished: 300 }
  assert.match(formatProgress(rush), /^\[ 30%\] /)
  assert.match(formatProgress({ ...rush, arrived: 3_000, finished: 2_999 }), /^\[ 99%\] /, "floored, and 100 only once the run is over")
  assert.match(formatProgress({ ...rush, arrived: 3_000, finished: 3_000 }), /^\[ 99%\] /)
  assert.match(formatProgress({ ...rush, done: true }), /^\[100%\] .*\(5\.2s wall, 0\.0 s left\)$/)
  assert.match(formatProgress({ ...rush, arrived: 0, finished: 0 }), /^\[ {2}0%\] /)
  assert.match(formatProgress({ ...rush, passengers: 0 }), /^\[100%\]/, "a run with no passengers has nothing left to do")
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
  display.update({
    ...snapshot, elapsedVirtualMs: 3_624_000, wallMs: 6_210, arrived: 12_000, finished: 8_000, issued: 1_400, paymentToIssuanceP99Ms: 412,
    remainingWallMs: 4_300
  })
  const second = screenAfter(writes)
  assert.equal(second.length, 4, "the block grew instead of being redrawn")
  assert.match(writes[1] ?? "", /^\u001b\[4A/)
  // (12,000 + 8,000) / 2 of 20,000 passengers
  assert.match(second[0] ?? "", /^chunyun █{20}░{20}  50%  01:00:24 virt$/)
  assert.equal(second[1], "  passengers 8000 done of 20000, 12000 arrived   elapsed 6.2 s wall, remaining ~4.3 s wall")
  assert.equal(second[2], "  held 1200  paid 1100  issued 1400  admitted 0  errors 3")
  // 300 tickets in the 600 virtual seconds since the last update; 1,400 in 6.21 wall seconds
  assert.equal(second[3], "  rate      0.5 issued/s virt now, 225.4/s wall overall   p99 payment→issuance 412 ms")
})

test("a narrow terminal gets lines cut to its width, so none wraps and breaks the redraw", () => {
  const { writes, stream } = fakeStream(true, 40)
  progressDisplay(stream).update(snapshot)
  const screen = screenAfter(writes)
  assert.ok(screen.every((line) => [...line].length <= 39), screen.join("\n"))
  assert.match(screen[0] ?? "", /^chunyun █{4}░{6}  41%/)
})

test("before any ticket is issued the p99 reads as unknown, and so does the remaining time before there is a pace", () => {
  const lines = formatProgressBlock({ ...snapshot, elapsedVirtualMs: 0, issued: 0, paymentToIssuanceP99Ms: 0 }, { columns: 200 })
  assert.match(lines[3] ?? "", /p99 payment→issuance –$/)
  assert.match(lines[1] ?? "", /remaining \? wall$/)
})

test("the remaining time is the work left at the pace of the last 20 wall seconds; no pace, no estimate", () => {
  const remaining = remainingAtPace()
  assert.equal(remaining(0, 0, 1_000), undefined)
  assert.equal(remaining(1_000, 0, 1_000), undefined, "nothing done yet: no pace")
  // 100 passengers of work in 2 s: 900 left at 50 a second
  assert.equal(remaining(2_000, 100, 1_000), 18_000)
  // a fast start, then 10 a second: the window forgets the start
  for (let second = 3; second <= 40; second++) remaining(second * 1_000, 100 + (second - 2) * 10, 1_000)
  assert.equal(remaining(41_000, 490, 1_000), 51_000)
  // the pace stops: once the window holds no work done, the estimate is withdrawn rather than stretched to infinity
  for (let second = 42; second <= 62; second++) remaining(second * 1_000, 490, 1_000)
  assert.equal(remaining(63_000, 490, 1_000), undefined)
})

/** A run's progress as a runner offers it: a history and its passengers' journeys. */
const runProgress = (nowMs: number, history: History, passengers: PassengerProgress) => ({ nowMs, history, passengers })

test("the reporter draws by the wall clock it is given, however little virtual time passed, and always the final state", () => {
  const { writes, stream } = fakeStream(false)
  let wallMs = 10_000
  const report = progressReporter({ stream, startMs: 0, endMs: 3_600_000, wallNowMs: () => wallMs })
  const history = new History()
  const passengers = new PassengerProgress(4)
  // the virtual clock stands still at one busy instant while wall time passes
  report(runProgress(60_000, history, passengers))
  wallMs += 400
  passengers.watch.started()
  report(runProgress(60_000, history, passengers))
  assert.equal(writes.length, 1, "a log gets a line a second, not one per offer")
  wallMs += 700
  report(runProgress(60_000, history, passengers))
  assert.equal(writes.length, 2)
  assert.match(writes[1] ?? "", /^\[ 12%\] 00:01:00 virt {2}done 0\/4 {2}arrived 1 .* 0 req\/s {2}×0\.0 {2}\(1\.1s wall, ~7\.7 s left\)\n$/,
    "no request, and the clock stood still, since the line before")
  wallMs += 10
  passengers.watch.started()
  passengers.watch.ended()
  report(runProgress(3_600_000, history, passengers), true)
  assert.equal(writes.length, 3, "the final state is drawn whatever the interval")
  assert.match(writes[2] ?? "", /^\[100%\] 01:00:00 virt {2}done 1\/4 {2}arrived 2 /)
})

test("the reporter's pace is measured between its drawings: requests per wall-second and virtual time per wall time", () => {
  const { writes, stream } = fakeStream(false)
  let wallMs = 0
  const report = progressReporter({ stream, startMs: 0, endMs: 3_600_000, wallNowMs: () => wallMs })
  const history = new History()
  const passengers = new PassengerProgress(4)
  history.add({ atMs: 0, actor: "phone-1", kind: "search", outcome: "ok", durationMs: 5 })
  report(runProgress(1_000, history, passengers))
  assert.doesNotMatch(writes[0] ?? "", /req\/s/, "the first line has no drawing before it to measure from")
  // 2 s of wall time later: 6 more requests (one of them refused) and 150 s more of virtual time
  for (let index = 0; index < 6; index++) history.add({ atMs: 1_000, actor: "phone-1", kind: "search", outcome: index === 0 ? "ResponseLost" : "ok", durationMs: 5 })
  history.add({ atMs: 1_000, actor: "phone-1", kind: "gave-up", outcome: "SoldOut" })
  wallMs += 2_000
  report(runProgress(151_000, history, passengers))
  assert.match(writes[1] ?? "", / 3 req\/s {2}×75 {2}\(2\.0s wall/)
})

test("the reporter counts every journey kind as the report does, and the passengers the run will never start are not waited for", () => {
  const { writes, stream } = fakeStream(false)
  let wallMs = 0
  const report = progressReporter({ stream, startMs: 0, endMs: 3_600_000, wallNowMs: () => wallMs })
  const history = new History()
  const events: Array<HistoryEvent> = [
    // cinema: a seat chosen on the map, paid through the gateway
    { atMs: 1_000, actor: "cinema-1", kind: "hold-seat", outcome: "ok", durationMs: 20 },
    { atMs: 1_100, actor: "cinema-1", kind: "gateway-captured", outcome: "ok", detail: { orderId: "o-1", attempt: 1 } },
    { atMs: 1_200, actor: "cinema-1", kind: "ticket-received", outcome: "ok", detail: { paymentToIssuanceMs: 300 } },
    // stadium: an organiser's group order holds and pays one order per fan; each fan's ticket arrives
    { atMs: 1_300, actor: "organiser", kind: "group-order", outcome: "ok", durationMs: 40, detail: { tickets: 2 } },
    { atMs: 1_400, actor: "fan-1", kind: "ticket-received", outcome: "ok", detail: { paymentToIssuanceMs: 10 } },
    { atMs: 1_400, actor: "fan-2", kind: "ticket-received", outcome: "ok", detail: { paymentToIssuanceMs: 10 } },
    { atMs: 1_500, actor: "fan-1", kind: "scan", outcome: "ok", durationMs: 80 },
    // kiosk: a remote booking by a call-centre agent, paid by card at a kiosk; a walk-up sale
    { atMs: 1_600, actor: "agent-agent-1", kind: "book-for-caller", outcome: "ok", durationMs: 30 },
    { atMs: 1_700, actor: "kiosk-BJP-K1", kind: "pay-remote", outcome: "ok", durationMs: 30 },
    { atMs: 1_800, actor: "kiosk-BJP-K1", kind: "hold", outcome: "ok", durationMs: 30 },
    { atMs: 1_900, actor: "kiosk-BJP-K1", kind: "pay", outcome: "CardDeclined", durationMs: 30 },
    { atMs: 2_000, actor: "phone-9", kind: "pay", outcome: "ResponseLost", detail: { attempt: 0 } },
    // an iteration the load dropped: that passenger never comes
    { atMs: 2_100, actor: "phone-7", kind: "dropped-iteration", outcome: "dropped", detail: { maxVus: 1 } }
  ]
  for (const event of events) history.add(event)
  const passengers = new PassengerProgress(6)
  passengers.notStarted = 1
  for (let index = 0; index < 4; index++) passengers.watch.started()
  report(runProgress(60_000, history, passengers))
  const counts = countsOf(history, 6)
  assert.equal(counts.ordersHeld, 5)
  assert.equal(counts.ordersPaid, 4)
  assert.equal(
    writes[0],
    `[ 50%] 00:01:00 virt  done 0/4  arrived 4  held ${counts.ordersHeld}  paid ${counts.ordersPaid}  issued ${counts.ticketsIssued}` +
      `  admitted ${counts.admitted}  errors ${counts.errors}  p99 300ms  (0.0s wall, ? left)\n`
  )
  assert.equal(counts.errors, 2)
})

test("the p99 tracker reads only new events, counts only issued tickets, at the report histograms' precision", () => {
  const tracker = paymentToIssuanceTracker()
  const events: Array<IssuanceEvent> = []
  const growing = { readFrom: (from: number) => events.slice(from) }
  assert.equal(tracker.p99(growing), 0)
  for (let index = 1; index <= 100; index++) events.push({ kind: "ticket-received", outcome: "ok", detail: { paymentToIssuanceMs: index * 10 } })
  events.push({ kind: "ticket-received", outcome: "Timeout", detail: { paymentToIssuanceMs: 99_999 } }, { kind: "pay", outcome: "ok" })
  assert.equal(tracker.p99(growing), 990)
  // events already read are not read again: were they, these ten would put the p99 at a million
  for (let index = 0; index < 10; index++) events[index] = { kind: "ticket-received", outcome: "ok", detail: { paymentToIssuanceMs: 1_000_000 } }
  for (let index = 0; index < 100; index++) events.push({ kind: "ticket-received", outcome: "ok", detail: { paymentToIssuanceMs: 5_000 } })
  // 3 significant digits, as the report's histograms: 5,000 reads back as its bucket's top, 5,003
  assert.equal(tracker.p99(growing), 5_003)
})

test("a real run's clock is the scenario's timeline, named so in the line and the block; a virtual run's is virt", () => {
  const base = { elapsedVirtualMs: 600_000, totalVirtualMs: 3_600_000, wallMs: 5_000, passengers: 10, arrived: 5, finished: 2, held: 1, paid: 1, issued: 1, admitted: 0, errors: 0, startClockMs: 28_800_000 }
  assert.match(formatProgress({ ...base, clock: "scenario" }), /^\[ *\d+%\] 08:10:00 scen /)
  assert.match(formatProgress(base), /^\[ *\d+%\] 08:10:00 virt /)
  const block = formatProgressBlock({ ...base, clock: "scenario" }, { columns: 200 })
  assert.match(block[0] ?? "", /08:10:00 scen$/)
  assert.match(block[3] ?? "", /issued\/s scen now/)
})
