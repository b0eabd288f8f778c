/**
 * The whole server as layers. The same `AppLayer` is served two ways: over a real socket
 * (`chunyun serve`, real mode) and as an in-process web handler (virtual mode), where the
 * simulation's Clock and seeded Random replace the real ones.
 */
import { HttpApiBuilder, HttpMiddleware, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Context, Effect, Layer, Random, Schedule, Scheduler } from "effect"
import { collectDefaultMetrics } from "prom-client"
import { Accounts } from "./payments/Accounts.js"
import { AccountsHttp } from "./payments/Accounts/Http.js"
import { LedgerRepo } from "./payments/Accounts/Repo.js"
import { ChunyunApi } from "./Api.js"
import { AdminAuthLive, CustomerAuthLive, GateAuthLive } from "./customers/Auth/Http.js"
import { Backup } from "./operations/Backup.js"
import { BackupHttp } from "./operations/Backup/Http.js"
import { backgroundJobs } from "./operations/Background.js"
import type { BackgroundServices, BackgroundSettings } from "./operations/Background.js"
import { withSlowness } from "./Store/SlowStore.js"
import { QueriesLive } from "./Store/Queries.js"
import { Catalog } from "./ticketing/Catalog.js"
import { CatalogHttp } from "./ticketing/Catalog/Http.js"
import { CatalogRepo } from "./ticketing/Catalog/Repo.js"
import { Checkin } from "./delivery/Checkin.js"
import { Checkout } from "./payments/Checkout.js"
import { CheckinHttp } from "./delivery/Checkin/Http.js"
import { ServerConfig } from "./Config.js"
import type { ServerSettings } from "./Config.js"
import { IssuanceConfig } from "./Settings/Issuance.js"
import { SweeperConfig } from "./Settings/Sweepers.js"
import { UpstreamConfig } from "./Settings/Upstream.js"
import { SimulatedGatewayConfig, simulatedExternalsConfigContext, simulatedExternalsSettingsOf } from "./Simulated/Settings.js"
import type { SimulatedBankConfig, SimulatedExternalsSettings } from "./Simulated/Settings.js"
import { Customers } from "./customers/Customers.js"
import { CustomersHttp, ProfileHttp } from "./customers/Customers/Http.js"
import { Invoices } from "./customers/Customers/Invoices.js"
import { CustomersRepo } from "./customers/Customers/Repo.js"
import { Delivery } from "./delivery/Delivery.js"
import { DeliveryAuthLive } from "./delivery/Delivery/AuthLive.js"
import { Devices } from "./delivery/Delivery/Devices.js"
import { DeliveryHttp } from "./delivery/Delivery/Http.js"
import { VouchersRepo } from "./delivery/Delivery/Repo.js"
import { FaultPoints } from "./FaultPoints.js"
import { GateSync } from "./delivery/GateSync.js"
import { GateSyncHttp } from "./delivery/GateSync/Http.js"
import { Ids } from "./Ids.js"
import { SeatInventoryLive } from "./ticketing/Inventory.js"
import { Issuance } from "./delivery/Issuance.js"
import { IssuanceHttp } from "./delivery/Issuance/Http.js"
import { Lifecycle } from "./ticketing/Lifecycle.js"
import { LifecycleHttp } from "./ticketing/Lifecycle/Http.js"
import { LifecycleRepo } from "./ticketing/Lifecycle/Repo.js"
import { TicketKeys } from "./delivery/Issuance/Keys.js"
import { Orders } from "./ticketing/Orders.js"
import { OrdersHttp } from "./ticketing/Orders/Http.js"
import { OrdersRepo } from "./ticketing/Orders/Repo.js"
import { RunFactsCache } from "./ticketing/Orders/Runs.js"
import { Passwords } from "./customers/Passwords.js"
import { PaymentPasswords } from "./customers/PaymentPasswords.js"
import { Statistics } from "./ticketing/Statistics.js"
import { StatisticsHttp } from "./ticketing/Statistics/Http.js"
import { SeatMaps } from "./ticketing/SeatMap.js"
import { Payments } from "./payments/Payments.js"
import { GatewayHttp, PaymentsAdminHttp, KioskAuthLive, KioskHttp } from "./payments/Payments/Http.js"
import { Kiosks } from "./payments/Payments/Kiosks.js"
import { RemoteBookings } from "./ticketing/RemoteBookings.js"
import { AgentAuthLive, AgentsAdminHttp, RemoteBookingsHttp } from "./ticketing/RemoteBookings/Http.js"
import { TwoPhaseLedger } from "./payments/Payments/Ledger.js"
import { SimulatedBank, SimulatedBankPort } from "./Simulated/Bank.js"
import { SimulatedGateway, SimulatedGatewayPort } from "./Simulated/Gateway.js"
import { SimulatedGatewayCallbacks } from "./Simulated/GatewayCallbacks.js"
import { SimulatedSmsGateway } from "./Simulated/SmsGateway.js"
import { SimulatedUpstream, SimulatedUpstreamPort } from "./Simulated/Upstream.js"
import { Sms } from "./delivery/Sms.js"
import { SmsHttp } from "./delivery/Sms/Http.js"
import { createGuardedServer, RequestGuardLive } from "./operations/RequestGuard.js"
import { observeRequests, requestLogLines } from "./operations/RequestLog.js"
import type { RequestObserver } from "./operations/RequestLog.js"
import { ClusterMetrics, Metrics, routeOutsideContract } from "./operations/Metrics.js"
import type { ClusterMetricsService } from "./operations/Metrics.js"
import { MetricsHttp } from "./operations/Metrics/Http.js"
import { withAfterCommit } from "./Store/AfterCommit.js"
import { runMigrations } from "./Store/migrations.js"
import { serveSecretRefusal } from "./ServeSecrets.js"
import type { ServeSecrets } from "./ServeSecrets.js"
import { Venues } from "./ticketing/Venues.js"
import { GroupOrders } from "./ticketing/GroupOrders.js"
import { GroupOrdersHttp } from "./ticketing/GroupOrders/Http.js"
import { Health } from "./operations/Health.js"
import { HealthHttp } from "./operations/Health/Http.js"
import { VenuesHttp } from "./ticketing/Venues/Http.js"
import { UpstreamSync } from "./delivery/Upstream.js"
import { UpstreamHttp } from "./delivery/Upstream/Http.js"

