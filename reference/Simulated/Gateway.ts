/**
 * The simulated payment gateway behind the PaymentGateway port (reference/payments/Payments/GatewayPort.ts). A test plans
 * how the next charges behave (the payer pays, fails or abandons; the notification arrives on time, late, twice
 * or never); a scenario sets the conditions every other charge is drawn under (latency, declines, lost,
 * duplicated and late notifications: a brownout). Time is Effect's Clock and draws are Effect's Random; nothing
 * here reads the wall clock, so a simulated run is reproducible.
 */
import { Clock, Deferred, Effect, Layer, Random, Ref } from "effect"
import type { Context } from "effect"
import { FenTotal } from "../Domain.js"
import { signNotification } from "../payments/Payments/GatewayNotification.js"
import type { ChargeId, GatewayNotification } from "../payments/Payments/GatewayNotification.js"
import { PaymentGateway } from "../payments/Payments/GatewayPort.js"
import type { ChargeStatus } from "../payments/Payments/GatewayPort.js"
import { SimulatedGatewayConfig } from "./Settings.js"

export interface GatewayBehaviour {
  /** abandon: the payer never completes; the charge stays pending until cancelled */
  readonly outcome: "succeed" | "fail" | "abandon"
  readonly callback: "on-time" | "late" | "twice" | "never"
}
export const defaultGatewayBehaviour: GatewayBehaviour = { outcome: "succeed", callback: "on-time" }

/**
 * How the gateway behaves for charges nobody planned: the payer and the gateway take `baseLatencyMs` plus up to
 * `latencyJitterMs` (uniform) plus `extraLatencyMs` (a brownout) to complete a charge, which is declined with
 * `declineRate`; its notification is lost with `callbackLossRate`, sent twice with `callbackDuplicateRate`, and
 * sent `callbackDelayMs` after the on-time delay. A rate of 0 draws nothing from `Random`.
 */
export interface GatewayConditions {
  readonly baseLatencyMs: number
  readonly latencyJitterMs: number
  readonly extraLatencyMs: number
  readonly declineRate: number
  readonly callbackLossRate: number
  readonly callbackDuplicateRate: number
  readonly callbackDelayMs: number
}
export const normalGatewayConditions: GatewayConditions = {
  baseLatencyMs: 0, latencyJitterMs: 0, extraLatencyMs: 0, declineRate: 0, callbackLossRate: 0, callbackDuplicateRate: 0, callbackDelayMs: 0
}

/** What the gateway did, counted since it started (a scenario's report reads them through the admin API). */
export interface GatewayCounters {
  readonly charges: number
  readonly declined: number
  readonly refunds: number
  readonly callbacksScheduled: number
  readonly callbacksLost: number
  readonly callbacksDuplicated: number
  readonly callbacksSent: number
}
const noCounters: GatewayCounters = { charges: 0, declined: 0, refunds: 0, callbacksScheduled: 0, callbacksLost: 0, callbacksDuplicated: 0, callbacksSent: 0 }

/** One line of the gateway's statement: what it took from the payer and what it gave back. */
export interface StatementLine {
  readonly chargeId: ChargeId
  readonly amountFen: FenTotal
  readonly status: Exclude<ChargeStatus, "unknown">
  readonly refundedFen: FenTotal
}

interface SimulatedCharge {
  readonly amountFen: FenTotal
  /** the status once the payer completes (at `completesAtMs`); "pending" for a payer who abandons */
  readonly outcome: Exclude<ChargeStatus, "unknown">
  readonly completesAtMs: number
  /** set when the charge was cancelled before it completed */
  readonly cancelled: boolean
  readonly refunded: boolean
  /** what the refund gave back */
  readonly refundedFen: FenTotal
  readonly notificationsSent: number
}
/** The charge's status at `nowMs`: pending until the payer completes, unless cancelled first. */
const statusAt = (charge: SimulatedCharge, nowMs: number): Exclude<ChargeStatus, "unknown"> =>
  charge.cancelled ? "failed" : nowMs >= charge.completesAtMs ? charge.outcome : "pending"

interface ScheduledCallback { readonly chargeId: ChargeId; readonly dueAtMs: number }

export interface SignedNotification { readonly notification: GatewayNotification; readonly signature: string }

/** A draw below `rate`, drawing nothing when the rate is 0 (so a run without the fault keeps its trace). */
const happens = (rate: number) => rate <= 0 ? Effect.succeed(false) : Effect.map(Random.next, (uniform) => uniform < rate)

