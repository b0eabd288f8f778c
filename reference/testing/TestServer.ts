/**
 * The real server on a real socket for tests: SQLite in memory or a fresh PostgreSQL schema (TestStore.ts,
 * `CHUNYUN_TEST_STORE`), an ephemeral port on 127.0.0.1, the sweepers running, and a cheap scrypt cost so registering hundreds of customers takes seconds. Tests
 * talk to it over HTTP with the typed client derived from `ChunyunApi` (undici underneath), or with
 * raw `fetch` when the status line and body bytes are the point.
 */
import { HttpApiBuilder, HttpClientError, HttpServer } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect, Layer, ManagedRuntime } from "effect"
import { defaultSettings } from "../Config.js"
import type { ServerSettings } from "../Config.js"
import { defaultSimulatedExternalsSettings, simulatedExternalsSettingsOf } from "../Simulated/Settings.js"
import type { SimulatedExternalsSettings } from "../Simulated/Settings.js"
import type { CustomerId, Fen, GateId, PhoneNumber, RunId, ServiceDate, StationCode, TrainCode } from "../Domain.js"
import { makeResidentId } from "../customers/Customers/ResidentId.js"
import { createGuardedServer } from "../operations/RequestGuard.js"
import { appLayer, sweepers } from "../Server.js"
import { postgresStore } from "../Store/Postgres.js"
import { freshTestSchema, openTestStore, testStoreKind } from "./TestStore.js"
import type { TestStore, TestStoreKind } from "./TestStore.js"
import { bearer, makeClient } from "../../devices/Client.js"
import type { ApiClient } from "../../devices/Client.js"

/** scrypt N for tests: 1 MiB of memory per hash instead of the 16 MiB of Node's default N = 16384 */
export const testPasswordHashCostN = 1024
const testHost = "127.0.0.1"
const listenBacklog = 4096

/** What a test server runs with: the server's settings and those of the simulated externals beside it. */
export type TestServerSettings = ServerSettings & SimulatedExternalsSettings

const serverLayer = (settings: TestServerSettings, store: Layer.Layer<SqlClient.SqlClient>) => {
  // the same layer value twice is built once: the tests read the store the server writes
  const app = Layer.merge(appLayer(settings, store, undefined, simulatedExternalsSettingsOf(settings)), store)
  return HttpApiBuilder.serve().pipe(
    Layer.provide(Layer.scopedDiscard(sweepers)),
    Layer.provideMerge(app),
    Layer.provideMerge(NodeHttpServer.layer(createGuardedServer, { port: 0, host: testHost, backlog: listenBacklog }))
  )
}

/**
 * The real clock, moved forward only when a test says so (`TestServer.advanceClock`): a ticket bought before
 * its train left can then be presented or refunded after, which no request may do any more by buying late.
 */
const forwardableClock = () => {
  const real = Clock.make()
  let offsetMs = 0
  const nowMs = () => real.unsafeCurrentTimeMillis() + offsetMs
  const nowNanos = () => real.unsafeCurrentTimeNanos() + BigInt(offsetMs) * 1_000_000n
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: nowMs,
    unsafeCurrentTimeNanos: nowNanos,
    currentTimeMillis: Effect.sync(nowMs),
    currentTimeNanos: Effect.sync(nowNanos),
    sleep: (duration) => real.sleep(duration)
  }
  const advance = (ms: number) => {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new Error(`advanceClock: a whole, non-negative number of ms, got ${ms}`)
    offsetMs += ms
  }
  return { clock, advance }
}

const testLayer = (settings: TestServerSettings, store: Layer.Layer<SqlClient.SqlClient>, clock: Clock.Clock) => {
  // the server's handlers and sweepers, and the effects a test runs, all read the one clock
  const setClock = Layer.setClock(clock)
  return Layer.merge(serverLayer(settings, store), NodeHttpClient.layerUndici).pipe(Layer.provide(setClock), Layer.merge(setClock))
}

/** What an effect given to `TestServer.run` may use: the HTTP client, and the server's store and services. */
export type TestContext = Layer.Layer.Success<ReturnType<typeof testLayer>>

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string
  readonly settings: TestServerSettings
  readonly store: TestStoreKind
  /** Runs an effect with a real HTTP client and the server's own context (its SqlClient for assertions on the store). */
  readonly run: <A, E>(effect: Effect.Effect<A, E, TestContext>) => Promise<A>
  /** Moves the server's clock (and that of `run`) `ms` forward for good: the trains it knows leave, holds expire. */
  readonly advanceClock: (ms: number) => void
  /** Stops the sweepers, closes the socket and the store (dropping a PostgreSQL schema), and destroys the client's connection pool. */
  readonly close: () => Promise<void>
}

