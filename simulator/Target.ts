/**
 * Real mode against a server the harness did not start (`chunyun run --target URL --admin-key K`): a `chunyun serve`
 * running elsewhere, on whatever store and with whatever design it was started with. The scenario's catalog is set
 * up through the server's own admin API, as every run does; the devices drive it over HTTP as in real mode.
 *
 * What differs from a server of the harness's own: its clock cannot be moved, so the scenario's timeline never
 * jumps and runs at `timeScale` (1, real speed, unless the user says otherwise and starts the server at the same
 * scale); a fault the harness would cause to its own process (a crash) cannot be caused there and is refused
 * before anything is sent; and its store may be out of reach, so the history audit always runs and the store
 * audit only when the user names the store.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Either } from "effect"
import type { Layer } from "effect"
import { makeClient } from "../devices/Client.js"
import { sqliteStore } from "../reference/Store/Sqlite.js"
import { postgresStore } from "../reference/Store/Postgres.js"
import type { Scenario } from "../scenarios/Scenario.js"
import type { FaultKind } from "../scenarios/Faults.js"
import { auditHistory } from "./Auditor.js"
import type { HistoryListener } from "./History.js"
import type { HistoryEvent } from "../devices/HistoryEvents.js"
import { auditWithStore, describeFailure, driveServer, RunSetupFailed } from "./Real.js"
import type { DrivenRun } from "./Real.js"
import { RealTimeline } from "./RealTimeline.js"
import { scenarioEndMs } from "./Population.js"
import { startDriverProcesses } from "./Drivers.js"
import type { RunProgress } from "./Progress.js"
import type { RunOutcome } from "./Virtual.js"
import { HarnessError } from "../reports/HarnessError.js"

/** how long the target has to answer `GET /health` before the run is refused */
export const targetHealthTimeoutMs = 10_000

/**
 * Faults the harness causes to a server it started, by what it does to that process: they cannot be caused to a
 * server elsewhere. Every other fault is a device's own, or switched through the server's admin API.
 */
export const faultsNeedingOwnServer: ReadonlyArray<FaultKind> = ["server-crash"]

/** A `--target` run that cannot go ahead, in words naming the option or the scenario's part at fault. */
export class TargetRefused extends HarnessError("TargetRefused") {}

/** The store of the target, for the store audit after the run: a PostgreSQL URL, or a SQLite file. */
export type TargetStore =
  | { readonly kind: "postgres"; readonly url: string }
  | { readonly kind: "sqlite"; readonly file: string }

export interface TargetRunOptions {
  /** the server's base URL, `http://host:port` */
  readonly baseUrl: string
  readonly adminKey: string
  /** how many times faster than the wall clock the scenario's timeline runs; the server must run at the same scale */
  readonly timeScale: number
  /** the target's store, audited after the run; absent: the history audit alone */
  readonly store?: TargetStore
  /** driver processes, each with its share of the passengers (simulator/Drivers.ts), and the CLI they run; default 1, this process */
  readonly driverProcesses?: { readonly count: number; readonly cliEntry: string }
}

/** Why `scenario` cannot run against a server the harness did not start: the faults only its own server can take. */
export const targetRefusal = (scenario: Scenario): string | undefined => {
  const refused = scenario.faults.flatMap((fault, index) => faultsNeedingOwnServer.includes(fault.kind) ? [`"${fault.kind}" (faults[${index}])`] : [])
  if (refused.length === 0) return undefined
  return `the scenario's fault ${refused.join(", ")} kills and restarts the server, which the harness can do only to a server it started: ` +
    `remove it from the scenario's faults, or run without --target`
}

/** The layer of the target's store, for its audit; it opens nothing until the audit runs. */
export const targetStoreLayer = (store: TargetStore): Layer.Layer<SqlClient.SqlClient, unknown> =>
  store.kind === "postgres" ? postgresStore({ url: store.url, maxConnections: 2 }) : sqliteStore({ filename: store.file })

/** The target answers `GET /health` with 200 (its report, with its clock), or the run is refused naming `--target` and what went wrong. */
const checkTargetAnswers = (baseUrl: string) =>
  Effect.gen(function* () {
    const client = yield* makeClient(baseUrl)
    return yield* client.health.getHealth().pipe(Effect.timeoutFail({
      duration: targetHealthTimeoutMs,
      onTimeout: () => new TargetRefused(`--target ${baseUrl}: GET /health did not answer within ${targetHealthTimeoutMs} ms`)
    }))
  }).pipe(
    Effect.catchAll((failure) => Effect.fail(failure instanceof TargetRefused ? failure
      : new TargetRefused(`--target ${baseUrl}: expected a running chunyun server answering GET /health, got ${describeFailure(failure)}`))),
    Effect.provide(NodeHttpClient.layerUndici)
  )

