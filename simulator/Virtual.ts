/**
 * Virtual mode: one process, the discrete-event clock, seeded randomness. Devices call the server through
 * the typed client routed in-process to the server's web handler (routing, schema decoding and error
 * mapping run as over a socket). The server's sweepers are actors on the same clock.
 */
import { FetchHttpClient } from "@effect/platform"
import * as SqlClient from "@effect/sql/SqlClient"
import { Context, Effect, Layer, ManagedRuntime, Random } from "effect"
import { serverBaseUrl } from "../devices/Client.js"
import { phoneJourney } from "../devices/Phone.js"
import { ServerConfig, defaultSettings } from "../reference/Config.js"
import type { ServerSettings } from "../reference/Config.js"
import { Delivery } from "../reference/Delivery.js"
import { Issuance } from "../reference/Issuance.js"
import { Orders } from "../reference/Orders.js"
import { Payments } from "../reference/Payments.js"
import { inProcessHandler, ServicesLayer, sqliteStore } from "../reference/Server.js"
import type { InvariantResult } from "../reports/Report.js"
import type { Scenario } from "../scenarios/Scenario.js"
import { audit } from "./Auditor.js"
import { History } from "./History.js"
import { population, scenarioEndMs } from "./Population.js"
import { departureOf, phoneEnvironment, setUp, simulatedNetworkDelay } from "./Setup.js"
import { InProcessRequest, VirtualClock } from "./VirtualClock.js"

export interface ProgressSnapshot {
  readonly nowMs: number
  readonly history: History
}

export interface RunOutcome {
  readonly history: History
  readonly invariants: ReadonlyArray<InvariantResult>
  readonly startMs: number
  readonly endMs: number
}

/** the longest an idle sweeper waits in virtual mode */
export const maxIdleSweepIntervalMs = 60_000

export interface RunOptions {
  /** let the scenario use the unsafe inventory (it double-books by design) */
  readonly allowUnsafeInventory?: boolean
}

export const settingsOf = (scenario: Scenario, options: RunOptions = {}): Partial<ServerSettings> => ({
  passwordHashCostN: scenario.server.passwordHashCostN,
  holdTtlMs: scenario.server.holdTtlMs,
  inventory: scenario.server.inventory,
  allowUnsafeInventory: options.allowUnsafeInventory ?? false,
  maxQueuedHoldsPerRun: scenario.server.maxQueuedHoldsPerRun,
  holdBatching: scenario.server.batching,
  holdGroupCommitWindowMs: scenario.server.groupCommitWindowMs,
  maxHoldsPerGroupCommit: scenario.server.maxHoldsPerGroupCommit,
  issuance: scenario.server.issuance,
  outboxSweepIntervalMs: scenario.server.outboxPollIntervalMs,
  outboxBatchSize: scenario.server.outboxBatchSize
})

/**
 * Why a scenario's server design cannot run in virtual mode, or undefined. Virtual mode runs one request
 * at a time and charges no virtual time for server work: a group commit's window would park its leader
 * while the next hold waits on it, and the turn could never end.
 */
export const virtualModeRefusal = (scenario: Scenario): string | undefined =>
  scenario.server.batching === "group-commit" ? "group commit of holds needs real mode (requests overlap only there)" : undefined

