/**
 * Paying an order through the third-party gateway from a phone (seed 004): start the gateway payment (the payer
 * completes it on the gateway's page; the gateway notifies the server, late, twice or never), then ask the
 * server after it every `statusPollIntervalMs`, at most `maxStatusPolls` times. A declined charge is tried
 * again with a new key, at most `maxPaymentAttempts` times in all; a payment that neither captures nor fails in
 * time, or that is declined every time, is given up and the order cancelled, so its seat goes back on sale
 * (a success that arrives after that is refunded by the server: one ticket or one refund, never neither).
 * The train app journey (Phone.ts, `app-gateway`) and the cinema journey (Cinema.ts) share this step.
 */
import { Clock, Effect } from "effect"
import type { OrderId } from "../reference/Domain.js"
import type { ApiClient } from "./Client.js"
import type { EventDetail, HistoryKind } from "./HistoryEvents.js"
import { note } from "./Instruments.js"
import type { HistoryRecorder, NetworkModel } from "./Instruments.js"

export interface GatewayPaymentLimits {
  readonly statusPollIntervalMs: number
  /** enough to outlast the server's reconciler (it polls the gateway for a lost notification after a minute) */
  readonly maxStatusPolls: number
  readonly maxPaymentAttempts: number
}

/** The app's defaults: ask every 2 s for 2 minutes; one retry after a decline. */
export const defaultGatewayPaymentLimits: GatewayPaymentLimits = { statusPollIntervalMs: 2_000, maxStatusPolls: 60, maxPaymentAttempts: 2 }

/** What a device lends the step: its name, its signed-in client, its recorded `call`, the scenario's clock. */
export interface GatewayPayer {
  readonly actor: string
  readonly client: ApiClient
  readonly call: <A, E, R>(kind: HistoryKind, effect: Effect.Effect<A, E, R>, detailOf?: (value: A) => EventDetail) =>
    Effect.Effect<A, E, R | HistoryRecorder | NetworkModel>
  readonly sleepScenario: (ms: number) => Effect.Effect<void>
}

export type GatewayPaymentOutcome =
  /** the server captured the charge: `paymentStartMs` is when the capturing attempt began (payment→issuance starts there) */
  | { readonly _tag: "Captured"; readonly paymentStartMs: number; readonly attempts: number }
  /** declined `maxPaymentAttempts` times, or no answer within the polls: the order was cancelled */
  | { readonly _tag: "GaveUp"; readonly reason: "declined" | "no-answer" | "refunded"; readonly attempts: number }

type AttemptOutcome = "captured" | "failed" | "refunded" | "no-answer"

/** Pay `orderId` by gateway; idempotency keys are `<keyPrefix>-<attempt>`, so a retried request is the same charge. */
export const payByGateway = (payer: GatewayPayer, orderId: OrderId, keyPrefix: string, limits: GatewayPaymentLimits = defaultGatewayPaymentLimits) =>
  Effect.gen(function* () {
    for (let attempt = 1; attempt <= limits.maxPaymentAttempts; attempt++) {
      const paymentStartMs = yield* Clock.currentTimeMillis
      yield* payer.call("gateway-pay", payer.client.gateway.payByGateway({
        path: { orderId }, headers: { "idempotency-key": `${keyPrefix}-${attempt}` }
      }), (charge) => ({ orderId, chargeId: charge.chargeId, attempt }))
      const outcome = yield* awaitCharge(payer, orderId, limits)
      if (outcome === "captured") {
        // the order is paid: what "orders paid" counts for a gateway payment (the phone saw it at this poll)
        yield* note(payer.actor, "gateway-captured", "ok", { orderId, attempt })
        return { _tag: "Captured", paymentStartMs, attempts: attempt } satisfies GatewayPaymentOutcome
      }
      if (outcome === "failed") {
        yield* note(payer.actor, "gateway-declined", "PaymentDeclined", { orderId, attempt })
        continue
      }
      yield* cancelOrder(payer, orderId, keyPrefix, outcome)
      return { _tag: "GaveUp", reason: outcome, attempts: attempt } satisfies GatewayPaymentOutcome
    }
    yield* cancelOrder(payer, orderId, keyPrefix, "declined")
    return { _tag: "GaveUp", reason: "declined", attempts: limits.maxPaymentAttempts } satisfies GatewayPaymentOutcome
  })

/** Poll the server for the order's latest charge until it is settled, or `maxStatusPolls` run out. */
const awaitCharge = (payer: GatewayPayer, orderId: OrderId, limits: GatewayPaymentLimits) =>
  Effect.gen(function* () {
    for (let poll = 1; poll <= limits.maxStatusPolls; poll++) {
      yield* payer.sleepScenario(limits.statusPollIntervalMs)
      const status = yield* payer.call("gateway-status", payer.client.gateway.gatewayPaymentStatus({ path: { orderId } }))
      if (status.chargeState === "captured" || status.orderState === "paid" || status.orderState === "issued") return "captured" as AttemptOutcome
      if (status.chargeState === "failed") return "failed" as AttemptOutcome
      if (status.chargeState === "refunding" || status.chargeState === "refunded") return "refunded" as AttemptOutcome
    }
    return "no-answer" as AttemptOutcome
  })

/** Give the seat back. A cancel that finds the order no longer cancellable (expired, already refunded) is fine. */
const cancelOrder = (payer: GatewayPayer, orderId: OrderId, keyPrefix: string, reason: string) =>
  payer.call("cancel", payer.client.lifecycle.cancel({
    path: { orderId }, headers: { "idempotency-key": `${keyPrefix}-cancel` }, payload: { reason: `gateway payment: ${reason}` }
  }), (cancelled) => ({ orderId, state: cancelled.state })).pipe(
    Effect.catchTag("OrderNotCancellable", () => Effect.void),
    Effect.asVoid
  )