/** Settings to override, and the store: this run's (`CHUNYUN_TEST_STORE`) unless named. */
export interface TestServerOptions extends Partial<TestServerSettings> {
  readonly store?: TestStoreKind
  /**
   * A PostgreSQL schema another test server of this test already runs on (its URL with the search_path):
   * this server opens its own connection pool on it, as another `chunyun serve` process would, and leaves
   * dropping it to whoever created it.
   */
  readonly sharedPostgresUrl?: string
}

/** The chain of `cause`s under an error, as `message (code)` joined by ` ← `. */
const causeChain = (error: unknown): string => {
  const parts: Array<string> = []
  for (let current = error; current instanceof Error && parts.length < 5; current = current.cause) {
    const code = (current as NodeJS.ErrnoException).code
    parts.push(code ? `${current.message} (${code})` : current.message)
  }
  return parts.join(" ← ")
}

/**
 * A request that never got an answer fails with what the socket said (reset, refused, timed out), not only
 * "Transport error": the message of a failing test names the cause.
 */
const withTransportCause = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchIf(effect, (error): error is E & HttpClientError.RequestError =>
    HttpClientError.isHttpClientError(error) && error._tag === "RequestError" && error.reason === "Transport",
  (error) => Effect.die(new Error(`${error.message}: ${causeChain(error.cause)}`)))

const sharedStore = (url: string): TestStore => ({ kind: "postgres", layer: postgresStore({ url }), release: async () => undefined })

export const startTestServer = async (options: TestServerOptions = {}): Promise<TestServer> => {
  const { store: named = testStoreKind(), sharedPostgresUrl, ...overrides } = options
  const kind = sharedPostgresUrl === undefined ? named : "postgres"
  const settings: TestServerSettings = { ...defaultSettings, ...defaultSimulatedExternalsSettings, passwordHashCostN: testPasswordHashCostN, ...overrides }
  const store = sharedPostgresUrl === undefined ? await openTestStore(kind) : sharedStore(sharedPostgresUrl)
  const clock = forwardableClock()
  const runtime = ManagedRuntime.make(testLayer(settings, store.layer, clock.clock))
  const close = async () => {
    try {
      await runtime.dispose()
    } finally {
      await store.release()
    }
  }
  try {
    const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
    if (address._tag !== "TcpAddress") throw new Error(`test server bound to ${address.path}, expected a TCP port`)
    return {
      baseUrl: `http://${testHost}:${address.port}`, settings, store: kind, run: (effect) => runtime.runPromise(withTransportCause(effect)),
      advanceClock: clock.advance, close
    }
  } catch (error) {
    await close()
    throw error
  }
}

/** Runs `body` with a fresh server and always closes it, for a test that needs settings of its own. */
export const withTestServer = async <A>(options: TestServerOptions, body: (server: TestServer) => Promise<A>) => {
  const server = await startTestServer(options)
  try {
    return await body(server)
  } finally {
    await server.close()
  }
}

/**
 * Runs `body` with `count` servers on one fresh PostgreSQL schema, each with its own connection pool, as
 * `count` server processes behind one load balancer would be; closes them all and drops the schema.
 */
export const withTestServersOnOneSchema = async <A>(
  count: number, options: Omit<TestServerOptions, "store" | "sharedPostgresUrl">, body: (servers: ReadonlyArray<TestServer>) => Promise<A>
) => {
  const schema = await freshTestSchema()
  const servers: Array<TestServer> = []
  try {
    // one at a time: the first migrates the schema, the others find it in place
    for (let index = 0; index < count; index++) servers.push(await startTestServer({ ...options, sharedPostgresUrl: schema.url }))
    return await body(servers)
  } finally {
    for (const server of servers) await server.close()
    await schema.drop()
  }
}

/** `?` placeholders as PostgreSQL's `$1, $2, …` (the statements of tests hold no `?` inside a string). */
const numberedPlaceholders = (statement: string) => {
  let count = 0
  return statement.replace(/\?/g, () => `$${++count}`)
}

/**
 * Reads the server's store directly, for invariants no endpoint shows (ledger sums, seat masks). Write `?`
 * placeholders and snake_case aliases: PostgreSQL folds an unquoted `paidOrders` to `paidorders`.
 */
