/**
 * The invariants a client can see, checked over the run's history of client observations alone (as Jepsen checks
 * a history): no store is read, so a run against a server whose store is out of reach is still audited. Each
 * check reads only what devices were answered (and, for a lost answer, what the wire carried: devices/ClientRetries.ts),
 * and a violation's witness is the events that show it.
 *
 * - history-no-double-booking: two clients told they hold one seat on overlapping segments of one run, and both
 *   given a ticket for it, with neither order cancelled before the other's hold.
 * - history-paid-gets-ticket: an order answered paid whose ticket never reached a client by the end of the run
 *   (polling after the payment counts), unless its client cancelled it.
 * - history-admitted-once: a ticket admitted online twice (an offline gate cannot know: its doubles are counted
 *   when it syncs, and said beside the result).
 * - history-charged-once: one idempotency key answered with two different transfers (wallet top-ups and payments) or
 *   two different charges (a gateway payment's attempt).
 */
import type { InvariantResult } from "../../reports/Report.js"
import type { HistoryEvent, HistoryKind } from "../../devices/HistoryEvents.js"
import { runCreatedKind } from "../../devices/HistoryEvents.js"
import { HistoryIndex, invariantResult, timeOfDay } from "./Witness.js"
import type { Violation } from "./Witness.js"

export const historyInvariantNames = [
  "history-no-double-booking", "history-paid-gets-ticket", "history-admitted-once", "history-charged-once"
] as const
export type HistoryInvariantName = typeof historyInvariantNames[number]

/** The events the audit reads, and nothing else of a run: each call reads them again from the first, in order. */
export interface HistoryEvents {
  readonly read: () => Iterable<HistoryEvent>
}

/** A fixed list of events as the audit reads them. */
export const eventsOf = (events: ReadonlyArray<HistoryEvent>): HistoryEvents => ({ read: () => events })

/** events a paid order's witness shows after its payment: the last ones of its actor (the polls, giving up) */
export const maxEventsAfterPayment = 3

const isOk = (event: HistoryEvent) => event.outcome === "ok"
const text = (event: HistoryEvent, key: string): string | undefined => {
  const value = event.detail?.[key]
  return typeof value === "string" ? value : undefined
}
const byTime = (left: HistoryEvent, right: HistoryEvent) => left.atMs - right.atMs

// ---- what clients were told ------------------------------------------------------------------------------------

/** An answer that told a client it holds a seat: any event whose detail names the order, run, coach, seat and segment. */
interface SeatClaim {
  readonly orderId: string
  readonly runId: string
  readonly coach: string
  readonly seat: string
  readonly from: string
  readonly to: string
  readonly event: HistoryEvent
}

const seatClaimOf = (event: HistoryEvent): SeatClaim | undefined => {
  const [orderId, runId, seat, from, to] = ["orderId", "runId", "seat", "from", "to"].map((key) => text(event, key))
  const coach = event.detail?.coach
  if (!isOk(event) || orderId === undefined || runId === undefined || seat === undefined || from === undefined || to === undefined) return undefined
  if (typeof coach !== "number" && typeof coach !== "string") return undefined
  return { orderId, runId, coach: String(coach), seat, from, to, event }
}

/**
 * The order an event names: its `orderId`, or the order its SMS reference (`smsRef`) stands for. An SMS phone is
 * told its order's reference; the answer that held the order named both.
 */
const orderNamer = (events: Iterable<HistoryEvent>) => {
  const orderOfReference = new Map<string, string>()
  for (const event of events) {
    const [orderId, reference] = [text(event, "orderId"), text(event, "smsRef")]
    if (orderId !== undefined && reference !== undefined) orderOfReference.set(reference, orderId)
  }
  return (event: HistoryEvent): string | undefined => {
    const reference = text(event, "smsRef")
    return text(event, "orderId") ?? (reference === undefined ? undefined : orderOfReference.get(reference))
  }
}
type OrderNamer = ReturnType<typeof orderNamer>

