/**
 * Witnesses: a violation is found in the store (or the history) and named by its rows; the witness adds the
 * history events of the actors involved (the two phones whose orders overlap: their holds and payments, with
 * their virtual times), so a reader sees what each party did and was told, and can replay those actors.
 */
import type { InvariantResult } from "../../reports/Report.js"
import type { HistoryEvent } from "../../devices/HistoryEvents.js"

/** lines a witness keeps (statements and events together); every violation is still counted */
export const maxWitnessLines = 20
/** violations whose actors' events are shown; the rest are listed by their statement only */
export const maxViolationsWithEvents = 2
/** events shown per actor of a violation, the first ones after its noise is dropped */
export const maxEventsPerActor = 6
/** events shown before an actor's first event naming the violation's rows */
export const eventsBeforeTheNamedOne = 2
/** actors a result names (for the replay command line) */
export const maxActorsNamed = 8

/** Calls that say nothing about money, seats or tickets: left out of witnesses. */
const noiseKinds: ReadonlySet<string> = new Set(["search", "register", "login", "get-ticket"])

export interface Violation {
  /** the statement: what is wrong, naming the rows */
  readonly line: string
  /** the orders and tickets it names, to find the actors that made them */
  readonly orders?: ReadonlyArray<string>
  readonly tickets?: ReadonlyArray<string>
  /** actors named directly (a violation found in the history) */
  readonly actors?: ReadonlyArray<string>
  /** exactly these events, instead of the actors' calls (the attempts of one idempotency key) */
  readonly events?: ReadonlyArray<HistoryEvent>
}

/**
 * Who made which order and holds which ticket, from the `orderId` and `ticketId` the history's events carry. An
 * actor's own events are read from the history when a witness needs them, for those actors only.
 */
export class HistoryIndex {
  readonly actorOfOrder = new Map<string, string>()
  readonly actorOfTicket = new Map<string, string>()
  private readonly eventsOfActor = new Map<string, ReadonlyArray<HistoryEvent>>()

  constructor(readonly history: { readonly read: () => Iterable<HistoryEvent> }) {
    for (const event of history.read()) {
      const orderId = event.detail?.orderId
      const ticketId = event.detail?.ticketId
      if (typeof orderId === "string" && !this.actorOfOrder.has(orderId)) this.actorOfOrder.set(orderId, event.actor)
      if (typeof ticketId === "string" && !this.actorOfTicket.has(ticketId)) this.actorOfTicket.set(ticketId, event.actor)
    }
  }

  /** Each of `actors`' events, in order: one pass over the history for the actors not read before. */
  eventsOf(actors: ReadonlyArray<string>): ReadonlyMap<string, ReadonlyArray<HistoryEvent>> {
    const unread = new Map(actors.filter((actor) => !this.eventsOfActor.has(actor)).map((actor) => [actor, [] as Array<HistoryEvent>]))
    if (unread.size > 0) {
      for (const event of this.history.read()) unread.get(event.actor)?.push(event)
      for (const [actor, events] of unread) this.eventsOfActor.set(actor, events)
    }
    return this.eventsOfActor
  }

  actorsOf(violation: Violation): ReadonlyArray<string> {
    const actors = new Set(violation.actors ?? [])
    for (const orderId of violation.orders ?? []) { const actor = this.actorOfOrder.get(orderId); if (actor) actors.add(actor) }
    for (const ticketId of violation.tickets ?? []) { const actor = this.actorOfTicket.get(ticketId); if (actor) actors.add(actor) }
    for (const event of violation.events ?? []) actors.add(event.actor)
    return [...actors]
  }

  /**
   * Per actor, `maxEventsPerActor` events from just before the first one naming the violation's orders or
   * tickets (the seat it lost before its hold, then the hold, payment and ticket); the actor's first events
   * when none names them.
   */
  witnessEvents(violation: Violation): ReadonlyArray<HistoryEvent> {
    if (violation.events) return violation.events
    const named = new Set([...(violation.orders ?? []), ...(violation.tickets ?? [])])
    const names = (event: HistoryEvent) => named.has(String(event.detail?.orderId)) || named.has(String(event.detail?.ticketId))
    const actors = this.actorsOf(violation)
    const eventsOfActor = this.eventsOf(actors)
    const eventsOf = (actor: string) => {
      const events = (eventsOfActor.get(actor) ?? []).filter((event) => !noiseKinds.has(event.kind))
      const start = Math.max(0, events.findIndex(names) - eventsBeforeTheNamedOne)
      return events.slice(start, start + maxEventsPerActor)
    }
    // interleaved by time, as they happened: the race between two phones reads in order
    return actors.flatMap(eventsOf).sort((left, right) => left.atMs - right.atMs)
  }
}

const msPerDay = 86_400_000
/** the scenarios' clocks read China Standard Time (reference/Config.ts utcOffsetMinutes) */
const displayOffsetMs = 8 * 3_600_000
const pad = (value: number, width = 2) => String(value).padStart(width, "0")

/** Virtual epoch ms as a time of day in China Standard Time, to the millisecond: `08:01:02.345`. */
export const timeOfDay = (atMs: number) => {
  const ms = (((atMs + displayOffsetMs) % msPerDay) + msPerDay) % msPerDay
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1_000) % 60)}.${pad(ms % 1_000, 3)}`
}

/** One history event as a witness line: `  @08:01:02.345 phone-12 hold ok orderId=O… seat=05A`. */
export const formatEvent = (event: HistoryEvent) => {
  const detail = Object.entries(event.detail ?? {}).map(([key, value]) => `${key}=${value}`).join(" ")
  return `  @${timeOfDay(event.atMs)} ${event.actor} ${event.kind} ${event.outcome}${detail ? ` ${detail}` : ""}`
}

/** The result of one invariant: every violation counted; the first ones' statements followed by their actors' events. */
export const invariantResult = (
  name: string, description: string, violations: ReadonlyArray<Violation>, index: HistoryIndex
): InvariantResult => {
  if (violations.length === 0) return { name, description, violations: 0 }
  const witness: Array<string> = []
  const actors = new Set<string>()
  violations.forEach((violation, position) => {
    witness.push(violation.line)
    for (const actor of index.actorsOf(violation)) actors.add(actor)
    if (position < maxViolationsWithEvents) witness.push(...index.witnessEvents(violation).map(formatEvent))
  })
  const named = [...actors].slice(0, maxActorsNamed)
  return {
    name, description, violations: violations.length, witness: witness.slice(0, maxWitnessLines),
    ...(named.length > 0 ? { actors: named } : {})
  }
}
