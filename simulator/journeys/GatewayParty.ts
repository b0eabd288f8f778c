/**
 * The simulated payment gateway as a party of a run: its conditions outside fault windows (the scenario's
 * `gateway`, else a normal gateway), its faults switched on and off at their windows' edges through the
 * admin API (`gateway-brownout`: extra latency and declines; `gateway-callbacks`: lost, duplicated, late
 * notifications), and its counters recorded when the scenario ends. The journeys that pay by gateway
 * (`app-gateway`, `cinema`) share one party per run.
 */
import { Effect } from "effect"
import { makeClient } from "../../devices/Client.js"
import { note } from "../../devices/Instruments.js"
import type { Instruments } from "../../devices/Instruments.js"
import type { GatewayConditions } from "../../reference/Simulated/Gateway.js"
import { normalGatewayConditions } from "../../reference/Simulated/Gateway.js"
import type { FaultOf } from "../../scenarios/Faults.js"
import type { FaultActions } from "../FaultSchedule.js"
import { scenarioEndMs } from "../Population.js"
import type { JourneyContext } from "../Journeys.js"

export interface GatewayParty {
  readonly faultActions: FaultActions
  readonly background: ReadonlyArray<Effect.Effect<void, unknown, Instruments>>
}

const parties = new WeakMap<JourneyContext, GatewayParty>()

/** What each open fault changes: conditions are the baseline with every open fault laid over it. */
const overlay = (baseline: GatewayConditions, brownout: FaultOf<"gateway-brownout"> | undefined, callbacks: FaultOf<"gateway-callbacks"> | undefined): GatewayConditions => ({
  ...baseline,
  ...(brownout ? { extraLatencyMs: brownout.extraLatencyMs, declineRate: brownout.declineRate } : {}),
  ...(callbacks ? { callbackLossRate: callbacks.lossRate, callbackDuplicateRate: callbacks.duplicateRate, callbackDelayMs: callbacks.delayMs } : {})
})

/** Prepare the gateway once per run: set its baseline, and say how its faults start and end. */
export const gatewayParty = (context: JourneyContext) =>
  Effect.gen(function* () {
    const existing = parties.get(context)
    if (existing) return { faultActions: existing.faultActions, background: [] } satisfies GatewayParty
    const admin = yield* makeClient(context.baseUrl, { "x-admin-key": context.adminKey })
    const baseline: GatewayConditions = { ...normalGatewayConditions, ...context.scenario.gateway }
    const open: { brownout?: FaultOf<"gateway-brownout">; callbacks?: FaultOf<"gateway-callbacks"> } = {}
    yield* admin.paymentsAdmin.setGatewayConditions({ payload: baseline })
    const faultActions: FaultActions = {
      "gateway-brownout": {
        start: (fault) => Effect.suspend(() => { open.brownout = fault; return applyNow() }),
        end: () => Effect.suspend(() => { delete open.brownout; return applyNow() })
      },
      "gateway-callbacks": {
        start: (fault) => Effect.suspend(() => { open.callbacks = fault; return applyNow() }),
        end: () => Effect.suspend(() => { delete open.callbacks; return applyNow() })
      }
    }
    function applyNow() { return Effect.asVoid(admin.paymentsAdmin.setGatewayConditions({ payload: overlay(baseline, open.brownout, open.callbacks) })) }
    const endMs = scenarioEndMs(context.scenario)
    // at the scenario's end, what the gateway did: charges, declines, lost and duplicated notifications
    const counters = Effect.gen(function* () {
      const nowMs = yield* context.timing.scenarioNowMs
      yield* context.timing.sleepScenario(Math.max(0, endMs - nowMs - 1))
      const state = yield* admin.paymentsAdmin.gatewayState()
      yield* note("gateway", "gateway-counters", "ok", { ...state.counters })
    })
    const party: GatewayParty = { faultActions, background: [counters] }
    parties.set(context, party)
    return party
  })
