/**
 * A gate scanner (seed 000's check-in, seed 003's reader): reads what the phone shows — camera pixels,
 * decoded with jsQR, or the text when the scenario does not sample pixels — or the ticket bytes of a SIM
 * carrier over RFID/NFC, and asks the server to admit. A camera with glare or out of focus really damages the
 * captured pixels (devices/Qr.ts), so an unreadable code is jsQR's verdict, not a coin flip. Offline, the gate
 * verifies the signature itself and keeps a bounded admission log, synced in batches when the link is back.
 */
import { Clock, Effect } from "effect"
import { departureEpochMs } from "../reference/delivery/Checkin.js"
import type { Admission } from "../reference/delivery/Checkin/Api.js"
import { maxAdmissionsPerSync } from "../reference/delivery/GateSync/Api.js"
import type { OfflineAdmission, SyncResult } from "../reference/delivery/GateSync/Api.js"
import type { SyncOutcome } from "../reference/delivery/GateSync/Api.js"
import { decodeTicket, publicKeyFromRaw, ticketTextPrefix } from "../reference/delivery/Issuance/TicketCode.js"
import type { ApiClient } from "./Client.js"
import { applyBlur, applyGlare, decodeQr, renderQr } from "./Qr.js"
import type { GlareSpot, PixelImage } from "./Qr.js"

/** what the passenger holds to the reader: the phone's screen (pixels, or its text when pixels are not sampled) or a SIM carrier */
export type PhoneDisplay =
  | { readonly kind: "pixels"; readonly image: PixelImage }
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "carrier"; readonly bytes: Uint8Array }

export class UnreadableCode {
  readonly _tag = "UnreadableCode"
}

/** Glare on the screen as the camera sees it: a disc, placed and sized as fractions of the captured image's width and height. */
export interface GlareFraction {
  readonly centerXFraction: number
  readonly centerYFraction: number
  readonly radiusFraction: number
}

/**
 * How the camera captures this presentation: clean, with glare washing out a disc of the image, out of focus
 * (a box blur of `blurRadiusPx` camera pixels; the camera sees the shown image one camera pixel a screen pixel), or both.
 */
export interface Capture {
  readonly glare?: GlareFraction
  readonly blurRadiusPx?: number
}

const spotOn = (image: PixelImage, glare: GlareFraction): GlareSpot => ({
  centerX: glare.centerXFraction * image.width, centerY: glare.centerYFraction * image.height, radiusPx: glare.radiusFraction * image.width
})

/**
 * The same camera and the same light when the phone shows its code `factor` times larger about the code's
 * centre. The glare is a reflection on the screen: it stays where it falls and keeps its size, so in the
 * enlarged code's frame it is `factor` times smaller and nearer the centre. The blur is the lens's, fixed in
 * camera pixels, so it keeps its radius while each module spans `factor` times more pixels.
 */
export const captureOfEnlarged = (capture: Capture, factor: number): Capture => {
  if (capture.glare === undefined) return capture
  const toEnlarged = (fraction: number) => 0.5 + (fraction - 0.5) / factor
  const glare: GlareFraction = {
    centerXFraction: toEnlarged(capture.glare.centerXFraction), centerYFraction: toEnlarged(capture.glare.centerYFraction),
    radiusFraction: capture.glare.radiusFraction / factor
  }
  return { ...capture, glare }
}

/**
 * The text the reader gets. A carrier's bytes come over RFID/NFC, no camera involved. Glare (on the screen)
 * then blur (in the lens) damage the captured pixels; a screen shown as text is rendered first: the shortcut
 * only stands for an undamaged capture.
 */
export const readDisplay = (display: PhoneDisplay, capture: Capture = {}): string | undefined => {
  if (display.kind === "carrier") return ticketTextPrefix + Buffer.from(display.bytes).toString("base64url")
  if (capture.glare === undefined && capture.blurRadiusPx === undefined) return display.kind === "pixels" ? decodeQr(display.image) : display.text
  const image = display.kind === "pixels" ? display.image : renderQr(display.text)
  const glared = capture.glare === undefined ? image : applyGlare(image, spotOn(image, capture.glare))
  return decodeQr(capture.blurRadiusPx === undefined ? glared : applyBlur(glared, capture.blurRadiusPx))
}

type ScanError = Effect.Effect.Error<ReturnType<ApiClient["checkin"]["scan"]>>

