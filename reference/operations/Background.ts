/**
 * The server's background work, and the simulated gateway's notifications that run beside it, as one list: what
 * each job does in one pass, how often, and when a server has it. A real server (`sweepers` in Server.ts) runs every enabled job at its interval on the wall clock; virtual
 * mode (simulator/Virtual.ts) runs the same list as actors on the simulated clock, paced by `idlePace`, so their
 * timing is part of the deterministic trace. Each pass answers how many items it handled.
 */
import { Effect } from "effect"
import { Delivery } from "../delivery/Delivery.js"
import { Issuance } from "../delivery/Issuance.js"
import { Orders } from "../ticketing/Orders.js"
import { Payments } from "../payments/Payments.js"
import type { IssuanceSettings } from "../Settings/Issuance.js"
import type { SweeperSettings } from "../Settings/Sweepers.js"
import type { UpstreamSettings } from "../Settings/Upstream.js"
import { SimulatedGatewayCallbacks } from "../Simulated/GatewayCallbacks.js"
import type { SimulatedGatewaySettings } from "../Simulated/Settings.js"
import { UpstreamSync } from "../delivery/Upstream.js"

/** the services a pass may use */
export type BackgroundServices = Issuance | Orders | Payments | Delivery | UpstreamSync | SimulatedGatewayCallbacks

/**
 * How virtual mode paces a job between passes (a real server keeps the job's interval):
 * - `doubling`: a pass that found nothing doubles the wait, up to the simulator's longest idle wait; one that
 *   found work goes back to the interval. Hours of one-second sweeps would otherwise dominate a run.
 * - `fixed`: always the interval (the outbox worker of issuance "worker" is the design being measured).
 * - `gateway`: at the interval while the simulated gateway has something due, slower while it is idle (the
 *   delays a gateway scenario measures must not be stretched by an idle-doubled wait).
 */
export type IdlePace = "doubling" | "fixed" | "gateway"

/**
 * What the jobs' intervals, switches and paces read: the sweepers' intervals, the issuance variant, whether
 * upstream sync is on, and the pace of the simulated gateway's own job.
 */
export interface BackgroundSettings extends
  SweeperSettings, Pick<IssuanceSettings, "issuance">, Pick<UpstreamSettings, "upstreamSync">,
  Pick<SimulatedGatewaySettings, "simulatedGatewayCallbackIntervalMs"> {}

export interface BackgroundJob {
  readonly name: string
  readonly intervalMs: (settings: BackgroundSettings) => number
  readonly enabled: (settings: BackgroundSettings) => boolean
  readonly idlePace: (settings: BackgroundSettings) => IdlePace
  readonly pass: Effect.Effect<number, unknown, BackgroundServices>
}

const always = () => true
const doubling = (): IdlePace => "doubling"
const gateway = (): IdlePace => "gateway"

/** in the order virtual mode starts them (jobs due at the same simulated moment run in this order) */
export const backgroundJobs: ReadonlyArray<BackgroundJob> = [
  {
    // the backstop for a crash between a payment's commit and its issue; the only issuer of issuance "worker"
    name: "outbox-sweep", intervalMs: (settings) => settings.outboxSweepIntervalMs, enabled: always,
    idlePace: (settings) => settings.issuance === "worker" ? "fixed" : "doubling",
    pass: Effect.flatMap(Issuance, (service) => service.sweepOutbox)
  },
  {
    name: "hold-expiry", intervalMs: (settings) => settings.holdSweepIntervalMs, enabled: always, idlePace: doubling,
    pass: Effect.flatMap(Orders, (service) => service.releaseExpiredHolds)
  },
  {
    name: "delivery-sweep", intervalMs: (settings) => settings.deliverySweepIntervalMs, enabled: always, idlePace: doubling,
    pass: Effect.flatMap(Delivery, (service) => service.sweep)
  },
  {
    // the gateway's notifications that never arrived: asked for
    name: "gateway-reconcile", intervalMs: (settings) => settings.gatewayReconcileIntervalMs, enabled: always, idlePace: gateway,
    pass: Effect.flatMap(Payments, (service) => service.reconcileGatewayCharges)
  },
  {
    // reservations of card and gateway payments whose capture never came
    name: "void-timed-out-reservations", intervalMs: (settings) => settings.pendingTransferSweepIntervalMs, enabled: always, idlePace: gateway,
    pass: Effect.flatMap(Payments, (service) => service.voidTimedOutReservations)
  },
  {
    // the simulated gateway's own side: its notifications to the server
    name: "simulated-gateway-callbacks", intervalMs: (settings) => settings.simulatedGatewayCallbackIntervalMs, enabled: always, idlePace: gateway,
    pass: Effect.flatMap(SimulatedGatewayCallbacks, (service) => service.deliver)
  },
  {
    name: "upstream-push", intervalMs: (settings) => settings.upstreamPushIntervalMs, enabled: (settings) => settings.upstreamSync, idlePace: doubling,
    pass: Effect.flatMap(UpstreamSync, (service) => service.pushDue)
  }
]