export const storeQuery = <Row extends object>(statement: string, ...params: ReadonlyArray<string | number>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.unsafe<Row>(sql.onDialectOrElse({ pg: () => numberedPlaceholders(statement), orElse: () => statement }), params)
  ).pipe(Effect.orDie)

// ---- typed clients ------------------------------------------------------------------------------

/** The API's client with these headers on every request (a view of one derived client: devices/Client.ts). */
export const clientWithHeaders = (baseUrl: string, headers: Readonly<Record<string, string>>) => makeClient(baseUrl, headers)

export const anonymousClient = (baseUrl: string) => clientWithHeaders(baseUrl, {})
export type ChunyunClient = ApiClient

export const adminClient = (baseUrl: string, adminKey: string = defaultSettings.adminKey) =>
  clientWithHeaders(baseUrl, { "x-admin-key": adminKey })

export const customerClient = (baseUrl: string, token: string) => clientWithHeaders(baseUrl, bearer(token))

export const gateClient = (baseUrl: string, deviceKey: string) => clientWithHeaders(baseUrl, { "x-device-key": deviceKey })

let phonesIssued = 0
/** A valid mainland mobile number no other call in this process has returned. */
export const freshPhone = () => {
  phonesIssued++
  return `139${String(phonesIssued).padStart(8, "0")}` as PhoneNumber
}

let residentIdsIssued = 0
/** A valid resident ID number (Chaoyang, Beijing; born 1990-2019) no other call in this process has returned. */
export const freshResidentId = () => {
  residentIdsIssued++
  const birthYear = 1990 + Math.floor(residentIdsIssued / 1000) % 30
  return makeResidentId("110105", `${birthYear}0615`, String(residentIdsIssued % 1000).padStart(3, "0"))
}

export const testPassword = "correct horse battery"
export const testPaymentPassword = "246810"

export interface TestCustomer {
  readonly client: ChunyunClient
  readonly token: string
  readonly customerId: CustomerId
  readonly phone: PhoneNumber
  readonly password: string
  readonly paymentPassword: string
}

/** Registers a customer with a fresh phone number, logs in, and returns a client carrying the session token. */
export const newCustomer = (baseUrl: string) =>
  Effect.gen(function* () {
    const anonymous = yield* anonymousClient(baseUrl)
    const phone = freshPhone()
    const registered = yield* anonymous.customers.register({
      payload: { phone, password: testPassword, paymentPassword: testPaymentPassword, residentId: freshResidentId() }
    })
    const session = yield* anonymous.customers.login({ payload: { phone, password: testPassword } })
    const client = yield* customerClient(baseUrl, session.token)
    const customer: TestCustomer = {
      client, token: session.token, customerId: registered.customerId, phone,
      password: testPassword, paymentPassword: testPaymentPassword
    }
    return customer
  })

export interface TestGate {
  readonly client: ChunyunClient
  readonly gateId: GateId
  readonly deviceKey: string
  readonly station: StationCode
}

export const newGate = (baseUrl: string, gateId: string, station: string) =>
  Effect.gen(function* () {
    const admin = yield* adminClient(baseUrl)
    const registered = yield* admin.catalog.registerGate({
      payload: { gateId: gateId as GateId, station: station as StationCode }
    })
    const gate: TestGate = {
      client: yield* gateClient(baseUrl, registered.deviceKey),
      gateId: registered.gateId, deviceKey: registered.deviceKey, station: station as StationCode
    }
    return gate
  })

// ---- train runs ---------------------------------------------------------------------------------

const minutesPerDay = 1440
const msPerMinute = 60_000
/** How far ahead of the clock a "departing soon" train leaves: inside the default check-in window of 2 h before. */
export const departsInMinutes = 30
export const minutesBetweenStops = 5
/** With these, the fallback departure (next midnight) is at most 30 + 5 × 6 minutes away: still inside 2 h. */
export const maxStopsOfSoonRun = 7

const serviceDateOf = (localMs: number) => new Date(localMs).toISOString().slice(0, 10) as ServiceDate

/**
 * A service date and first-stop minute of day (in the server's UTC offset) such that the first stop
 * leaves about half an hour from `nowMs` and every later stop still falls on the same service date.
 */
