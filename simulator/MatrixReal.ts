/**
 * Real mode on PostgreSQL for the design matrix: a fresh schema per run, N `chunyun serve` processes on
 * it (`postgres:N`), phones spread over the processes by passenger index, every server's clock moved
 * together, and the audit run on the schema once the servers have stopped. Like `runReal` (Real.ts),
 * whose child-process plumbing it reuses; the lead may fold the two together with `serve --workers`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { NodeHttpClient } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Effect, Fiber, ManagedRuntime, Random, Redacted } from "effect"
import { phoneJourney } from "../devices/Phone.js"
import { defaultSettings } from "../reference/Config.js"
import { postgresStore, withSearchPath } from "../reference/Store/Postgres.js"
import type { Scenario } from "../scenarios/Scenario.js"
import { audit } from "./Auditor.js"
import { History } from "./History.js"
import { population, scenarioEndMs } from "./Population.js"
import { serverDesignArgs, startServerProcess } from "./Real.js"
import type { ServerProcess } from "./Real.js"
import { RealTimeline } from "./RealTimeline.js"
import { departureOf, phoneEnvironment, setUp } from "./Setup.js"
import type { RunOptions, RunOutcome } from "./Virtual.js"

/** one connection is enough for CREATE / DROP SCHEMA */
const adminMaxConnections = 1

const adminStatement = (url: string, statement: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement)).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: adminMaxConnections })),
    Effect.asVoid,
    Effect.runPromise
  )

export interface PostgresRunOptions extends RunOptions {
  /** the database the schema is created in, e.g. postgres://root@127.0.0.1:5432/test */
  readonly url: string
  readonly schema: string
  readonly workers: number
  /** keep the schema after the run (to look at its rows); dropped by default */
  readonly keepSchema?: boolean
}

const startServers = async (cliEntry: string, args: ReadonlyArray<string>, workers: number) => {
  const servers: Array<ServerProcess> = []
  try {
    // one after the other: the first migrates and creates the signing key, the others find them
    for (let index = 0; index < workers; index++) servers.push(await startServerProcess(cliEntry, args))
    return servers
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()))
    throw error
  }
}

export const runRealPostgres = async (
  scenario: Scenario, seed: number, cliEntry: string, timeScale: number, options: PostgresRunOptions
): Promise<RunOutcome & { dropped: number }> => {
  await adminStatement(options.url, `CREATE SCHEMA ${options.schema}`)
  const schemaUrl = withSearchPath(options.url, options.schema)
  const startMs = Date.parse(scenario.startAt)
  const devices = ManagedRuntime.make(NodeHttpClient.layerUndici)
  let servers: ReadonlyArray<ServerProcess> = []
  try {
    servers = await startServers(cliEntry, [
      "--port", "0", "--host", "127.0.0.1", "--store", schemaUrl,
      "--password-cost", String(scenario.server.passwordHashCostN), "--hold-ttl-ms", String(scenario.server.holdTtlMs),
      "--clock-start-ms", String(startMs), "--clock-scale", String(timeScale), ...serverDesignArgs(scenario, options)
    ], options.workers)
    const timeline = new RealTimeline(startMs, timeScale, (offsetMs) => Promise.all(servers.map((server) => server.advanceClock(offsetMs))).then(() => undefined))
    const scenarioNow = Effect.sync(() => timeline.nowMs())
    const sleepScenario = (ms: number) => timeline.sleep(ms)
    const history = new History(scenarioNow)
    let dropped = 0
    const program = Effect.gen(function* () {
      const prepared = yield* setUp(scenario, servers[0]!.baseUrl, defaultSettings.adminKey)
      const environments = yield* Effect.forEach(servers, (server) =>
        phoneEnvironment(scenario, prepared, history, server.baseUrl, { sleepScenario, scenarioNowMs: scenarioNow, networkDelay: Effect.void }))
      const fibers: Array<Fiber.RuntimeFiber<void>> = []
      let inFlight = 0
      for (const arrival of yield* population(scenario)) {
        yield* sleepScenario(arrival.arrivalAtMs - (yield* scenarioNow))
        if (inFlight >= scenario.real.maxPassengersInFlight) { dropped++; continue }
        inFlight++
        const environment = environments[arrival.passenger.index % environments.length]!
        const journey = phoneJourney(environment, arrival.passenger, Effect.sync(() => { inFlight-- }))
        fibers.push(yield* Effect.forkDaemon(timeline.actor(journey)))
      }
      return fibers
    })
    const fibers = await devices.runPromise(timeline.actor(program).pipe(Effect.withRandom(Random.make(`devices:${seed}`))))
    await devices.runPromise(Fiber.joinAll(fibers))
    const endMs = Math.min(timeline.nowMs(), scenarioEndMs(scenario, departureOf(scenario)))
    await Promise.all(servers.map((server) => server.stop()))
    // the default pool: the audit may hold a transaction while it reads on another connection
    const store = ManagedRuntime.make(postgresStore({ url: schemaUrl }))
    try {
      const invariants = await store.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => audit(history).pipe(Effect.provideService(SqlClient.SqlClient, sql))))
      return { history, invariants, startMs, endMs, dropped }
    } finally {
      await store.dispose()
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop().catch(() => undefined)))
    await devices.dispose()
    if (!options.keepSchema) await adminStatement(options.url, `DROP SCHEMA IF EXISTS ${options.schema} CASCADE`)
  }
}
