/**
 * A witness shows, per actor, the events that name the violation's orders and the few just before them,
 * not the actor's first events (a cinema phone's showings and seat maps filled the lines before).
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { History } from "../History.js"
import type { HistoryEvent, HistoryKind } from "../../devices/HistoryEvents.js"
import { eventsBeforeTheNamedOne, HistoryIndex } from "./Witness.js"

const event = (atMs: number, actor: string, kind: HistoryKind, outcome = "ok", detail?: HistoryEvent["detail"]): HistoryEvent =>
  ({ atMs, actor, kind, outcome, ...(detail ? { detail } : {}) })

const historyOf = (events: ReadonlyArray<HistoryEvent>) => {
  const history = new History()
  for (const recorded of events) history.add(recorded)
  return history
}

describe("witness events", () => {
  test("the holds that overlap and the events just before them, interleaved by time", () => {
    // the late phone's first events are a search for showings, its device and seat map, and six lost seats
    const late = [
      event(1, "cinema-25", "showings"), event(2, "cinema-25", "register-device"), event(3, "cinema-25", "seat-map"),
      ...Array.from({ length: 6 }, (_, index) => event(10 + index, "cinema-25", "hold-seat", "SeatTaken")),
      event(20, "cinema-25", "hold-seat", "ok", { orderId: "O1", seat: "05-11" }),
      event(21, "cinema-25", "gateway-pay", "ok", { orderId: "O1" }),
      event(22, "cinema-25", "ticket-received", "ok", { orderId: "O1", ticketId: "T1" })
    ]
    const early = [event(5, "cinema-53", "showings"), event(18, "cinema-53", "hold-seat", "ok", { orderId: "O2" }), event(19, "cinema-53", "search")]
    const index = new HistoryIndex(historyOf([...late, ...early].sort((left, right) => left.atMs - right.atMs)))
    const shown = index.witnessEvents({ line: "seat 91: order O1 overlaps order O2", orders: ["O1", "O2"] })
    const ofLate = shown.filter((shownEvent) => shownEvent.actor === "cinema-25")
    // the seats it lost just before, then the hold, payment and ticket of O1
    assert.deepEqual(ofLate.map((shownEvent) => `${shownEvent.kind} ${shownEvent.outcome}`),
      [...Array.from({ length: eventsBeforeTheNamedOne }, () => "hold-seat SeatTaken"), "hold-seat ok", "gateway-pay ok", "ticket-received ok"])
    assert.deepEqual(shown.filter((shownEvent) => shownEvent.actor === "cinema-53").map((shownEvent) => shownEvent.atMs), [5, 18])
    assert.deepEqual(shown.map((shownEvent) => shownEvent.atMs), [...shown.map((shownEvent) => shownEvent.atMs)].sort((left, right) => left - right))
  })

  test("an actor named without an order of its own shows its first events", () => {
    const index = new HistoryIndex(historyOf(Array.from({ length: 9 }, (_, atMs) => event(atMs, "gate-1", "scan"))))
    assert.deepEqual(index.witnessEvents({ line: "ticket T9 admitted twice", actors: ["gate-1"] }).map((shownEvent) => shownEvent.atMs), [0, 1, 2, 3, 4, 5])
  })
})