/** How an unplanned charge behaves under `conditions`: its completion time, its outcome, its callbacks. */
const drawUnplanned = (conditions: GatewayConditions) =>
  Effect.gen(function* () {
    const jitterMs = conditions.latencyJitterMs > 0 ? yield* Random.nextIntBetween(0, conditions.latencyJitterMs + 1) : 0
    const latencyMs = conditions.baseLatencyMs + jitterMs + conditions.extraLatencyMs
    const declined = yield* happens(conditions.declineRate)
    const lost = yield* happens(conditions.callbackLossRate)
    const duplicated = !lost && (yield* happens(conditions.callbackDuplicateRate))
    return { latencyMs, declined, lost, duplicated, delayMs: conditions.callbackDelayMs }
  })

/** The simulated gateway: the PaymentGateway port (`port`), and the controls tests and the simulator reach. */
export class SimulatedGateway extends Effect.Service<SimulatedGateway>()("SimulatedGateway", {
  effect: Effect.gen(function* () {
    const config = yield* SimulatedGatewayConfig
    const charges = yield* Ref.make(new Map<ChargeId, SimulatedCharge>())
    const planned = yield* Ref.make<ReadonlyArray<GatewayBehaviour>>([])
    const scheduled = yield* Ref.make<ReadonlyArray<ScheduledCallback>>([])
    const conditions = yield* Ref.make(normalGatewayConditions)
    const counters = yield* Ref.make(noCounters)
    /** completed (and replaced) at each new charge: a simulator's idle sweeper wakes on it */
    const chargeSignal = yield* Ref.make(yield* Deferred.make<void>())
    const nextCharge = Effect.flatMap(Ref.get(chargeSignal), Deferred.await)
    const count = (change: Partial<{ [Key in keyof GatewayCounters]: number }>) =>
      Ref.update(counters, (all) => {
        const next = { ...all }
        for (const [key, by] of Object.entries(change) as Array<[keyof GatewayCounters, number]>) next[key] += by
        return next
      })

    /** The next charge created behaves so; unplanned charges follow the conditions. */
    const plan = (behaviour: GatewayBehaviour) => Ref.update(planned, (queue) => [...queue, behaviour])
    const setConditions = (next: GatewayConditions) => Ref.set(conditions, next)

    /** A planned behaviour as a draw would give it: planned charges complete at once (tests rely on that). */
    const fromPlan = (behaviour: GatewayBehaviour) => ({
      latencyMs: 0, declined: behaviour.outcome === "fail", abandoned: behaviour.outcome === "abandon",
      lost: behaviour.callback === "never", duplicated: behaviour.callback === "twice",
      delayMs: behaviour.callback === "late" ? config.simulatedGatewayLateCallbackDelayMs - config.simulatedGatewayCallbackDelayMs : 0
    })

    const createCharge = (charge: { chargeId: ChargeId; amountFen: FenTotal }) =>
      Effect.gen(function* () {
        if ((yield* Ref.get(charges)).has(charge.chargeId)) return
        const behaviour = yield* Ref.modify(planned, (queue) => [queue[0], queue.slice(1)])
        const drawn = behaviour ? fromPlan(behaviour) : { ...(yield* drawUnplanned(yield* Ref.get(conditions))), abandoned: false }
        const outcome = drawn.abandoned ? "pending" : drawn.declined ? "failed" : "succeeded"
        const nowMs = yield* Clock.currentTimeMillis
        const completesAtMs = nowMs + drawn.latencyMs
        yield* Ref.update(charges, (all) => new Map(all).set(charge.chargeId, {
          amountFen: charge.amountFen, outcome, completesAtMs, cancelled: false, refunded: false, refundedFen: FenTotal.make(0), notificationsSent: 0
        }))
        yield* count({ charges: 1, declined: drawn.declined ? 1 : 0 })
        const signalled = yield* Ref.getAndSet(chargeSignal, yield* Deferred.make<void>())
        yield* Deferred.succeed(signalled, undefined)
        if (outcome === "pending") return
        if (drawn.lost) return yield* count({ callbacksLost: 1 })
        const dueAtMs = completesAtMs + config.simulatedGatewayCallbackDelayMs + drawn.delayMs
        // a duplicate is the same notification posted again: the second on time, whatever the first's delay
        const callbacks = drawn.duplicated ? [dueAtMs, Math.max(dueAtMs, completesAtMs + config.simulatedGatewayCallbackDelayMs)] : [dueAtMs]
        yield* count({ callbacksScheduled: callbacks.length, callbacksDuplicated: drawn.duplicated ? 1 : 0 })
        yield* Ref.update(scheduled, (all) => [...all, ...callbacks.map((due) => ({ chargeId: charge.chargeId, dueAtMs: due }))])
      })

    const queryCharge = (chargeId: ChargeId) =>
      Effect.gen(function* () {
        const charge = (yield* Ref.get(charges)).get(chargeId)
        return charge ? statusAt(charge, yield* Clock.currentTimeMillis) : "unknown" as ChargeStatus
      })

    const cancelCharge = (chargeId: ChargeId) =>
      Effect.flatMap(Clock.currentTimeMillis, (nowMs) => Ref.modify(charges, (all): [ChargeStatus, Map<ChargeId, SimulatedCharge>] => {
        const charge = all.get(chargeId)
        if (!charge) return ["unknown", all]
        const status = statusAt(charge, nowMs)
        if (status !== "pending") return [status, all]
        return ["failed", new Map(all).set(chargeId, { ...charge, cancelled: true })]
      }))

    const refund = (chargeId: ChargeId, amountFen?: FenTotal) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const refunded = yield* Ref.modify(charges, (all): [boolean, Map<ChargeId, SimulatedCharge>] => {
          const charge = all.get(chargeId)
          return charge && statusAt(charge, nowMs) === "succeeded" && !charge.refunded
            ? [true, new Map(all).set(chargeId, { ...charge, refunded: true, refundedFen: FenTotal.make(Math.min(charge.amountFen, amountFen ?? charge.amountFen)) })]
            : [false, all]
        })
        if (refunded) yield* count({ refunds: 1 })
      })

    /** A freshly signed notification of the charge's outcome, as the gateway would post it now. */
    const notification = (chargeId: ChargeId) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const sent = yield* Ref.modify(charges, (all): [{ sequence: number; charge: SimulatedCharge } | undefined, Map<ChargeId, SimulatedCharge>] => {
          const charge = all.get(chargeId)
          if (!charge || statusAt(charge, nowMs) === "pending") return [undefined, all]
          const next = { ...charge, notificationsSent: charge.notificationsSent + 1 }
          return [{ sequence: next.notificationsSent, charge: next }, new Map(all).set(chargeId, next)]
        })
        if (sent === undefined) return undefined
        const status = statusAt(sent.charge, nowMs)
        if (status === "pending") return undefined
        const body: GatewayNotification = {
          notificationId: `${chargeId}-${sent.sequence}`, chargeId, status, amountFen: sent.charge.amountFen, sentAtMs: nowMs
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
      if (signed.length > 0) yield* count({ callbacksSent: signed.length })
      return signed
    })

    /** The charge as the gateway sees it now (tests). */
    const chargeState = (chargeId: ChargeId) =>
      Effect.gen(function* () {
        const charge = (yield* Ref.get(charges)).get(chargeId)
        return charge ? { ...charge, status: statusAt(charge, yield* Clock.currentTimeMillis) } : undefined
      })

    /** Every charge the gateway knows, by charge ID: what the merchant reconciles its books against. */
    const statement = Effect.gen(function* () {
      const nowMs = yield* Clock.currentTimeMillis
      const all = yield* Ref.get(charges)
      return [...all.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([chargeId, charge]): StatementLine => ({
        chargeId, amountFen: charge.amountFen, status: statusAt(charge, nowMs), refundedFen: charge.refundedFen
      }))
    })

    /** none: no charge yet; busy: a notification is due or a charge is still pending; idle otherwise (the simulator's sweep pace) */
    const activity = Effect.gen(function* () {
      const all = yield* Ref.get(charges)
      if (all.size === 0) return "none" as const
      if ((yield* Ref.get(scheduled)).length > 0) return "busy" as const
      const nowMs = yield* Clock.currentTimeMillis
      for (const charge of all.values()) if (statusAt(charge, nowMs) === "pending") return "busy" as const
      return "idle" as const
    })

    const port: Context.Tag.Service<PaymentGateway> = { createCharge, queryCharge, cancelCharge, refund }
    return {
      plan, setConditions, conditions: Ref.get(conditions), counters: Ref.get(counters), activity, nextCharge,
      notification, dueNotifications, chargeState, statement, port
    } as const
  })
}) {}

/** The PaymentGateway port served by the simulated gateway. */
export const SimulatedGatewayPort = Layer.effect(PaymentGateway, Effect.map(SimulatedGateway, (simulated) => simulated.port))