/** The first ok event of `kind` about each order. */
const firstOfKind = (events: Iterable<HistoryEvent>, orderOf: OrderNamer, kind: HistoryKind) => {
  const first = new Map<string, HistoryEvent>()
  for (const event of events) {
    const orderId = event.kind === kind && isOk(event) ? orderOf(event) : undefined
    if (orderId !== undefined && !first.has(orderId)) first.set(orderId, event)
  }
  return first
}
/** The first event telling each order's ticket reached a client (`ticket-received`). */
const ticketsReceived = (events: Iterable<HistoryEvent>, orderOf: OrderNamer) => firstOfKind(events, orderOf, "ticket-received")
/** The first answer to each order's cancellation that its client was given (`cancel` ok): the seat went back then. */
const cancellations = (events: Iterable<HistoryEvent>, orderOf: OrderNamer) => firstOfKind(events, orderOf, "cancel")

/** Each train run's stops in order, from the operator's `run-created` events. */
const routesOf = (events: Iterable<HistoryEvent>) => {
  const routes = new Map<string, ReadonlyArray<string>>()
  for (const event of events) {
    const runId = text(event, "runId")
    const stops = text(event, "stops")
    if (event.kind === runCreatedKind && runId !== undefined && stops !== undefined) routes.set(runId, stops.split(" "))
  }
  return routes
}

/**
 * Whether two segments of one run share a stretch of track. A venue's order (from = to: a showing or an event) is
 * the whole run. With the run's route, the stops' positions decide; without it, only segments that start or end at
 * the same stop are known to overlap, so nothing is reported that the history does not show.
 */
const segmentsOverlap = (left: SeatClaim, right: SeatClaim, route: ReadonlyArray<string> | undefined) => {
  if (left.from === left.to || right.from === right.to) return true
  const positions = route === undefined ? undefined : [left.from, left.to, right.from, right.to].map((station) => route.indexOf(station))
  if (positions === undefined || positions.some((position) => position === -1)) return left.from === right.from || left.to === right.to
  const [leftFrom, leftTo, rightFrom, rightTo] = positions as [number, number, number, number]
  return leftFrom < rightTo && rightFrom < leftTo
}

// ---- the invariants ----------------------------------------------------------------------------------------------

/**
 * Two orders of one seat on overlapping segments of one run, both with a ticket in a client's hands: a seat sold
 * twice, unless one order was cancelled (its client answered so) before the other's hold was sent.
 */
export const seatsIssuedOnce = (history: HistoryEvents): ReadonlyArray<Violation> => {
  const orderOf = orderNamer(history.read())
  const received = ticketsReceived(history.read(), orderOf)
  const cancelled = cancellations(history.read(), orderOf)
  const routes = routesOf(history.read())
  const bySeat = new Map<string, Array<SeatClaim>>()
  const seen = new Set<string>()
  for (const event of history.read()) {
    const claim = seatClaimOf(event)
    if (claim === undefined || !received.has(claim.orderId) || seen.has(claim.orderId)) continue
    seen.add(claim.orderId)
    const seatKey = JSON.stringify([claim.runId, claim.coach, claim.seat])
    bySeat.set(seatKey, [...(bySeat.get(seatKey) ?? []), claim])
  }
  const releasedBefore = (earlier: SeatClaim, later: SeatClaim) => {
    const cancel = cancelled.get(earlier.orderId)
    return cancel !== undefined && cancel.atMs <= later.event.atMs
  }
  const violations: Array<Violation> = []
  for (const claims of bySeat.values()) {
    claims.forEach((first, index) => {
      for (const second of claims.slice(index + 1)) {
        if (!segmentsOverlap(first, second, routes.get(first.runId)) || releasedBefore(first, second) || releasedBefore(second, first)) continue
        const [firstTicket, secondTicket] = [received.get(first.orderId)!, received.get(second.orderId)!]
        violations.push({
          line: `seat ${first.runId} coach ${first.coach} ${first.seat}: order ${first.orderId} (${first.event.actor}, ${first.from}→${first.to}) ` +
            `and order ${second.orderId} (${second.event.actor}, ${second.from}→${second.to}) overlap, and both were issued tickets ` +
            `(${text(firstTicket, "ticketId") ?? "?"}, ${text(secondTicket, "ticketId") ?? "?"})`,
          events: [first.event, second.event, firstTicket, secondTicket].sort(byTime)
        })
      }
    })
  }
  return violations
}

