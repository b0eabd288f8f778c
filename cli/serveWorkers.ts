/**
 * `chunyun serve --workers N`: N server processes sharing one port (node:cluster hands each accepted
 * connection to a worker) over one PostgreSQL database. The workers are stateless: every order, seat and
 * ledger row is in the store, where PostgreSQL's transactions keep two workers from selling one seat.
 *
 * The primary serves nothing itself. It prints one "listening on" line once every worker serves (so a
 * harness that waits for the line finds all of them ready), relays the real-mode clock jumps to every worker
 * and acknowledges once all have taken them, stops the workers on SIGTERM/SIGINT, and stops the whole group
 * when a worker dies unexpectedly: a load test must not go on against fewer servers than it says.
 *
 * `GET /metrics` answers for the whole server whichever worker the connection reached: that worker asks the
 * primary, which gathers every worker's counters over the cluster's channel (prom-client's AggregatorRegistry) and
 * sends back their sum. The primary cannot answer the scrape itself: it does not listen, the workers share the port.
 * A Prometheus server then sees one target whose counters only grow, as it expects of one server; counters kept per
 * worker, each scrape reaching a different one, would go up and down from scrape to scrape.
 */
import cluster from "node:cluster"
import type { Worker } from "node:cluster"
import { AggregatorRegistry } from "prom-client"
import type { Registry } from "prom-client"
import type { ClusterMetricsService } from "../reference/operations/Metrics.js"
import type { ClockJump } from "./scaledClock.js"

/** most workers one `serve` starts */
export const maxServeWorkers = 64
/** how long workers have to exit after SIGTERM before they are killed */
export const workerStopTimeoutMs = 10_000
/**
 * how long a worker waits for the primary's sum of every worker's counters; above prom-client's own 5 s for the
 * workers' answers, so its timeout is the one a scrape reports
 */
export const clusterScrapeTimeoutMs = 10_000

export const isClusterWorker = () => cluster.isWorker

interface WorkerServing { readonly type: "chunyun-worker-serving"; readonly port: number }

/**
 * A worker tells its primary it answers requests. Not cluster's "listening" event: the socket listens before
 * the API's handler is attached, and a connection accepted in between hangs unanswered.
 */
export const announceWorkerServing = (address: { readonly _tag: string; readonly port?: number }) => {
  const serving: WorkerServing = { type: "chunyun-worker-serving", port: address.port ?? 0 }
  process.send?.(serving)
}

/**
 * Fork `count` workers running this same command line, with `environment` added to theirs (the secrets every
 * worker must share); resolves never (the process exits with the group).
 */
export const runWorkerPrimary = (count: number, host: string, environment: Readonly<Record<string, string>> = {}) => {
  const workers: Array<Worker> = []
  let serving = 0
  let stopping = false
  const stop = (exitCode: number) => {
    if (stopping) return
    stopping = true
    const killer = setTimeout(() => { for (const worker of workers) worker.process.kill("SIGKILL") }, workerStopTimeoutMs)
    killer.unref()
    let alive = workers.filter((worker) => !worker.isDead()).length
    if (alive === 0) process.exit(exitCode)
    cluster.on("exit", () => { if (--alive === 0) process.exit(exitCode) })
    for (const worker of workers) if (!worker.isDead()) worker.process.kill("SIGTERM")
  }
  for (let index = 0; index < count; index++) {
    const worker = cluster.fork({ ...environment, CHUNYUN_WORKER_INDEX: String(index) })
    workers.push(worker)
    worker.on("message", (message: Partial<WorkerServing>) => {
      if (message?.type !== "chunyun-worker-serving") return
      if (++serving === count) console.log(`chunyun: ${count} workers listening on http://${host}:${message.port}`)
    })
    worker.once("exit", (code, signal) => {
      if (stopping) return
      console.error(`chunyun: worker ${index} (pid ${worker.process.pid}) exited (${signal ?? `code ${code}`}); stopping the other workers`)
      stop(1)
    })
  }
  relayClockJumps(workers)
  answerMetricsScrapes(workers)
  process.on("SIGTERM", () => stop(0))
  process.on("SIGINT", () => stop(0))
}

