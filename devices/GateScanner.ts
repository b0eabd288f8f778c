/**
 * A gate scanner (seed 000's check-in, seed 003's reader): reads what the phone shows — camera pixels,
 * decoded with jsQR, or the text when the scenario does not sample pixels — and asks the server to admit.
 */
import { Clock, Effect } from "effect"
import { departureEpochMs } from "../reference/Checkin.js"
import type { Admission } from "../reference/Checkin/Api.js"
import { maxAdmissionsPerSync } from "../reference/GateSync/Api.js"
import type { OfflineAdmission, SyncResult } from "../reference/GateSync/Api.js"
import { decodeTicket, publicKeyFromRaw } from "../reference/Issuance/TicketCode.js"
import type { ApiClient } from "./Client.js"
import { decodeQr } from "./Qr.js"
import type { PixelImage } from "./Qr.js"

export type PhoneDisplay =
  | { readonly kind: "pixels"; readonly image: PixelImage }
  | { readonly kind: "text"; readonly text: string }

export class UnreadableCode {
  readonly _tag = "UnreadableCode"
}

type ScanError = Effect.Effect.Error<ReturnType<ApiClient["checkin"]["scan"]>>

export interface GateScanner {
  readonly gateId: string
  readonly station: string
  readonly scan: (display: PhoneDisplay, presentedHolder: string) => Effect.Effect<Admission, ScanError | UnreadableCode>
}

export const makeGateScanner = (client: ApiClient, gateId: string, station: string): GateScanner => ({
  gateId,
  station,
  scan: (display, presentedHolder) =>
    Effect.gen(function* () {
      const text = display.kind === "pixels" ? decodeQr(display.image) : display.text
      if (text === undefined) return yield* Effect.fail(new UnreadableCode())
      return yield* client.checkin.scan({ payload: { qr: text, presentedHolder } })
    })
})

// ---- offline mode (seeds 000, 003): the gate lost its link ----------------------------------------

export class OfflineRefusal {
  readonly _tag = "OfflineRefusal"
  constructor(readonly reason: "unverified" | "wrong-station" | "outside-window" | "already-admitted-here", readonly detail: string) {}
}

/** the check-in window the gate enforces on its own (the server's defaults unless a scenario says otherwise) */
export interface OfflineWindow {
  readonly checkinOpensBeforeDepartureMs: number
  readonly checkinClosesAfterDepartureMs: number
  readonly utcOffsetMinutes: number
}

export interface OfflineGateScanner {
  readonly gateId: string
  readonly station: string
  /** verify with the public keys fetched while online, admit, and remember the admission */
  readonly scan: (display: PhoneDisplay, presentedHolder: string) => Effect.Effect<OfflineAdmission, OfflineRefusal | UnreadableCode>
  /** admissions not yet acknowledged by a sync */
  readonly pending: () => ReadonlyArray<OfflineAdmission>
  /** the link is back: report every pending admission; those the server answered leave the queue */
  readonly sync: Effect.Effect<SyncResult, Effect.Effect.Error<ReturnType<ApiClient["gateSync"]["sync"]>>>
}

/**
 * A gate that verifies tickets itself. It fetches the public keys once (while it still has a link); the
 * binding to the holder's phone it cannot check (its salt stays on the server), so the server checks it at sync.
 */
export const makeOfflineGateScanner = (client: ApiClient, gateId: string, station: string, window: OfflineWindow) =>
  Effect.gen(function* () {
    const published = yield* client.issuance.publicKeys()
    const publicKeys = new Map(published.map((key) => [key.keyId, publicKeyFromRaw(Buffer.from(key.publicKeyBase64, "base64"))]))
    const admittedHere = new Set<string>()
    let queue: Array<OfflineAdmission> = []
    const scanner: OfflineGateScanner = {
      gateId,
      station,
      scan: (display, presentedHolder) =>
        Effect.gen(function* () {
          const text = display.kind === "pixels" ? decodeQr(display.image) : display.text
          if (text === undefined) return yield* Effect.fail(new UnreadableCode())
          const decoded = decodeTicket(text, publicKeys)
          if (!decoded.ok) return yield* Effect.fail(new OfflineRefusal("unverified", `${decoded.failure.reason}: ${decoded.failure.detail}`))
          const payload = decoded.payload
          if (payload.fromStation !== station) return yield* Effect.fail(new OfflineRefusal("wrong-station", `boards at ${payload.fromStation}`))
          const nowMs = yield* Clock.currentTimeMillis
          const departureMs = departureEpochMs(payload.serviceDate, payload.departureMinuteOfDay, window.utcOffsetMinutes)
          if (nowMs < departureMs - window.checkinOpensBeforeDepartureMs || nowMs > departureMs + window.checkinClosesAfterDepartureMs) {
            return yield* Effect.fail(new OfflineRefusal("outside-window", `departs at ${departureMs}`))
          }
          if (admittedHere.has(payload.ticketId)) return yield* Effect.fail(new OfflineRefusal("already-admitted-here", payload.ticketId))
          admittedHere.add(payload.ticketId)
          const admission: OfflineAdmission = { qr: text, presentedHolder, admittedAtMs: nowMs }
          queue.push(admission)
          return admission
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