export type { SqliteStoreOptions as StoreOptions } from "./Store/Sqlite.js"

const ensureSystemAccounts = Layer.effectDiscard(Effect.flatMap(LedgerRepo, (ledger) => ledger.ensureSystemAccounts).pipe(Effect.orDie))

const Foundations = Layer.mergeAll(
  Ids.Default, FaultPoints.Default, Metrics.Default, CatalogRepo.Default, CustomersRepo.Default, LedgerRepo.Default, OrdersRepo.Default, Passwords.Default, TicketKeys.Default, PaymentPasswords.Default,
  LifecycleRepo.Default, RunFactsCache.Default,
  SeatInventoryLive.pipe(Layer.provide(OrdersRepo.Default)),
  // delivery
  Devices.Default, VouchersRepo.Default, Delivery.Default.pipe(Layer.provideMerge(SimulatedSmsGateway)),
  // operations
  SimulatedUpstreamPort.pipe(Layer.provideMerge(SimulatedUpstream.Default)),
)
const Features = Layer.mergeAll(
  Customers.DefaultWithoutDependencies, Catalog.DefaultWithoutDependencies, Orders.DefaultWithoutDependencies,
  Issuance.DefaultWithoutDependencies, Checkin.Default,
  // customers
  Invoices.Default, Statistics.Default,
  // catalog
  SeatMaps.Default, Venues.DefaultWithoutDependencies,
  // operations
  Backup.Default, GateSync.Default,
  Health.Default,
)
/**
 * The simulated parties outside the server that keep what they know in memory (the gateway its charges, the bank
 * its cards, authorisations and conditions). A server builds its own unless given instances to share: a virtual
 * run gives its web handler, every handler after a crash, and its sweepers one of each (`Layer.succeed`).
 */
export interface SimulatedParties {
  readonly gateway: Layer.Layer<SimulatedGateway, never, SimulatedGatewayConfig>
  readonly bank: Layer.Layer<SimulatedBank, never, SimulatedBankConfig>
}
export const ownSimulatedParties: SimulatedParties = { gateway: SimulatedGateway.Default, bank: SimulatedBank.Default }