export const departingSoon = (nowMs: number, stopCount: number, utcOffsetMinutes = defaultSettings.utcOffsetMinutes) => {
  if (stopCount < 2 || stopCount > maxStopsOfSoonRun) throw new Error(`departingSoon: 2..${maxStopsOfSoonRun} stops, got ${stopCount}`)
  const localMs = nowMs + (utcOffsetMinutes + departsInMinutes) * msPerMinute
  const minuteOfDay = Math.floor(localMs / msPerMinute) % minutesPerDay
  const lastStopMinute = minuteOfDay + (stopCount - 1) * minutesBetweenStops
  if (lastStopMinute < minutesPerDay) return { serviceDate: serviceDateOf(localMs), firstDepartureMinuteOfDay: minuteOfDay }
  // the later stops would cross midnight: run tomorrow's first train at 00:00 instead, still well inside the window
  return { serviceDate: serviceDateOf(localMs + minutesPerDay * msPerMinute), firstDepartureMinuteOfDay: 0 }
}

/** A date `days` after today in the server's UTC offset: a train whose check-in has not opened. */
export const serviceDateInDays = (nowMs: number, days: number, utcOffsetMinutes = defaultSettings.utcOffsetMinutes) =>
  serviceDateOf(nowMs + utcOffsetMinutes * msPerMinute + days * minutesPerDay * msPerMinute)

export interface TestRunSpec {
  readonly trainCode: string
  /** telegraph codes in travel order */
  readonly stations: ReadonlyArray<string>
  readonly seatCount: number
  readonly fareFenPerSegment?: number
  /** defaults to `departingSoon(now, …)`, now from the Clock (the real one, plus what the test moved it by: `advanceClock`) */
  readonly serviceDate?: ServiceDate
  readonly firstDepartureMinuteOfDay?: number
  /** the server's admin key: a served process's own (it never takes the in-process default) */
  readonly adminKey?: string
}

export interface TestRun {
  readonly runId: RunId
  readonly serviceDate: ServiceDate
  readonly stations: ReadonlyArray<StationCode>
  readonly firstDepartureMinuteOfDay: number
  readonly fareFenPerSegment: number
}

export const defaultFareFenPerSegment = 12_500

/** Creates a run with one second-class coach of `seatCount` seats, by default departing in half an hour. */
export const createRun = (baseUrl: string, spec: TestRunSpec) =>
  Effect.gen(function* () {
    const admin = yield* adminClient(baseUrl, spec.adminKey)
    const soon = departingSoon(yield* Clock.currentTimeMillis, spec.stations.length)
    const serviceDate = spec.serviceDate ?? soon.serviceDate
    const firstDepartureMinuteOfDay = spec.firstDepartureMinuteOfDay ?? soon.firstDepartureMinuteOfDay
    const fareFenPerSegment = spec.fareFenPerSegment ?? defaultFareFenPerSegment
    const stations = spec.stations.map((station) => station as StationCode)
    const created = yield* admin.catalog.createRun({
      payload: {
        trainCode: spec.trainCode as TrainCode,
        serviceDate,
        stops: stations.map((station, index) => ({
          station, name: `Station ${station}`, departureMinuteOfDay: firstDepartureMinuteOfDay + index * minutesBetweenStops
        })),
        coaches: [{ coach: 1, seatClass: "second", seatCount: spec.seatCount }],
        fareFenPerSegment: stations.slice(1).map(() => fareFenPerSegment as Fen)
      }
    })
    const run: TestRun = { runId: created.runId, serviceDate, stations, firstDepartureMinuteOfDay, fareFenPerSegment }
    return run
  })

// ---- raw HTTP -----------------------------------------------------------------------------------

export interface RawResponse {
  readonly status: number
  readonly contentType: string | null
  /** the parsed JSON body, or undefined when the body is empty or not JSON */
  readonly json: unknown
  readonly text: string
}

/** A request the typed client would refuse to send: the status line and body are what the test reads. */
export const rawRequest = async (
  baseUrl: string,
  method: string,
  path: string,
  options: { readonly headers?: Record<string, string>; readonly body?: string | object } = {}
): Promise<RawResponse> => {
  const body = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body)
  const headers = { ...(body === undefined ? {} : { "content-type": "application/json" }), ...options.headers }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
  const text = await response.text()
  let json: unknown = undefined
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: response.status, contentType: response.headers.get("content-type"), json, text }
}

export { bearer }

/** The `_tag` of a JSON error body, or undefined. */
export const tagOf = (json: unknown): unknown =>
  typeof json === "object" && json !== null && "_tag" in json ? json._tag : undefined

/** Polls `check` every `intervalMs` until it answers true; false when `timeoutMs` passed first. */
export const waitUntil = async (check: () => Promise<boolean>, timeoutMs: number, intervalMs = 20) => {
  // a monotonic clock for the deadline: the test waits on real time, outside any simulation
  const deadlineMs = performance.now() + timeoutMs
  while (performance.now() < deadlineMs) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  return check()
}