/** the kinds of an answer saying an order is paid: a wallet or card payment (`pay`, `pay-remote`), a gateway capture */
const paymentKinds: ReadonlySet<string> = new Set(["pay", "pay-remote", "gateway-captured"])
/** an order's state in a payment answer that says it is paid (the ticket may come with it or later) */
const paidStates: ReadonlySet<string> = new Set(["paid", "issued"])

/** The orders payment answers said were paid, each with the first such answer. */
const paidOrders = (events: Iterable<HistoryEvent>, orderOf: OrderNamer) => {
  const paid = new Map<string, HistoryEvent>()
  for (const event of events) {
    if (!paymentKinds.has(event.kind) || !isOk(event)) continue
    const state = text(event, "state")
    if (state !== undefined && !paidStates.has(state)) continue
    const orderId = orderOf(event)
    if (orderId !== undefined && !paid.has(orderId)) paid.set(orderId, event)
  }
  return paid
}

/**
 * Every order answered paid has its ticket reach a client (`ticket-received`, at any time after: polling counts) by
 * the end of the run, unless its client cancelled it. The witness: the payment's answer, then the last events of
 * its client (its polls answered `TicketNotIssued`, giving up).
 */
export const paidGetsTicket = (history: HistoryEvents): ReadonlyArray<Violation> => {
  const orderOf = orderNamer(history.read())
  const received = ticketsReceived(history.read(), orderOf)
  const cancelled = cancellations(history.read(), orderOf)
  const unserved = [...paidOrders(history.read(), orderOf)].filter(([orderId]) => !received.has(orderId) && !cancelled.has(orderId))
  if (unserved.length === 0) return []
  // the events of the actors who paid for those orders, read once more: only theirs are kept
  const eventsOfActor = new Map(unserved.map(([, payment]) => [payment.actor, [] as Array<HistoryEvent>]))
  for (const event of history.read()) eventsOfActor.get(event.actor)?.push(event)
  return unserved.map(([orderId, payment]) => {
    const own = eventsOfActor.get(payment.actor) ?? []
    const paymentAt = own.findIndex((event) => sameEvent(event, payment))
    const after = own.slice(paymentAt + 1)
    const polls = after.filter((event) => event.kind === "get-ticket").length
    return {
      line: `order ${orderId}: ${payment.actor} was answered paid at ${timeOfDay(payment.atMs)} (${payment.kind}), ` +
        `but no ticket reached a client by the end of the run (${polls} polls after)`,
      events: [payment, ...after.slice(-maxEventsAfterPayment)]
    }
  })
}

/** Whether two events are the same one: a history read from its file gives new objects on every read. */
const sameEvent = (left: HistoryEvent, right: HistoryEvent) => left === right || JSON.stringify(left) === JSON.stringify(right)

/** A gate's answer admitting a ticket: `scan` ok naming it; `offline` when the gate admitted it without its link. */
const admissionsOf = (events: Iterable<HistoryEvent>) => {
  const online = new Map<string, Array<HistoryEvent>>()
  const all = new Map<string, number>()
  const offlineTickets = new Set<string>()
  for (const event of events) {
    const ticketId = text(event, "ticketId")
    if (event.kind !== "scan" || !isOk(event) || ticketId === undefined) continue
    all.set(ticketId, (all.get(ticketId) ?? 0) + 1)
    if (event.detail?.offline === true) offlineTickets.add(ticketId)
    else online.set(ticketId, [...(online.get(ticketId) ?? []), event])
  }
  // a ticket let in n times, one of them at least offline: n − 1 doubles the offline gates' syncs must count
  const offlineDoubles = [...offlineTickets].reduce((sum, ticketId) => sum + (all.get(ticketId) ?? 1) - 1, 0)
  return { online, offlineDoubles }
}