/** The bank and the gateway: simulated ones, whose controls (cards, planned outcomes) tests and the simulator reach. */
const paymentPorts = (parties: SimulatedParties) => Layer.mergeAll(SimulatedBankPort, SimulatedGatewayPort).pipe(
  Layer.provideMerge(Layer.merge(parties.bank, parties.gateway))
)
/** Kiosks, and the remote bookings they are paid for at (which find a booker's customer as a kiosk does). */
const kioskServices = RemoteBookings.DefaultWithoutDependencies.pipe(Layer.provideMerge(Kiosks.DefaultWithoutDependencies))
const paymentServices = (parties: SimulatedParties) => SimulatedGatewayCallbacks.Default.pipe(
  Layer.provideMerge(Payments.DefaultWithoutDependencies),
  Layer.provideMerge(Layer.mergeAll(kioskServices, TwoPhaseLedger.Default, paymentPorts(parties)))
)
/** The services over a store, with the simulated parties' instances (`SimulatedParties`). */
export const servicesLayer = (parties: SimulatedParties = ownSimulatedParties) =>
  Sms.DefaultWithoutDependencies.pipe(
    Layer.provideMerge(Layer.mergeAll(Accounts.DefaultWithoutDependencies, Lifecycle.DefaultWithoutDependencies.pipe(Layer.provideMerge(paymentServices(parties))), UpstreamSync.Default, GroupOrders.Default)),
    Layer.provideMerge(Checkout.DefaultWithoutDependencies),
    Layer.provideMerge(Features),
    Layer.provideMerge(Layer.merge(Foundations, ensureSystemAccounts.pipe(Layer.provide(LedgerRepo.Default)))),
    // the store's prepared queries, over the SQLite connection the store provides (or the SqlClient of PostgreSQL)
    Layer.provideMerge(QueriesLive)
  )
export const ServicesLayer = servicesLayer()

const ApiLayer = HttpApiBuilder.api(ChunyunApi).pipe(
  Layer.provide([
    HealthHttp, MetricsHttp, CustomersHttp, CatalogHttp, OrdersHttp, AccountsHttp, IssuanceHttp, CheckinHttp,
    ProfileHttp, StatisticsHttp,
    VenuesHttp,
    LifecycleHttp,
    PaymentsAdminHttp, KioskHttp, GatewayHttp,
    SmsHttp, DeliveryHttp,
    BackupHttp, GateSyncHttp, UpstreamHttp,
    GroupOrdersHttp,
    RemoteBookingsHttp, AgentsAdminHttp,
  ]),
  Layer.provide([CustomerAuthLive, GateAuthLive, AdminAuthLive, KioskAuthLive, DeliveryAuthLive, AgentAuthLive])
)

/** where a served instance (and the in-process server) answers the contract's OpenAPI document */
export const openApiPath = "/openapi.json"

/**
 * The server's settings and its simulated externals' (each from its defaults with the given ones over them), as
 * one layer of every settings tag.
 */
export const settingsLayer = (server: Partial<ServerSettings>, simulated: Partial<SimulatedExternalsSettings>) =>
  Layer.succeedContext(Context.merge(ServerConfig.context(server), simulatedExternalsConfigContext(simulated)))

/** The API, its services and the background sweepers, over a given store, beside simulated externals with their settings. */
export const appLayer = (
  settings: Partial<ServerSettings>, store: Layer.Layer<SqlClient.SqlClient>, parties: SimulatedParties = ownSimulatedParties,
  simulated: Partial<SimulatedExternalsSettings> = {}
) =>
  // extra fields of a body are ignored (a newer client still works), and the document says so
  HttpApiBuilder.middlewareOpenApi({ path: openApiPath, additionalPropertiesStrategy: "allow" }).pipe(
    Layer.merge(RequestGuardLive),
    Layer.provideMerge(ApiLayer),
    Layer.provideMerge(servicesLayer(parties)),
    Layer.orDie,
    // holds, payments and tickets are counted once their transaction commits (Metrics.ts)
    Layer.provideMerge(withAfterCommit(withSlowness(store))),
    Layer.provideMerge(settingsLayer(settings, simulated))
  )

/**
 * Background work of a real server: every enabled job of `backgroundJobs` (Background.ts) at its interval, a
 * failed pass logged and the next one run as planned. Virtual mode runs the same list on its clock.
 */