export interface GateScanner {
  readonly gateId: string
  readonly station: string
  /** read, then admit: one presentation */
  readonly scan: (display: PhoneDisplay, presentedHolder: string, capture?: Capture) => Effect.Effect<Admission, ScanError | UnreadableCode>
  /** what the reader gets from one presentation (`readDisplay`); undefined when the camera could not read the code */
  readonly read: (display: PhoneDisplay, capture?: Capture) => string | undefined
  /** ask the server to admit the ticket the reader read */
  readonly admit: (text: string, presentedHolder: string) => Effect.Effect<Admission, ScanError>
}

export const makeGateScanner = (client: ApiClient, gateId: string, station: string): GateScanner => {
  const admit = (text: string, presentedHolder: string) => client.checkin.scan({ payload: { qr: text, presentedHolder } })
  return {
    gateId,
    station,
    read: readDisplay,
    admit,
    scan: (display, presentedHolder, capture) =>
      Effect.gen(function* () {
        const text = readDisplay(display, capture)
        if (text === undefined) return yield* Effect.fail(new UnreadableCode())
        return yield* admit(text, presentedHolder)
      })
  }
}

// ---- offline mode (seeds 000, 003): the gate lost its link ----------------------------------------

export class OfflineRefusal {
  readonly _tag = "OfflineRefusal"
  constructor(
    readonly reason: "unverified" | "wrong-station" | "outside-window" | "already-admitted-here" | "log-full", readonly detail: string
  ) {}
}

/** the check-in window the gate enforces on its own (the server's defaults unless a scenario says otherwise) */
export interface OfflineWindow {
  readonly checkinOpensBeforeDepartureMs: number
  readonly checkinClosesAfterDepartureMs: number
  readonly utcOffsetMinutes: number
  /** an event's window around its start (the server's `eventCheckin…`); without them, event tickets get the train window */
  readonly eventCheckinOpensBeforeStartMs?: number
  readonly eventCheckinClosesAfterStartMs?: number
}

/** How many admissions a gate keeps while offline; beyond it, it refuses ("log-full") rather than admit what it cannot report. */
export const defaultOfflineLogCapacityAdmissions = 20_000

const windowFor = (window: OfflineWindow, kind: string) =>
  kind === "event" && window.eventCheckinOpensBeforeStartMs !== undefined && window.eventCheckinClosesAfterStartMs !== undefined
    ? { opensBeforeMs: window.eventCheckinOpensBeforeStartMs, closesAfterMs: window.eventCheckinClosesAfterStartMs }
    : { opensBeforeMs: window.checkinOpensBeforeDepartureMs, closesAfterMs: window.checkinClosesAfterDepartureMs }

export interface OfflineGateScanner {
  readonly gateId: string
  readonly station: string
  /** verify with the public keys fetched while online, admit, and remember the admission */
  readonly scan: (display: PhoneDisplay, presentedHolder: string, capture?: Capture) => Effect.Effect<OfflineAdmission & { readonly ticketId: string }, OfflineRefusal | UnreadableCode>
  /** admissions not yet acknowledged by a sync */
  readonly pending: () => ReadonlyArray<OfflineAdmission>
  /** the link is back: report every pending admission; those the server answered leave the queue */
  readonly sync: Effect.Effect<SyncResult, Effect.Effect.Error<ReturnType<ApiClient["gateSync"]["sync"]>>>
}

/**
 * A gate that verifies tickets itself. It fetches the public keys once (while it still has a link); the
 * binding to the holder's phone it cannot check (its salt stays on the server), so the server checks it at sync.
 */