export const runVirtual = async (
  scenario: Scenario, seed: number, onProgress?: (snapshot: ProgressSnapshot) => void, options: RunOptions = {}
): Promise<RunOutcome> => {
  const refusal = virtualModeRefusal(scenario)
  if (refusal !== undefined) throw new Error(refusal)
  const startMs = Date.parse(scenario.startAt)
  const clock = new VirtualClock(startMs)
  const serverRandom = Random.make(`server:${seed}`)
  const deviceRandom = Random.make(`devices:${seed}`)
  const settings = settingsOf(scenario, options)
  const effective = { ...defaultSettings, ...settings }
  const history = new History()
  // nobody reads spans in a virtual run; creating one per request and service call costs wall time
  const timeOverrides = Layer.mergeAll(
    Layer.setClock(clock.clock), Layer.setRandom(serverRandom), Layer.setScheduler(clock.scheduler), Layer.setTracerEnabled(false)
  )

  const store = ManagedRuntime.make(sqliteStore({ filename: ":memory:" }))
  const sql = await store.runPromise(SqlClient.SqlClient)
  const storeLayer = Layer.succeed(SqlClient.SqlClient, sql)
  const web = inProcessHandler({ settings, store: storeLayer, clock: clock.clock, random: serverRandom, scheduler: clock.scheduler, tracing: false })
  const server = ManagedRuntime.make(ServicesLayer.pipe(
    Layer.provide(storeLayer), Layer.provide(ServerConfig.layer(settings)), Layer.provide(timeOverrides), Layer.merge(timeOverrides)
  ))
  const fetchLayer = FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch,
    (input: string | URL | Request, init?: RequestInit) =>
      clock.trackExternal(web.handler(new Request(input, init), Context.make(InProcessRequest, true))))))
  const devices = ManagedRuntime.make(Layer.mergeAll(
    fetchLayer, Layer.setClock(clock.clock), Layer.setRandom(deviceRandom), Layer.setScheduler(clock.scheduler),
    Layer.setTracerEnabled(false)
  ))
  try {
    const serverRuntime = await server.runtime()
    const deviceRuntime = await devices.runtime()
    const departureEpochMs = departureOf(scenario)
    const endMs = scenarioEndMs(scenario, departureEpochMs)

    // A sweep that finds nothing doubles its wait (up to maxIdleSweepIntervalMs); one that finds work
    // goes back to the server's interval. Six virtual hours of 1 s sweeps would otherwise dominate the run.
    // (the outbox worker of issuance "worker" polls at its interval, busy or not: it is the design measured)
    const sweep = (intervalMs: number, work: Effect.Effect<number, unknown, Issuance | Orders | Delivery | Payments>, maxIdleMs = maxIdleSweepIntervalMs) =>
      Effect.gen(function* () {
        let waitMs = intervalMs
        while (clock.nowMs + waitMs <= endMs) {
          yield* Effect.sleep(waitMs)
          const done = yield* work
          waitMs = done > 0 ? intervalMs : Math.min(waitMs * 2, maxIdleMs)
        }
      })
    const outboxMaxIdleMs = effective.issuance === "worker" ? effective.outboxSweepIntervalMs : maxIdleSweepIntervalMs
    clock.spawn(startMs, serverRuntime, sweep(effective.outboxSweepIntervalMs, Effect.flatMap(Issuance, (issuance) => issuance.sweepOutbox), outboxMaxIdleMs))
    if (scenario.server.payment === "gateway") {
      // the simulated gateway's notifications, and the reconciler for the ones it loses
      clock.spawn(startMs, serverRuntime, sweep(effective.simulatedGatewayCallbackIntervalMs, Effect.flatMap(Payments, (payments) => payments.deliverSimulatedCallbacks)))
      clock.spawn(startMs, serverRuntime, sweep(effective.gatewayReconcileIntervalMs, Effect.flatMap(Payments, (payments) => payments.reconcileGatewayCharges)))
      clock.spawn(startMs, serverRuntime, sweep(effective.pendingTransferSweepIntervalMs, Effect.flatMap(Payments, (payments) => payments.voidTimedOutReservations)))
    }
    clock.spawn(startMs, serverRuntime, sweep(effective.holdSweepIntervalMs, Effect.flatMap(Orders, (orders) => orders.releaseExpiredHolds)))
    clock.spawn(startMs, serverRuntime, sweep(effective.deliverySweepIntervalMs, Effect.flatMap(Delivery, (delivery) => delivery.sweep)))
    if (onProgress) {
      clock.spawn(startMs, deviceRuntime, Effect.gen(function* () {
        while (clock.nowMs < endMs) {
          yield* Effect.sleep(60_000)
          onProgress({ nowMs: clock.nowMs, history })
        }
      }))
    }
    clock.spawn(startMs, deviceRuntime, Effect.gen(function* () {
      const prepared = yield* setUp(scenario, serverBaseUrl, defaultSettings.adminKey)
      const environment = yield* phoneEnvironment(scenario, prepared, history, serverBaseUrl, {
        sleepScenario: (ms) => Effect.sleep(ms),
        scenarioNowMs: Effect.sync(() => clock.nowMs),
        networkDelay: simulatedNetworkDelay(scenario)
      })
      for (const arrival of yield* population(scenario)) {
        clock.spawn(arrival.arrivalAtMs, deviceRuntime, phoneJourney(environment, arrival.passenger))
      }
    }))
    await clock.run()
    const invariants = await store.runPromise(audit(history).pipe(Effect.provideService(SqlClient.SqlClient, sql)))
    return { history, invariants, startMs, endMs: clock.nowMs }
  } finally {
    await devices.dispose()
    await web.dispose()
    await server.dispose()
    await store.dispose()
  }
}
