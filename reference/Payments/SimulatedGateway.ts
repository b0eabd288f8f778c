/**
 * The PaymentGateway port (seed 004: a third-party payment platform with asynchronous notifications)
 * and its simulated implementation. A test or a scenario plans how the next charges behave: the payer
 * pays, fails or abandons; the notification arrives on time, late, twice or never. Time is Effect's
 * Clock; nothing here reads the wall clock, so a simulated run is reproducible.
 */
import { Clock, Context, Effect, Ref } from "effect"
import { ServerConfig } from "../Config.js"
import { signNotification } from "./GatewayNotification.js"
import type { ChargeId, GatewayNotification } from "./GatewayNotification.js"

export type ChargeStatus = "pending" | "succeeded" | "failed" | "unknown"

/** What the server needs of a payment gateway. Every call is idempotent by charge ID. */
export class PaymentGateway extends Context.Tag("PaymentGateway")<PaymentGateway, {
  readonly createCharge: (charge: { chargeId: ChargeId; amountFen: number }) => Effect.Effect<void>
  readonly queryCharge: (chargeId: ChargeId) => Effect.Effect<ChargeStatus>
  /** Cancel a charge the payer has not completed; answers the charge's final status (succeeded if it was too late). */
  readonly cancelCharge: (chargeId: ChargeId) => Effect.Effect<ChargeStatus>
  /** Refund a succeeded charge: all of it, or `amountFen` of it (a refund less its fee). Once per charge. */
  readonly refund: (chargeId: ChargeId, amountFen?: number) => Effect.Effect<void>
}>() {}

export interface GatewayBehaviour {
  /** abandon: the payer never completes; the charge stays pending until cancelled */
  readonly outcome: "succeed" | "fail" | "abandon"
  readonly callback: "on-time" | "late" | "twice" | "never"
}
export const defaultGatewayBehaviour: GatewayBehaviour = { outcome: "succeed", callback: "on-time" }

interface SimulatedCharge {
  readonly amountFen: number
  readonly status: Exclude<ChargeStatus, "unknown">
  readonly refunded: boolean
  /** what the refund gave back */
  readonly refundedFen: number
  readonly notificationsSent: number
}
interface ScheduledCallback { readonly chargeId: ChargeId; readonly dueAtMs: number }

export interface SignedNotification { readonly notification: GatewayNotification; readonly signature: string }

export class SimulatedGateway extends Effect.Service<SimulatedGateway>()("SimulatedGateway", {
  effect: Effect.gen(function* () {
    const config = yield* ServerConfig
    const charges = yield* Ref.make(new Map<ChargeId, SimulatedCharge>())
    const planned = yield* Ref.make<ReadonlyArray<GatewayBehaviour>>([])
    const scheduled = yield* Ref.make<ReadonlyArray<ScheduledCallback>>([])

    /** The next charge created behaves so; unplanned charges get `defaultGatewayBehaviour`. */
    const plan = (behaviour: GatewayBehaviour) => Ref.update(planned, (queue) => [...queue, behaviour])

    const createCharge = (charge: { chargeId: ChargeId; amountFen: number }) =>
      Effect.gen(function* () {
        if ((yield* Ref.get(charges)).has(charge.chargeId)) return
        const behaviour = yield* Ref.modify(planned, (queue) => [queue[0] ?? defaultGatewayBehaviour, queue.slice(1)])
        const status = behaviour.outcome === "succeed" ? "succeeded" : behaviour.outcome === "fail" ? "failed" : "pending"
        yield* Ref.update(charges, (all) => new Map(all).set(charge.chargeId, { amountFen: charge.amountFen, status, refunded: false, refundedFen: 0, notificationsSent: 0 }))
        if (status === "pending" || behaviour.callback === "never") return
        const nowMs = yield* Clock.currentTimeMillis
        const onTimeMs = nowMs + config.simulatedGatewayCallbackDelayMs
        const dueAtMs = behaviour.callback === "late" ? nowMs + config.simulatedGatewayLateCallbackDelayMs : onTimeMs
        const callbacks = behaviour.callback === "twice" ? [onTimeMs, onTimeMs] : [dueAtMs]
        yield* Ref.update(scheduled, (all) => [...all, ...callbacks.map((due) => ({ chargeId: charge.chargeId, dueAtMs: due }))])
      })

    const queryCharge = (chargeId: ChargeId) =>
      Effect.map(Ref.get(charges), (all): ChargeStatus => all.get(chargeId)?.status ?? "unknown")

    const cancelCharge = (chargeId: ChargeId) =>
      Ref.modify(charges, (all): [ChargeStatus, Map<ChargeId, SimulatedCharge>] => {
        const charge = all.get(chargeId)
        if (!charge) return ["unknown", all]
        if (charge.status !== "pending") return [charge.status, all]
        return ["failed", new Map(all).set(chargeId, { ...charge, status: "failed" })]
      })

    const refund = (chargeId: ChargeId, amountFen?: number) =>
      Ref.update(charges, (all) => {
        const charge = all.get(chargeId)
        return charge && charge.status === "succeeded" && !charge.refunded
          ? new Map(all).set(chargeId, { ...charge, refunded: true, refundedFen: Math.min(charge.amountFen, amountFen ?? charge.amountFen) })
          : all
      })

    /** A freshly signed notification of the charge's outcome, as the gateway would post it now. */
    const notification = (chargeId: ChargeId) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const sequence = yield* Ref.modify(charges, (all): [number | undefined, Map<ChargeId, SimulatedCharge>] => {
          const charge = all.get(chargeId)
          if (!charge || charge.status === "pending") return [undefined, all]
          return [charge.notificationsSent + 1, new Map(all).set(chargeId, { ...charge, notificationsSent: charge.notificationsSent + 1 })]
        })
        const charge = (yield* Ref.get(charges)).get(chargeId)
        if (sequence === undefined || !charge || charge.status === "pending") return undefined
        const body: GatewayNotification = {
          notificationId: `${chargeId}-${sequence}`, chargeId, status: charge.status, amountFen: charge.amountFen, sentAtMs: nowMs
        }
        const signed: SignedNotification = { notification: body, signature: signNotification(body, config.gatewayWebhookSecret) }
        return signed
      })

    /** The notifications due by now, taken off the schedule (the callback deliverer sends them). */
    const dueNotifications = Effect.gen(function* () {
      const nowMs = yield* Clock.currentTimeMillis
      const due = yield* Ref.modify(scheduled, (all) => [all.filter((callback) => callback.dueAtMs <= nowMs), all.filter((callback) => callback.dueAtMs > nowMs)])
      const signed: Array<SignedNotification> = []
      for (const callback of due) {
        const one = yield* notification(callback.chargeId)
        if (one) signed.push(one)
      }
      return signed
    })

    const chargeState = (chargeId: ChargeId) => Effect.map(Ref.get(charges), (all) => all.get(chargeId))

    const port: Context.Tag.Service<PaymentGateway> = { createCharge, queryCharge, cancelCharge, refund }
    return { plan, notification, dueNotifications, chargeState, port } as const
  })
}) {}