/**
 * The target's clock as the run can follow it, when it reads a time inside the scenario: it answered `clockMs` at
 * the wall instant `answeredAtMs` and runs `timeScale` times faster. A server started with `--clock-start-ms` (the
 * scenario's start) a while before the run reads later than the run's start; the run's timeline then starts where
 * the server's clock is, so holds, sales close and check-in windows line up. Undefined when the server reads a time
 * outside the scenario, or says nothing of its clock: the timeline starts at the scenario's start.
 */
export const serverClockOf = (scenario: Scenario, clockMs: number | undefined, answeredAtMs: number, timeScale: number) => {
  if (clockMs === undefined || clockMs < Date.parse(scenario.startAt) || clockMs >= scenarioEndMs(scenario)) return undefined
  return () => clockMs + (performance.timeOrigin + performance.now() - answeredAtMs) * timeScale
}

/** A setup the server refused, in words naming what the user can change. */
const setupRefusal = (baseUrl: string, failure: RunSetupFailed): TargetRefused | RunSetupFailed => {
  const tag = typeof failure.reason === "object" && failure.reason !== null && "_tag" in failure.reason ? String(failure.reason._tag) : undefined
  if (tag === "Forbidden" || tag === "Unauthorized") {
    return new TargetRefused(`--admin-key: the server at ${baseUrl} refused it (${describeFailure(failure.reason)}): give the key it was served with`)
  }
  if (tag === "TrainRunExists" || tag === "CinemaExists") {
    return new TargetRefused(`--target ${baseUrl}: the server has the scenario's catalog already (${describeFailure(failure.reason)}); ` +
      `a run sets its catalog up itself: serve a fresh store, without --seed-catalog`)
  }
  return failure
}

/**
 * Run `scenario` against the server at `options.baseUrl`: checked first (refused faults, an answering server), set
 * up through its admin API, driven on a timeline that never jumps, then audited from the history, and from the
 * store when `options.store` names it.
 */
export const runTarget = async (
  scenario: Scenario, seed: number, options: TargetRunOptions, onProgress?: (progress: RunProgress) => void,
  onHistoryEvent?: HistoryListener
): Promise<RunOutcome & { readonly dropped: number }> => {
  const refusal = targetRefusal(scenario)
  if (refusal !== undefined) throw new TargetRefused(refusal)
  const answeredAtMs = performance.timeOrigin + performance.now()
  const answered = await Effect.runPromise(Effect.either(checkTargetAnswers(options.baseUrl)))
  if (Either.isLeft(answered)) throw answered.left
  const serverClockMs = serverClockOf(scenario, answered.right.clockMs, answeredAtMs, options.timeScale)
  let driven: DrivenRun
  try {
    const several = options.driverProcesses
    if (several !== undefined && several.count > 1) {
      const drivers = await startDriverProcesses(several.cliEntry, several.count)
      try {
        driven = await drivers.drive(scenario, seed, {
          baseUrl: options.baseUrl, adminKey: options.adminKey, timeScale: options.timeScale, ...(serverClockMs === undefined ? {} : { serverClockMs })
        }, onProgress, onHistoryEvent)
      } finally {
        drivers.close()
      }
    } else {
      const timeline = new RealTimeline(Date.parse(scenario.startAt), options.timeScale)
      if (serverClockMs !== undefined) timeline.setOffset(serverClockMs() - timeline.nowMs())
      driven = await driveServer(scenario, seed, { baseUrl: options.baseUrl, adminKey: options.adminKey, modeFaultActions: {} },
        timeline, onProgress, onHistoryEvent)
    }
  } catch (error) {
    throw error instanceof RunSetupFailed ? setupRefusal(options.baseUrl, error) : error
  }
  const invariants = options.store === undefined ? auditHistory(driven.history) : await auditWithStore(driven.history, targetStoreLayer(options.store))
  return { ...driven, invariants }
}

/** For the report's notes: how the run treated a server it did not start. */
export const targetNotes = (options: TargetRunOptions, storeNamed: string | undefined): ReadonlyArray<string> => [
  `Run against the server at ${options.baseUrl}, which the harness did not start: its own design and settings applied, ` +
    `not the scenario's server section; the timeline ran at ${options.timeScale}× the wall clock without skipping idle stretches.`,
  storeNamed === undefined
    ? "Its store was not named (--audit-store, --audit-db): the invariants are those the history of client observations shows."
    : `Its store (${storeNamed}) was audited after the run, while the server kept serving, beside the history.`
]
