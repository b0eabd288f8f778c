/**
 * What passengers do, by journey kind. Each kind prepares itself once before the rush (registers its devices,
 * creates what it sells) and then starts one journey per arriving passenger. Both modes (Virtual.ts, Real.ts)
 * run a scenario through `prepareRun`, so a journey behaves the same in virtual time and over real HTTP.
 */
import type { HttpClient } from "@effect/platform"
import { Context, Effect } from "effect"
import type { Passenger } from "../devices/Phone.js"
import { makeClient } from "../devices/Client.js"
import type { JourneyKind, Scenario } from "../scenarios/Scenario.js"
import { runCreatedKind } from "../devices/HistoryEvents.js"
import { Faults, HistoryRecorder } from "../devices/Instruments.js"
import type { FaultSchedule, Instruments, Recorder } from "../devices/Instruments.js"
import { faultActors } from "./FaultSchedule.js"
import type { FaultActions } from "./FaultSchedule.js"
import { currentJourney } from "./History.js"
import { prepareAppJourney } from "./journeys/App.js"
import { prepareAppGatewayJourney } from "./journeys/AppGateway.js"
import { prepareCinemaJourney } from "./journeys/Cinema.js"
import type { Arrival } from "./Population.js"
import { setUp } from "./Setup.js"
import { prepareFanJourney } from "./journeys/Fan.js"
import { prepareCarrierJourney } from "./journeys/Carrier.js"
import { prepareSmsJourney } from "./journeys/Sms.js"
import { prepareAppPickupJourney, prepareKioskJourney, prepareRemoteCardJourney } from "./journeys/Kiosk.js"
import type { Prepared, SetupRecord, Timing } from "./Setup.js"

/**
 * What a journey kind is prepared with. The run's history, network and faults are services (devices/Instruments.ts)
 * the mode provides; `faults` is the schedule those services hold, for the parties a journey sets up.
 */
export interface JourneyContext {
  readonly scenario: Scenario
  readonly baseUrl: string
  readonly adminKey: string
  readonly timing: Timing
  readonly faults: FaultSchedule
  /** the trains' runs and the stations' gates, created before any journey is prepared */
  readonly prepared: Prepared
}

export interface PreparedJourney {
  /** one passenger's journey; `afterPurchase` runs once the purchase is over (real mode frees the in-flight slot) */
  readonly start: (passenger: Passenger, afterPurchase: Effect.Effect<void>) => Effect.Effect<void, never, Instruments>
  /** actors that run beside the passengers from the start (an offline gate's sync, a printer) */
  readonly background?: ReadonlyArray<Effect.Effect<void, unknown, Instruments>>
  /** how the parties of this journey take the scenario's faults at their windows' edges */
  readonly faultActions?: FaultActions
}

export type JourneyPreparer = (context: JourneyContext) => Effect.Effect<PreparedJourney, unknown, HttpClient.HttpClient | Instruments>

export const journeyPreparers: { readonly [Kind in JourneyKind]-?: JourneyPreparer } = {
  app: prepareAppJourney,
  fan: prepareFanJourney,
  "app-gateway": prepareAppGatewayJourney,
  cinema: prepareCinemaJourney,
  sms: (context) => prepareSmsJourney(context),
  carrier: (context) => prepareCarrierJourney(context),
  kiosk: prepareKioskJourney,
  "app-pickup": prepareAppPickupJourney,
  "remote-card": prepareRemoteCardJourney
}

export const journeyKindsOf = (scenario: Scenario): ReadonlyArray<JourneyKind> =>
  (Object.keys(scenario.passengers.mix) as Array<JourneyKind>).filter((kind) => (scenario.passengers.mix[kind] ?? 0) > 0).sort()

/** `slow-store`: the operator sets the store's commit delay for the window (reference/Store/SlowStore.ts) */
const storeFaultActions = (baseUrl: string, adminKey: string) =>
  Effect.map(makeClient(baseUrl, { "x-admin-key": adminKey }), (admin): FaultActions => ({
    "slow-store": {
      start: (fault) => admin.backup.setStoreConditions({ payload: { delayMs: fault.delayMs } }),
      end: () => admin.backup.setStoreConditions({ payload: { delayMs: 0 } })
    }
  }))

/**
 * Each train run the operator created, with its stops in order, as an event of the history: the history audit
 * (simulator/audits/FromHistory.ts) needs a run's route to tell whether two segments of it overlap.
 */
