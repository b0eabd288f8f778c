/**
 * What the history records: one event per device call or notable moment, each of a kind named in `HistoryKinds`.
 * Devices and journeys write these kinds; the metrics and the audits read them. Both sides use this one union,
 * so a misspelt kind is a type error, not a count that silently stays at zero.
 */

/** Every kind of history event, as it appears in the trace (the strings are part of the trace hash). */
export const HistoryKinds = [
  // a passenger's app, SMS and carrier phones
  "search", "register", "login", "hold", "seat-map", "hold-seat", "book-remote", "top-up", "pay", "get-ticket",
  "ticket-received", "gave-up", "qr-unreadable", "qr-enlarged", "scan", "register-device", "voucher",
  // gateway payments (devices/GatewayPayment.ts) and the simulated gateway's counters
  "gateway-pay", "gateway-status", "gateway-captured", "gateway-declined", "cancel", "gateway-counters",
  // the cinema goer
  "showings",
  // kiosks, their printers and card readers, remote bookings and the call centre
  "print-jobs", "print-fault", "print", "paper-refilled", "print-ack", "card-read", "remote-booking", "pay-remote",
  "pay-card", "pickup", "get-voucher", "ticket-picked-up", "remote-booked", "remote-no-show", "agent-login",
  "book-for-caller",
  // SMS booking: the phones' commands and the gateway
  "sms-sent", "sms-buy", "sms-pay", "sms-status", "sms-cancel", "sms-lost", "sms-pull",
  // SIM carriers
  "register-carrier", "carrier-sync", "carrier-removed", "carrier-remove",
  // fans at a stadium: the organiser's group orders, screenshots, offline gates
  "create-event", "group-order", "scan-screenshot", "glare-retry", "gate-sync", "offline-report",
  // the operator, the faults' windows, the server's crash, the load executor
  "run-created", "fault-start", "fault-end", "killed", "dropped-iteration"
] as const

/** The kind of a history event: one of `HistoryKinds`. */
export type HistoryKind = typeof HistoryKinds[number]

/** What an event carries beside its kind and outcome: plain values only, so the trace is plain JSON. */
export type EventDetail = Readonly<Record<string, string | number | boolean | null>>

/** One event of the history: a device call (with its latency) or a notable moment. */
export interface HistoryEvent {
  /** virtual (or, in real mode, scenario-clock) ms */
  readonly atMs: number
  readonly actor: string
  readonly kind: HistoryKind
  /** "ok" or the error's tag */
  readonly outcome: string
  /** latency of a call, in the clock of `atMs` */
  readonly durationMs?: number
  readonly detail?: EventDetail
}

/** the operator's event naming a train run it created and its stops in order (`detail.runId`, `detail.stops`: codes, space-separated) */
export const runCreatedKind = "run-created" satisfies HistoryKind

/** The tag of an expected failure, or a short description of anything else. */
export const outcomeOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "_tag" in error) {
    const tagged = error as { _tag: string; reason?: unknown; response?: { status?: number } }
    if (tagged._tag === "ResponseError" && tagged.response?.status) return `HTTP${tagged.response.status}`
    return tagged._tag
  }
  return "UnknownError"
}
