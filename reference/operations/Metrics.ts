/**
 * The served instance's counters for an operator's Prometheus (`GET /metrics`, prom-client): requests by route and
 * status, request latency by route, holds made, payments captured, tickets issued, the outbox's lag, and the store's
 * connections (SQLite: its one connection and its group commits).
 *
 * Each server has a registry of its own (a virtual run, a test and a crash's restart build several in one process).
 * Labels come from the contract's route templates (`/orders/:orderId`), never from a URL, so the number of series is
 * bounded by the contract. Holds, payments and tickets are counted once their transaction has committed
 * (Store/AfterCommit.ts). The outbox and the store are read only when scraped. Nothing here reads the Clock on a
 * request's path or schedules anything: a virtual run's history is the same with the counters as without.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Context, Effect, Option, Runtime } from "effect"
import { Counter, Gauge, Histogram, Registry } from "prom-client"
import { MetricsUnavailable } from "./Metrics/Api.js"
import { afterCommit } from "../Store/AfterCommit.js"
import { StoreConnections } from "../Store/Connections.js"
import { SqliteDatabase } from "../Store/Sqlite.js"

/** upper bounds of the request latency histogram's buckets, in seconds (Prometheus' unit), up to the request timeout */
export const requestDurationBucketsSeconds: ReadonlyArray<number> = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** how long the store has to answer the outbox's lag when scraped, before the lag reads NaN */
export const metricsStoreTimeoutMs = 2_000
/** the route label of a request outside the contract (a typo, a scanner's probe): one series for all of them */
export const routeOutsideContract = "unmatched"

/**
 * With `chunyun serve --workers N`, the counters of every process, summed (cli/serveWorkers.ts): each worker joins its
 * registry to the cluster's when its server is built, and a scrape answered by any worker reports the whole server.
 */
export interface ClusterMetricsService {
  /** joins `registry` to the cluster's; the returned function gathers the whole cluster's text */
  readonly join: (registry: Registry) => () => Promise<string>
}
export class ClusterMetrics extends Context.Tag("chunyun/ClusterMetrics")<ClusterMetrics, ClusterMetricsService>() {}

interface OutboxLag {
  /** outbox rows not yet processed */
  readonly pendingRows: number
  /** how long the oldest of them has waited, in seconds; 0 when none waits */
  readonly oldestAgeSeconds: number
}
const unknownLag: OutboxLag = { pendingRows: Number.NaN, oldestAgeSeconds: Number.NaN }

/** The labels of one route's series, made once and reused: a request allocates none once its series exists. */
interface RouteSeries {
  readonly durationLabels: { readonly method: string; readonly route: string }
  readonly countLabelsByStatus: Map<number, { readonly method: string; readonly route: string; readonly status: string }>
}

