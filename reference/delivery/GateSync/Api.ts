import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { AdminAuth, GateAuth } from "../../customers/Auth/Api.js"
import { GateId } from "../../Domain.js"

/** the most admissions one sync may carry; a gate with more syncs in several calls */
export const maxAdmissionsPerSync = 500

export const OfflineAdmission = Schema.Struct({
  /** the QR text the gate verified with the public key */
  qr: Schema.String.pipe(Schema.maxLength(2048)),
  /** the phone number (or device ID) the passenger's device presented */
  presentedHolder: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
  /** when the gate opened for it, by the gate's clock */
  admittedAtMs: Schema.Int.pipe(Schema.nonNegative())
})
export type OfflineAdmission = typeof OfflineAdmission.Type

export const SyncOutcome = Schema.Literal("admitted", "double", "invalid", "binding-mismatch")
export type SyncOutcome = typeof SyncOutcome.Type

export const SyncResult = Schema.Struct({
  results: Schema.Array(Schema.Struct({
    /** the ticket ID, or `qr:` + a digest of a text that did not verify */
    ticketId: Schema.String,
    outcome: SyncOutcome,
    /** false when this gate had synced this admission before: its first outcome, counted once */
    firstSync: Schema.Boolean
  }))
})
export type SyncResult = typeof SyncResult.Type

export const DoubleAdmission = Schema.Struct({
  ticketId: Schema.String,
  gateId: GateId,
  admittedAtMs: Schema.Number,
  /** the admission that redeemed the ticket first: online, or an offline gate that synced earlier */
  firstGateId: Schema.String,
  firstAdmittedAtMs: Schema.Number
})

export const OfflineReport = Schema.Struct({
  /** admissions synced, by outcome: every one a gate let through */
  counts: Schema.Struct({ admitted: Schema.Number, double: Schema.Number, invalid: Schema.Number, "binding-mismatch": Schema.Number }),
  /** the most recent double admissions, newest first (at most `limit`) */
  doubleAdmissions: Schema.Array(DoubleAdmission)
})
export type OfflineReport = typeof OfflineReport.Type

export class GateSyncApi extends HttpApiGroup.make("gateSync")
  .add(
    HttpApiEndpoint.post("sync", "/gates/sync")
      .setPayload(Schema.Struct({ admissions: Schema.Array(OfflineAdmission).pipe(Schema.maxItems(maxAdmissionsPerSync)) }))
      .addSuccess(SyncResult)
      .middleware(GateAuth)
  )
  .add(
    HttpApiEndpoint.get("offlineReport", "/admin/gates/offline-admissions")
      .setUrlParams(Schema.Struct({ limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000))) }))
      .addSuccess(OfflineReport)
      .middleware(AdminAuth)
  ) {}