export const sweepers = Effect.gen(function* () {
  const settings: BackgroundSettings = {
    ...(yield* SweeperConfig), issuance: (yield* IssuanceConfig).issuance, upstreamSync: (yield* UpstreamConfig).upstreamSync,
    simulatedGatewayCallbackIntervalMs: (yield* SimulatedGatewayConfig).simulatedGatewayCallbackIntervalMs
  }
  const context = yield* Effect.context<BackgroundServices>()
  for (const job of backgroundJobs) {
    if (!job.enabled(settings)) continue
    yield* job.pass.pipe(
      Effect.provide(context), Effect.catchAllCause(Effect.logError), Effect.repeat(Schedule.spaced(job.intervalMs(settings))), Effect.forkScoped)
  }
})

export interface ServeOptions {
  readonly port: number
  readonly host: string
  /** `sqliteStore(…)` or `postgresStore(…)` (Store/Postgres.ts) */
  readonly store: Layer.Layer<SqlClient.SqlClient>
  /** everything but the secrets, which come from `secrets` */
  readonly settings: Omit<Partial<ServerSettings>, keyof ServeSecrets>
  /** the admin key and the gateway's webhook secret: drawn or given at start, never the constants of in-process tests */
  readonly secrets: ServeSecrets
  /**
   * Called once the server answers requests, instead of logging "Listening on …" (a cluster worker tells its
   * primary). The socket listens before the API's handler is attached: a request in between is answered 503
   * `ServerStarting` (RequestGuard.ts), so readiness is announced after both, never on the socket's "listening" event.
   */
  readonly onServing?: (address: HttpServer.Address) => void
  /**
   * Spans for every request and service call (`Effect.withSpan`). Off unless asked for: with no exporter to
   * send them to they are pure cost, a third of a request to GET /ticket-keys (bench/main.ts).
   */
  readonly tracing?: boolean
  /**
   * Where each request's log line goes (`RequestLog.ts`: method, route, status, duration), one write per request.
   * None: no request log, as when the harness serves a run (`serve --quiet`). The counters of `GET /metrics` count
   * every request either way.
   */
  readonly requestLog?: (line: string) => void
  /**
   * A cluster worker's way to the whole cluster's counters (`serve --workers`, cli/serveWorkers.ts): `GET /metrics`
   * answers their sum. None: this process's own.
   */
  readonly clusterMetrics?: ClusterMetricsService
  /**
   * Work done through the server's own API once it answers, before it is announced ("Listening on …" or
   * `onServing`): `serve --seed-catalog` creates a scenario's catalog here, so whoever waits for the
   * announcement finds it in place. Its failure stops the server.
   */
  readonly whenServing?: (address: HttpServer.Address) => Effect.Effect<void, unknown>
}

/** The settings of a served instance: its own secrets, checked (a public constant is refused, and the server does not start). */
const servedSettings = (options: ServeOptions): Partial<ServerSettings> => {
  const refusal = serveSecretRefusal("the admin key", options.secrets.adminKey) ??
    serveSecretRefusal("the gateway webhook secret", options.secrets.gatewayWebhookSecret)
  if (refusal !== undefined) throw new Error(refusal)
  return { ...options.settings, adminKey: options.secrets.adminKey, gatewayWebhookSecret: options.secrets.gatewayWebhookSecret }
}

/** where a served instance shows its interactive API page */
export const apiDocsPath = "/docs"

/**
 * The interactive API page of a served instance (Scalar, through @effect/platform's HttpApiScalar): the contract's
 * OpenAPI document and Scalar's script inlined in one HTML page, so it works offline. Scalar's default fonts would
 * come from its CDN: turned off, the page uses the browser's. Loaded only here: the page's script is 3.4 MB of
 * JavaScript that a virtual run or an in-process test never needs.
 */
const apiDocsLayer = Layer.unwrapEffect(Effect.map(
  Effect.promise(() => import("@effect/platform/HttpApiScalar")),
  (scalar) => scalar.layer({ path: apiDocsPath, scalar: { withDefaultFonts: false } })
))

/** the paths a served instance answers outside the contract: its request log and counters name them as routes */
const servedPaths = [{ method: "GET", path: openApiPath }, { method: "GET", path: apiDocsPath }]

