/**
 * What runs beside the passengers in an exported k6 script, each a k6 scenario of one VU: the operator switching the
 * faults of the parties the server talks to (gateway, bank, store) at their windows' edges through the admin API, as
 * the harness does (simulator/FaultSchedule.ts), and the SMS gateway pulling the server's outbound texts
 * (devices/SmsRelay.ts). Device-side faults (lost answers, camera glare and blur, printers, lost texts, gates
 * losing their link) are the harness's simulation of the devices and are not in the script.
 */
import type { JourneyKind, Scenario } from "../../scenarios/Scenario.js"
import type { FaultOf } from "../../scenarios/Faults.js"
import { normalGatewayConditions } from "../../reference/Simulated/Gateway.js"
import type { GatewayConditions } from "../../reference/Simulated/Gateway.js"

/** the faults the operator switches through the admin API */
export const operatorFaultKinds = ["gateway-brownout", "gateway-callbacks", "bank-slowdown", "slow-store"] as const

/** journeys whose preparation makes the gateway a party of the run (simulator/journeys/GatewayParty.ts) */
const gatewayJourneys: ReadonlyArray<JourneyKind> = ["app-gateway", "cinema"]
/** journeys whose preparation sets up the kiosks and the bank behind them (simulator/journeys/Kiosk.ts) */
const kioskJourneys: ReadonlyArray<JourneyKind> = ["kiosk", "app-pickup", "remote-card"]

export const hasGatewayParty = (kinds: ReadonlyArray<JourneyKind>) => kinds.some((kind) => gatewayJourneys.includes(kind))
export const hasKioskParty = (kinds: ReadonlyArray<JourneyKind>) => kinds.some((kind) => kioskJourneys.includes(kind))

/** The gateway's conditions outside fault windows: normal, with the scenario's `gateway` section over it. */
export const gatewayBaselineOf = (scenario: Scenario): GatewayConditions => ({ ...normalGatewayConditions, ...scenario.gateway })

/** The bank's conditions outside fault windows: the kiosks' bank latency. */
export const bankBaselineOf = (scenario: Scenario) => scenario.kiosks === undefined ? undefined
  : { latencyMs: scenario.kiosks.bank.latencyMs, latencyJitterMs: scenario.kiosks.bank.latencyJitterMs, extraLatencyMs: 0, declineRate: 0 }

export interface OperatorStep {
  /** ms after the on-sale */
  readonly atMs: number
  readonly gateway?: GatewayConditions
  readonly bank?: { latencyMs: number; latencyJitterMs: number; extraLatencyMs: number; declineRate: number }
  readonly store?: { delayMs: number }
}

type OperatorFault = FaultOf<typeof operatorFaultKinds[number]>

/** Every party's conditions after an edge, with the faults open then laid over its baseline. */
const conditionsWith = (scenario: Scenario, open: ReadonlyArray<OperatorFault>, parties: { gateway: boolean; bank: boolean }) => {
  const brownout = open.find((fault): fault is FaultOf<"gateway-brownout"> => fault.kind === "gateway-brownout")
  const callbacks = open.find((fault): fault is FaultOf<"gateway-callbacks"> => fault.kind === "gateway-callbacks")
  const slowdown = open.find((fault): fault is FaultOf<"bank-slowdown"> => fault.kind === "bank-slowdown")
  const slowStore = open.find((fault): fault is FaultOf<"slow-store"> => fault.kind === "slow-store")
  const bank = bankBaselineOf(scenario)
  return {
    ...(parties.gateway ? {
      gateway: {
        ...gatewayBaselineOf(scenario),
        ...(brownout ? { extraLatencyMs: brownout.extraLatencyMs, declineRate: brownout.declineRate } : {}),
        ...(callbacks ? { callbackLossRate: callbacks.lossRate, callbackDuplicateRate: callbacks.duplicateRate, callbackDelayMs: callbacks.delayMs } : {})
      }
    } : {}),
    ...(parties.bank && bank !== undefined ? { bank: slowdown ? { ...bank, extraLatencyMs: slowdown.extraLatencyMs, declineRate: slowdown.declineRate } : bank } : {}),
    store: { delayMs: slowStore?.delayMs ?? 0 }
  }
}