export const makeOfflineGateScanner = (
  client: ApiClient, gateId: string, station: string, window: OfflineWindow,
  logCapacityAdmissions: number = defaultOfflineLogCapacityAdmissions
) =>
  Effect.gen(function* () {
    const published = yield* client.issuance.publicKeys()
    const publicKeys = new Map(published.map((key) => [key.keyId, publicKeyFromRaw(Buffer.from(key.publicKeyBase64, "base64"))]))
    const admittedHere = new Set<string>()
    let queue: Array<OfflineAdmission> = []
    const scanner: OfflineGateScanner = {
      gateId,
      station,
      scan: (display, presentedHolder, capture) =>
        Effect.gen(function* () {
          const text = readDisplay(display, capture)
          if (text === undefined) return yield* Effect.fail(new UnreadableCode())
          const decoded = decodeTicket(text, publicKeys)
          if (!decoded.ok) return yield* Effect.fail(new OfflineRefusal("unverified", `${decoded.failure.reason}: ${decoded.failure.detail}`))
          const payload = decoded.payload
          if (payload.fromStation !== station) return yield* Effect.fail(new OfflineRefusal("wrong-station", `boards at ${payload.fromStation}`))
          const nowMs = yield* Clock.currentTimeMillis
          const departureMs = departureEpochMs(payload.serviceDate, payload.departureMinuteOfDay, window.utcOffsetMinutes)
          const { opensBeforeMs, closesAfterMs } = windowFor(window, payload.kind)
          if (nowMs < departureMs - opensBeforeMs || nowMs > departureMs + closesAfterMs) {
            return yield* Effect.fail(new OfflineRefusal("outside-window", `departs at ${departureMs}`))
          }
          if (admittedHere.has(payload.ticketId)) return yield* Effect.fail(new OfflineRefusal("already-admitted-here", payload.ticketId))
          if (queue.length >= logCapacityAdmissions) return yield* Effect.fail(new OfflineRefusal("log-full", `${queue.length} admissions await a sync`))
          admittedHere.add(payload.ticketId)
          const admission: OfflineAdmission = { qr: text, presentedHolder, admittedAtMs: nowMs }
          queue.push(admission)
          return { ...admission, ticketId: payload.ticketId }
        }),
      pending: () => [...queue],
      sync: Effect.gen(function* () {
        const batch = queue.slice(0, maxAdmissionsPerSync)
        const result = yield* client.gateSync.sync({ payload: { admissions: batch } })
        queue = queue.slice(batch.length)
        return result
      })
    }
    return scanner
  })

// ---- a gate with a link that can fail (the stadium's gates) -------------------------------------------

export type SyncTotals = { readonly [Outcome in SyncOutcome]: number } & { readonly batches: number }

export type GateAdmission =
  | { readonly mode: "online"; readonly ticketId: string }
  | { readonly mode: "offline"; readonly ticketId: string }

export interface LinkedGate {
  readonly gateId: string
  readonly station: string
  readonly online: () => boolean
  /** the link drops (true → false) or comes back; what was admitted meanwhile waits for `syncAll` */
  readonly setOnline: (online: boolean) => void
  /** admits through the server while the link is up, on its own while it is down */
  readonly scan: (display: PhoneDisplay, presentedHolder: string, capture?: Capture) =>
    Effect.Effect<GateAdmission, ScanError | UnreadableCode | OfflineRefusal>
  readonly pending: () => number
  /** reports every pending admission, `maxAdmissionsPerSync` a call, and totals the server's verdicts */
  readonly syncAll: Effect.Effect<SyncTotals, Effect.Effect.Error<ReturnType<ApiClient["gateSync"]["sync"]>>>
}

/**
 * A gate that works online and, when its link drops, offline. It fetches the public keys while it is still
 * online (at start), as a real gate caches them. Online or offline is decided when the code has been read,
 * with no wait between that decision and the offline log, so nothing is admitted offline after a sync began.
 */
export const makeLinkedGate = (
  client: ApiClient, gateId: string, station: string, window: OfflineWindow,
  logCapacityAdmissions: number = defaultOfflineLogCapacityAdmissions
) =>
  Effect.gen(function* () {
    const onlineScanner = makeGateScanner(client, gateId, station)
    const offlineScanner = yield* makeOfflineGateScanner(client, gateId, station, window, logCapacityAdmissions)
    let linkUp = true
    const gate: LinkedGate = {
      gateId, station,
      online: () => linkUp,
      setOnline: (online) => { linkUp = online },
      scan: (display, presentedHolder, capture) =>
        linkUp
          ? Effect.map(onlineScanner.scan(display, presentedHolder, capture), (admission): GateAdmission => ({ mode: "online", ticketId: admission.ticketId }))
          : Effect.map(offlineScanner.scan(display, presentedHolder, capture), (admission): GateAdmission => ({ mode: "offline", ticketId: admission.ticketId })),
      pending: () => offlineScanner.pending().length,
      syncAll: Effect.gen(function* () {
        const totals = { admitted: 0, double: 0, invalid: 0, "binding-mismatch": 0, batches: 0 }
        // each batch leaves the queue once answered, so the loop ends; the bound is the queue's own capacity
        for (let batch = 0; batch <= Math.ceil(logCapacityAdmissions / maxAdmissionsPerSync) && offlineScanner.pending().length > 0; batch++) {
          const result = yield* offlineScanner.sync
          totals.batches++
          for (const entry of result.results) if (entry.firstSync) totals[entry.outcome]++
        }
        return totals
      })
    }
    return gate
  })