/**
 * The server's requests observed as it answers them: counted for `GET /metrics` (by method, route and status, and
 * their latency by route), and logged a line each when there is a log.
 */
const observedServing = (requestLog: ((line: string) => void) | undefined) =>
  Layer.unwrapEffect(Effect.map(Metrics, (metrics) => {
    const counted: RequestObserver = (method, route, _url, status, durationMs) =>
      metrics.observeRequest(method, route ?? routeOutsideContract, status, durationMs)
    return HttpApiBuilder.serve(observeRequests(requestLog === undefined ? [counted] : [requestLogLines(requestLog), counted], servedPaths))
  }))

/** The process's own figures beside the server's (CPU, memory, event-loop delay, handles: prom-client's defaults). */
const processMetrics = Layer.effectDiscard(Effect.map(Metrics, (metrics) => collectDefaultMetrics({ register: metrics.registry })))

/** `chunyun serve`: the HTTP server on a socket, with the sweepers running. */
export const serveLayer = (options: ServeOptions) => {
  const settings = servedSettings(options)
  const served = Layer.merge(observedServing(options.requestLog), processMetrics)
  const clusterMetrics = options.clusterMetrics === undefined ? Layer.empty : Layer.succeed(ClusterMetrics, options.clusterMetrics)
  return (options.tracing === true ? served : HttpMiddleware.withTracerDisabledWhen(served, () => true)).pipe(
    Layer.provide(options.tracing === true ? Layer.empty : Layer.setTracerEnabled(false)),
    Layer.provide(Layer.scopedDiscard(sweepers)),
    Layer.provide(apiDocsLayer),
    Layer.provide(appLayer(settings, options.store, ownSimulatedParties, simulatedExternalsSettingsOf(settings)).pipe(Layer.provide(clusterMetrics))),
    (layer) => Layer.effectDiscard(Effect.flatMap(HttpServer.HttpServer, (server) => Effect.zipRight(
      options.whenServing === undefined ? Effect.void : options.whenServing(server.address),
      options.onServing === undefined ? HttpServer.logAddress : Effect.sync(() => options.onServing!(server.address))
    ))).pipe(Layer.provideMerge(layer)),
    Layer.provide(NodeHttpServer.layer(createGuardedServer, { port: options.port, host: options.host, backlog: 4096 }))
  )
}

/**
 * The server as an in-process web handler, with the given Clock and Random in every request's fiber
 * and during construction (the signing key is drawn from `random` on first start).
 */
export const inProcessHandler = (options: {
  settings: Partial<ServerSettings>
  store: Layer.Layer<SqlClient.SqlClient>
  clock: Clock.Clock
  random: Random.Random
  /** the simulation's scheduler, so request fibers are part of its turn accounting */
  scheduler?: Scheduler.Scheduler
  /** false turns span creation off (a virtual run reads no spans) */
  tracing?: boolean
  /** the simulated gateway's and bank's instances, when the caller's sweepers (or a handler after a crash) must share them */
  parties?: SimulatedParties
  /** the simulated externals' settings (the SMS gateway's; the gateway's and bank's when `parties` are not given) */
  simulated?: Partial<SimulatedExternalsSettings>
  /** where the server's log lines go instead of the console (`Logger.replace`) */
  logger?: Layer.Layer<never>
}) => {
  const overrides = Layer.mergeAll(
    Layer.setClock(options.clock), Layer.setRandom(options.random),
    options.scheduler ? Layer.setScheduler(options.scheduler) : Layer.empty,
    // as `serveLayer` without tracing: no span, and none of the request's URL and headers read for one
    options.tracing === false
      ? Layer.merge(Layer.setTracerEnabled(false), Layer.locallyScoped(HttpMiddleware.currentTracerDisabledWhen, () => true))
      : Layer.empty,
    options.logger ?? Layer.empty
  )
  // no wall-clock request timeout: in virtual time the simulated clock decides how long a request takes
  const layer = appLayer({ ...options.settings, requestTimeoutMs: 0 }, options.store, options.parties, options.simulated).pipe(
    Layer.provideMerge(HttpServer.layerContext),
    Layer.provide(overrides),
    Layer.merge(overrides)
  )
  return HttpApiBuilder.toWebHandler(layer)
}