/** A jump of the scaled clock goes to every worker; the harness hears back once all of them have it. */
const relayClockJumps = (workers: ReadonlyArray<Worker>) => {
  const acknowledged = new Map<Worker, number>()
  for (const worker of workers) {
    worker.on("message", (message: { type?: string; offsetMs?: number }) => {
      if (message?.type !== "clock-offset-ack") return
      acknowledged.set(worker, Math.max(acknowledged.get(worker) ?? -1, message.offsetMs ?? -1))
      const slowest = Math.min(...workers.map((each) => acknowledged.get(each) ?? -1))
      if (slowest >= 0) process.send?.({ type: "clock-offset-ack", offsetMs: slowest })
    })
  }
  process.on("message", (message: ClockJump) => {
    if (message?.type !== "clock-offset") return
    for (const worker of workers) worker.send(message)
  })
}

interface MetricsScrape { readonly type: "chunyun-metrics-scrape"; readonly scrapeId: number }
type MetricsScraped =
  | { readonly type: "chunyun-metrics-scraped"; readonly scrapeId: number; readonly text: string }
  | { readonly type: "chunyun-metrics-scraped"; readonly scrapeId: number; readonly error: string }

/** The primary's side: a worker's scrape is answered with the sum of every worker's counters. */
const answerMetricsScrapes = (workers: ReadonlyArray<Worker>) => {
  const aggregator = new AggregatorRegistry()
  for (const worker of workers) {
    worker.on("message", (message: Partial<MetricsScrape>) => {
      if (message?.type !== "chunyun-metrics-scrape" || typeof message.scrapeId !== "number") return
      const scrapeId = message.scrapeId
      const answer = (scraped: MetricsScraped) => { if (worker.isConnected()) worker.send(scraped) }
      aggregator.clusterMetrics().then(
        (text) => answer({ type: "chunyun-metrics-scraped", scrapeId, text }),
        (error: unknown) => answer({ type: "chunyun-metrics-scraped", scrapeId, error: error instanceof Error ? error.message : String(error) }))
    })
  }
}

/** A worker's scrapes waiting for the primary's answer, by their ID. */
const pendingScrapes = new Map<number, { readonly resolve: (text: string) => void; readonly reject: (error: Error) => void }>()
let scrapesSent = 0
let listeningForScrapes = false

const scrapeThroughPrimary = () => new Promise<string>((resolve, reject) => {
  if (process.send === undefined || !process.connected) return reject(new Error("this worker has lost its primary"))
  if (!listeningForScrapes) {
    listeningForScrapes = true
    process.on("message", (message: Partial<MetricsScraped>) => {
      if (message?.type !== "chunyun-metrics-scraped" || typeof message.scrapeId !== "number") return
      const pending = pendingScrapes.get(message.scrapeId)
      if (pending === undefined) return
      pendingScrapes.delete(message.scrapeId)
      if ("text" in message && typeof message.text === "string") pending.resolve(message.text)
      else pending.reject(new Error(`the other workers did not all answer: ${"error" in message ? String(message.error) : "no answer"}`))
    })
  }
  const scrapeId = ++scrapesSent
  const timer = setTimeout(() => {
    pendingScrapes.delete(scrapeId)
    reject(new Error(`the primary did not answer within ${clusterScrapeTimeoutMs} ms`))
  }, clusterScrapeTimeoutMs)
  timer.unref()
  pendingScrapes.set(scrapeId, {
    resolve: (text) => { clearTimeout(timer); resolve(text) },
    reject: (error) => { clearTimeout(timer); reject(error) }
  })
  const scrape: MetricsScrape = { type: "chunyun-metrics-scrape", scrapeId }
  process.send(scrape)
})

/**
 * A worker's side: its registry is the one prom-client's listener answers the primary with (`setRegistries`; the
 * listener is installed by constructing an AggregatorRegistry), and its scrapes go through the primary.
 */
export const clusterWorkerMetrics: ClusterMetricsService = {
  join: (registry: Registry) => {
    new AggregatorRegistry()
    AggregatorRegistry.setRegistries([registry])
    return scrapeThroughPrimary
  }
}