/** No ticket is admitted twice by gates that asked the server (a second successful online admission of one ticket ID). */
export const admittedOnceOnline = (history: HistoryEvents): ReadonlyArray<Violation> =>
  [...admissionsOf(history.read()).online].filter(([, scans]) => scans.length > 1).map(([ticketId, scans]) => ({
    line: `ticket ${ticketId}: admitted ${scans.length} times online (gates ${scans.map((scan) => text(scan, "gate") ?? "?").join(", ")})`,
    events: scans
  }))

/** The answers given for one idempotency key: a keyed call's `key`, or a gateway payment's order and attempt. */
interface KeyedAnswers {
  readonly what: string
  readonly events: Array<HistoryEvent>
  /** the transfers or charges the answers named, lost ones included, in order of first mention */
  readonly named: Array<string>
}

const keyedAnswers = (events: Iterable<HistoryEvent>) => {
  const groups = new Map<string, KeyedAnswers>()
  const add = (id: string, what: string, event: HistoryEvent, named: string | undefined) => {
    const group = groups.get(id) ?? { what, events: [], named: [] }
    groups.set(id, group)
    group.events.push(event)
    if (named !== undefined && !group.named.includes(named)) group.named.push(named)
  }
  for (const event of events) {
    const key = text(event, "key")
    if (key !== undefined) {
      add(JSON.stringify([event.actor, event.kind, key]), `key ${key} (${event.actor} ${event.kind})`, event, text(event, "transferId"))
      continue
    }
    // a gateway payment's key is its order's and attempt's: one charge each
    const [orderId, attempt] = [text(event, "orderId"), event.detail?.attempt]
    if (event.kind === "gateway-pay" && orderId !== undefined && typeof attempt === "number") {
      add(JSON.stringify([event.actor, event.kind, orderId, attempt]), `gateway payment of order ${orderId}, attempt ${attempt} (${event.actor})`,
        event, text(event, "chargeId"))
    }
  }
  return [...groups.values()]
}

/** One idempotency key, one charge: every answer given for a key (lost ones included) names the same transfer or charge. */
export const chargedOnceByKey = (history: HistoryEvents): ReadonlyArray<Violation> =>
  keyedAnswers(history.read()).filter((group) => group.named.length > 1).map((group) => ({
    line: `${group.what}: ${group.events.length} attempts, ${group.events.filter((event) => event.outcome === "ResponseLost").length} answers lost; ` +
      `the answers name ${group.named.length} different charges ${group.named.join(", ")}`,
    events: group.events
  }))

/** The history's invariants, each with its witness events; they read no store. */
export const auditHistory = (history: HistoryEvents): ReadonlyArray<InvariantResult> => {
  const index = new HistoryIndex(history)
  const { offlineDoubles } = admissionsOf(history.read())
  const checks: ReadonlyArray<readonly [HistoryInvariantName, string, (history: HistoryEvents) => ReadonlyArray<Violation>]> = [
    ["history-no-double-booking", "No two clients are issued tickets for one seat on overlapping segments of a run, as their answers told them", seatsIssuedOnce],
    ["history-paid-gets-ticket", "Every order answered paid has its ticket reach a client by the end of the run (or is cancelled by its client)", paidGetsTicket],
    ["history-admitted-once", `No ticket is admitted twice by gates online${offlineDoubles === 0 ? "" : `; ${offlineDoubles} double admissions by offline gates seen, counted at their sync`}`, admittedOnceOnline],
    ["history-charged-once", "Every answer for one idempotency key names one charge (transfer or gateway charge)", chargedOnceByKey]
  ]
  return checks.map(([name, description, check]) => ({ ...invariantResult(name, description, check(history), index), source: "history" as const }))
}
