/**
 * Faults are values in a scenario: a kind, a window on the scenario's timeline (ms after the on-sale) and
 * parameters. Device faults (client timeouts, SMS loss, printer faults, camera glare and blur) are read by the device
 * while the window is open (simulator/FaultSchedule.ts); faults of parties the server talks to (gateway,
 * bank, store) and the crash are applied when the window opens and undone when it closes.
 */
import { Schema } from "effect"
import { maxBlurRadiusPx } from "../devices/Qr.js"

const Rate = Schema.Number.pipe(Schema.between(0, 1))
const Ms = (max: number) => Schema.Int.pipe(Schema.between(0, max))
const maxFaultWindowMs = 7 * 86_400_000

/** every fault is active from `startAfterOnSaleMs` (inclusive) to `endAfterOnSaleMs` (exclusive) */
const window = {
  startAfterOnSaleMs: Ms(maxFaultWindowMs),
  endAfterOnSaleMs: Ms(maxFaultWindowMs)
}

const fault = <Kind extends string, Fields extends Schema.Struct.Fields>(kind: Kind, fields: Fields) =>
  Schema.Struct({ kind: Schema.Literal(kind), ...window, ...fields }).pipe(
    Schema.filter((value) => {
      const { startAfterOnSaleMs, endAfterOnSaleMs } = value as unknown as { startAfterOnSaleMs: number; endAfterOnSaleMs: number }
      return startAfterOnSaleMs < endAfterOnSaleMs || "startAfterOnSaleMs must be before endAfterOnSaleMs"
    })
  )

/**
 * The client does not get an answer in time and retries with the same idempotency key: the request reached
 * the server (its effect happened) but the answer is lost with `responseLossRate`; the device waits
 * `timeoutMs`, then sends it again after `backoffMs` × 2^attempt, at most `maxRetries` times. Only calls that
 * carry an idempotency key are retried (top-up, pay): retrying anything else would be a client bug.
 */
export const ClientTimeouts = fault("client-timeouts", {
  responseLossRate: Rate,
  timeoutMs: Ms(600_000),
  backoffMs: Ms(600_000),
  maxRetries: Schema.Int.pipe(Schema.between(0, 20))
})

/** The payment gateway slows down and declines: each charge takes `extraLatencyMs` more and fails with `declineRate`. */
export const GatewayBrownout = fault("gateway-brownout", {
  extraLatencyMs: Ms(600_000),
  declineRate: Rate
})

/** Gateway notifications lost (`lossRate`), sent twice (`duplicateRate`) or late by `delayMs`. */
export const CallbackFaults = fault("gateway-callbacks", {
  lossRate: Rate,
  duplicateRate: Rate,
  delayMs: Ms(3_600_000)
})

/** The card-issuing bank answers `extraLatencyMs` slower and declines with `declineRate`. */
export const BankSlowdown = fault("bank-slowdown", {
  extraLatencyMs: Ms(600_000),
  declineRate: Rate
})

/** The SMS gateway loses messages (both ways) with `lossRate` and delays the rest by up to `maxDelayMs`. */
export const SmsLoss = fault("sms-loss", {
  lossRate: Rate,
  maxDelayMs: Ms(600_000)
})

/** Kiosk printers run out of paper, jam, or print slowly. */
export const PrinterFaults = fault("printer", {
  paperOutRate: Rate,
  jamRate: Rate,
  slowPrintMs: Ms(600_000)
})

/**
 * Glare on the gates' cameras: on the first `cameraShare` of each venue's or station's gates (default: all), a
 * capture is damaged with `damageRate` (a white disc over part of the QR image); when jsQR cannot read it a fan
 * presents it again, an app phone enlarges the code and shows it again.
 */
export const CameraGlare = fault("camera-glare", {
  damageRate: Rate,
  cameraShare: Schema.optional(Rate)
})

/**
 * Out-of-focus cameras at the train gates (the app journey's): on the first `cameraShare` of each station's gates
 * (default: all), every capture is blurred by a box blur of `blurRadiusPx` camera pixels. The blur is fixed in
 * camera pixels, so a code the phone shows enlarged spans more of them and loses less of each module.
 */
export const CameraBlur = fault("camera-blur", {
  blurRadiusPx: Schema.Int.pipe(Schema.between(1, maxBlurRadiusPx)),
  cameraShare: Schema.optional(Rate)
})

/** The last `offlineGateShare` of each venue's gates lose their link to the server, admit offline, and sync when the window closes. */
export const GatesOffline = fault("gates-offline", {
  offlineGateShare: Rate
})

/** Every store transaction of the server takes `delayMs` more (a slow disk). */
export const SlowStore = fault("slow-store", {
  delayMs: Ms(60_000)
})

/**
 * The server dies at `startAfterOnSaleMs` (SIGKILL of the process in real mode; in virtual mode every request
 * in flight is cut off and the server's memory is dropped) and is back at `endAfterOnSaleMs`.
 */
export const ServerCrash = fault("server-crash", {})

export const Fault = Schema.Union(
  ClientTimeouts, GatewayBrownout, CallbackFaults, BankSlowdown, SmsLoss, PrinterFaults, CameraGlare, CameraBlur, GatesOffline, SlowStore, ServerCrash
)
export type Fault = typeof Fault.Type
export type FaultKind = Fault["kind"]
export type FaultOf<Kind extends FaultKind> = Extract<Fault, { kind: Kind }>