export class Metrics extends Effect.Service<Metrics>()("Metrics", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const runtime = yield* Effect.runtime<never>()
    const registry = new Registry()
    const registers = [registry]

    const requests = new Counter({
      name: "chunyun_http_requests_total", help: "Requests answered, by method, the contract's route and HTTP status",
      labelNames: ["method", "route", "status"] as const, registers
    })
    const durations = new Histogram({
      name: "chunyun_http_request_duration_seconds", help: "Time to answer a request, by method and the contract's route (the server's clock)",
      labelNames: ["method", "route"] as const, buckets: [...requestDurationBucketsSeconds], registers
    })
    const holds = new Counter({ name: "chunyun_holds_total", help: "Seats held for an order (the order put in held), once committed", registers })
    const payments = new Counter({ name: "chunyun_payments_captured_total", help: "Orders paid (wallet, card, gateway, group order), once committed", registers })
    const tickets = new Counter({ name: "chunyun_tickets_issued_total", help: "Tickets issued, once committed", registers })

    const seriesByRoute = new Map<string, Map<string, RouteSeries>>()
    const seriesOf = (method: string, route: string) => {
      let byMethod = seriesByRoute.get(route)
      if (byMethod === undefined) seriesByRoute.set(route, byMethod = new Map())
      let series = byMethod.get(method)
      if (series === undefined) byMethod.set(method, series = { durationLabels: { method, route }, countLabelsByStatus: new Map() })
      return series
    }
    /**
     * One answered request. `route` is the contract's template or `routeOutsideContract`; methods and statuses are
     * the few Node's HTTP parser accepts, so the label sets stay bounded.
     */
    const observeRequest = (method: string, route: string, status: number, durationMs: number) => {
      const series = seriesOf(method, route)
      let countLabels = series.countLabelsByStatus.get(status)
      if (countLabels === undefined) series.countLabelsByStatus.set(status, countLabels = { method, route, status: String(status) })
      requests.inc(countLabels)
      durations.observe(series.durationLabels, durationMs / 1_000)
    }

    // the outbox's lag, read once per scrape for both of its gauges (their collectors run side by side)
    const readOutboxLag = Effect.gen(function* () {
      const [row] = yield* sql<{ pending_rows: number; oldest_created_at_ms: number | null }>`SELECT COUNT(*) AS pending_rows,
          MIN(created_at_ms) AS oldest_created_at_ms FROM outbox WHERE processed_at_ms IS NULL`
      const nowMs = yield* Clock.currentTimeMillis
      const oldestMs = row?.oldest_created_at_ms
      const lag: OutboxLag = {
        pendingRows: Number(row?.pending_rows ?? 0),
        oldestAgeSeconds: oldestMs === null || oldestMs === undefined ? 0 : Math.max(0, nowMs - Number(oldestMs)) / 1_000
      }
      return lag
    }).pipe(
      Effect.timeoutFail({ duration: metricsStoreTimeoutMs, onTimeout: () => new Error(`the store did not answer within ${metricsStoreTimeoutMs} ms`) }),
      Effect.catchAllCause((cause) => Effect.as(Effect.logWarning("metrics: the outbox's lag could not be read", cause), unknownLag))
    )
    let lagOfScrape: Promise<OutboxLag> | undefined
    const outboxLag = () => lagOfScrape ??= Runtime.runPromise(runtime)(readOutboxLag).finally(() => { lagOfScrape = undefined })
    // the gauges below are read through the registry they join, which is all that holds them
    new Gauge({
      name: "chunyun_outbox_pending_rows", help: "Outbox rows (tickets owed for paid orders) not yet processed; NaN when the store did not answer",
      registers, aggregator: "max", async collect() { this.set((await outboxLag()).pendingRows) }
    })
    new Gauge({
      name: "chunyun_outbox_oldest_pending_age_seconds", help: "How long the oldest unprocessed outbox row has waited (the server's clock); 0 when none",
      registers, aggregator: "max", async collect() { this.set((await outboxLag()).oldestAgeSeconds) }
    })

    const connections = yield* Effect.serviceOption(StoreConnections)
    if (Option.isSome(connections)) {
      const store = connections.value
      const labels = { store: store.store }
      new Gauge({ name: "chunyun_store_connections_open", help: "The store's connections open", labelNames: ["store"] as const, registers, collect() { this.set(labels, store.open()) } })
      new Gauge({ name: "chunyun_store_connections_idle", help: "The store's open connections no one uses", labelNames: ["store"] as const, registers, collect() { this.set(labels, store.idle()) } })
      new Gauge({ name: "chunyun_store_connection_waiters", help: "Transactions and statements waiting for a store connection", labelNames: ["store"] as const, registers, collect() { this.set(labels, store.waiting()) } })
    }
    const sqlite = yield* Effect.serviceOption(SqliteDatabase)
    if (Option.isSome(sqlite)) {
      const commits = sqlite.value.commits
      new Counter({
        name: "chunyun_sqlite_commits_total", help: "COMMITs of SQLite's transaction (each carries a group of transactions)",
        registers, collect() { this.reset(); this.inc(commits.count) }
      })
      new Counter({
        name: "chunyun_sqlite_transactions_committed_total", help: "Transactions those COMMITs carried (group commit)",
        registers, collect() { this.reset(); this.inc(commits.transactions) }
      })
    }

    const cluster = yield* Effect.serviceOption(ClusterMetrics)
    const scrape = Option.match(cluster, { onNone: () => () => registry.metrics(), onSome: (joined) => joined.join(registry) })
    /** the text `GET /metrics` answers: this process's counters, or with `--workers` the sum of every process's */
    const exposition = Effect.tryPromise({
      try: scrape,
      catch: (cause) => new MetricsUnavailable({ message: `the counters could not be gathered: ${cause instanceof Error ? cause.message : String(cause)}` })
    })

    return {
      registry, observeRequest, exposition,
      /** a seat held; counted when its transaction commits */
      holdMade: afterCommit(() => holds.inc()),
      /** an order paid; counted when its transaction commits */
      paymentCaptured: afterCommit(() => payments.inc()),
      /** a ticket issued; counted when its transaction commits */
      ticketIssued: afterCommit(() => tickets.inc()),
      /** a group order's `count` orders paid and their tickets issued in one transaction; counted when it commits */
      groupOrderSold: (count: number) => afterCommit(() => { payments.inc(count); tickets.inc(count) })
    } as const
  })
}) {}