/**
 * The operator's steps: at each window edge of a fault whose party the run has (the gateway with a gateway journey,
 * the bank with a kiosk journey, the store always), the conditions of the parties that edge changes. Empty: no
 * operator scenario.
 */
export const operatorStepsOf = (scenario: Scenario, kinds: ReadonlyArray<JourneyKind>): ReadonlyArray<OperatorStep> => {
  const parties = { gateway: hasGatewayParty(kinds), bank: hasKioskParty(kinds) }
  const faults = scenario.faults.filter((fault): fault is OperatorFault =>
    (fault.kind === "slow-store") || (parties.gateway && fault.kind.startsWith("gateway-")) || (parties.bank && fault.kind === "bank-slowdown"))
  const edges = [...new Set(faults.flatMap((fault) => [fault.startAfterOnSaleMs, fault.endAfterOnSaleMs]))].sort((a, b) => a - b)
  return edges.map((atMs) => {
    const touched = faults.filter((fault) => fault.startAfterOnSaleMs === atMs || fault.endAfterOnSaleMs === atMs)
    const open = faults.filter((fault) => fault.startAfterOnSaleMs <= atMs && atMs < fault.endAfterOnSaleMs)
    const all = conditionsWith(scenario, open, parties)
    return {
      atMs,
      ...(touched.some((fault) => fault.kind.startsWith("gateway-")) && all.gateway ? { gateway: all.gateway } : {}),
      ...(touched.some((fault) => fault.kind === "bank-slowdown") && all.bank ? { bank: all.bank } : {}),
      ...(touched.some((fault) => fault.kind === "slow-store") ? { store: all.store } : {})
    }
  })
}

/** The faults of a scenario the script does not reproduce, with why: for its header. */
export const faultsLeftOutOf = (scenario: Scenario, steps: ReadonlyArray<OperatorStep>) => {
  const switched = new Set(steps.length === 0 ? [] : scenario.faults.filter((fault) => (operatorFaultKinds as ReadonlyArray<string>).includes(fault.kind)).map((fault) => fault.kind))
  return [...new Set(scenario.faults.map((fault) => fault.kind))].filter((kind) => !switched.has(kind)).map((kind) =>
    kind === "server-crash" ? `${kind} (the harness kills and restarts its own server process)`
      : (operatorFaultKinds as ReadonlyArray<string>).includes(kind) ? `${kind} (no journey of this scenario has that party)`
      : `${kind} (a device-side fault the harness simulates in its devices)`)
}

export const k6OperatorScenario = `
// ---- the operator: the faults of the gateway, the bank and the store, switched at their windows' edges ----

/** @param {SetupData} data */
export function operatorFaults(data) {
  for (const step of plan.operatorSteps) {
    sleepUntil(data.clock, plan.onSaleMs + step.atMs)
    const conditions = /** @type {{ gateway?: object, bank?: object, store?: object }} */ (step)
    if (conditions.gateway !== undefined) call("gateway-conditions", "paymentsAdmin.setGatewayConditions", { body: conditions.gateway, headers: asAdmin() })
    if (conditions.bank !== undefined) call("bank-conditions", "paymentsAdmin.setBankConditions", { body: conditions.bank, headers: asAdmin() })
    if (conditions.store !== undefined) call("store-conditions", "backup.setStoreConditions", { body: conditions.store, headers: asAdmin() })
  }
}
`

export const k6SmsGatewayScenario = `
// ---- the SMS gateway pulls the server's outbound texts (devices/SmsRelay.ts); the phones read their replies
// from the relay's answers, so the texts pulled go nowhere ----

/** the last outbound text this VU pulled */
let smsOutboundAfterId = 0

/** @param {SetupData} data */
export function smsGatewayPull(data) {
  for (let page = 0; page < plan.sms.maxPagesPerPull; page++) {
    const pulled = call("sms-pull", "sms.outbound", {
      query: { afterId: smsOutboundAfterId, limit: plan.sms.textsPerPull }, headers: deviceKey(data.sms.deviceKey), needs: ["texts", "nextAfterId"]
    })
    if (!pulled.ok) break
    smsOutboundAfterId = Number(pulled.body.nextAfterId)
    if (pulled.body.texts.length < plan.sms.textsPerPull) break
  }
  sleepScenario(plan.sms.pullIntervalMs)
}
`