const recordRunsCreated = (scenario: Scenario, prepared: Prepared, history: Recorder, timing: Timing) =>
  Effect.flatMap(timing.scenarioNowMs, (atMs) => Effect.sync(() => {
    scenario.trains.forEach((train, index) => history.add({
      atMs, actor: "operator", kind: runCreatedKind, outcome: "ok",
      detail: { runId: prepared.runIds[index]!, stops: train.stops.map((stop) => stop.station).join(" ") }
    }))
  }))

export interface PreparedRun {
  readonly start: (arrival: Arrival, afterPurchase: Effect.Effect<void>) => Effect.Effect<void>
  /** actors to start with the run: the journeys' background work and one per scheduled fault */
  readonly background: ReadonlyArray<Effect.Effect<void, unknown>>
  /** what the setup created, for the other driver processes of the run */
  readonly setup: SetupRecord
}

/**
 * One of several driver processes of a run (simulator/Drivers.ts). The first makes the setup and runs the
 * background actors (faults, the journeys' background work) and the passengers whose index modulo `count` is 0;
 * each other process builds its devices on the first's `setup` and drives its own share of the passengers.
 */
export interface DriverShare {
  readonly index: number
  readonly count: number
  /** the first process's setup; absent in the first process, which makes it */
  readonly setup?: SetupRecord
}

/** The journey kinds whose preparation can be shared by several driver processes: they create nothing on the server but the catalog. */
export const journeysForDriverProcesses: ReadonlyArray<JourneyKind> = ["app", "app-gateway"]

/** Why `scenario` cannot be driven from several processes, or undefined. */
export const driverProcessesRefusal = (scenario: Scenario): string | undefined => {
  const unshared = journeyKindsOf(scenario).filter((kind) => !journeysForDriverProcesses.includes(kind))
  if (unshared.length > 0) {
    return `journey ${unshared.map((kind) => `"${kind}"`).join(", ")} (passengers.mix) prepares devices and sales on the server that ` +
      `one process owns; several driver processes can share only ${journeysForDriverProcesses.map((kind) => `"${kind}"`).join(", ")}`
  }
  if (scenario.load !== undefined) return "a scenario with a load executor (load) starts its iterations from one process"
  return undefined
}

/**
 * Set the scenario up on the server and prepare every journey kind of its mix. `adminKey` is the server's (the
 * in-process test key in virtual mode, the one the harness gave a served process in real mode). `modeFaultActions`
 * are the faults only a mode can cause (a server crash). The mode provides the devices' instruments (the run's
 * history, network model and fault schedule); the journeys and background actors of the prepared run carry them.
 */
export const prepareRun = (
  scenario: Scenario, baseUrl: string, adminKey: string, timing: Timing, modeFaultActions: FaultActions = {},
  share?: DriverShare
) =>
  Effect.gen(function* () {
    const instruments = yield* Effect.context<Instruments>()
    const history = Context.get(instruments, HistoryRecorder)
    const faults = Context.get(instruments, Faults)
    const prepared = yield* setUp(scenario, baseUrl, adminKey, share?.setup)
    const first = share === undefined || share.index === 0
    if (first) yield* recordRunsCreated(scenario, prepared, history, timing)
    const context: JourneyContext = { scenario, baseUrl, adminKey, timing, faults, prepared }
    const journeys = new Map<JourneyKind, PreparedJourney>()
    // what a journey kind does before the rush (a fan's carrier, the organiser's group orders) counts for that kind
    for (const kind of journeyKindsOf(scenario)) journeys.set(kind, yield* Effect.locally(journeyPreparers[kind](context), currentJourney, kind))
    const actions: FaultActions = Object.assign(
      yield* storeFaultActions(baseUrl, adminKey), modeFaultActions, ...[...journeys.values()].map((journey) => journey.faultActions ?? {}))
    const background = first ? [
      ...[...journeys.values()].flatMap((journey) => journey.background ?? []),
      ...faultActors(faults, actions, history, timing)
    ].map((actor) => Effect.provide(actor, instruments)) : []
    const run: PreparedRun = {
      background,
      setup: prepared.record,
      start: (arrival, afterPurchase) => {
        const journey = journeys.get(arrival.journey)
        // every call of the passenger's journey, a kiosk's or an agent's serving it included, counts for its kind
        return journey
          ? Effect.locally(Effect.provide(journey.start(arrival.passenger, afterPurchase), instruments), currentJourney, arrival.journey)
          : Effect.dieMessage(`no journey ${arrival.journey} prepared`)
      }
    }
    return run
  })
