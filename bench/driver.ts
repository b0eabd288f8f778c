/**
 * The load driver of the benchmarks: a lean HTTP client (undici's Pool, one connection per VU) under the
 * executors of simulator/Executors.ts. Open model: iteration n is started at its intended time whatever
 * the server does; beyond `maxVus` in flight it is dropped and counted. Latency is measured from the
 * intended start (coordinated omission corrected, as wrk2), into HDR histograms: memory stays bounded
 * (no per-request record), and the run stops by itself when the executor's time is up and the last
 * iteration has answered (or `maxDrainMs` later).
 *
 * It reads the wall clock (performance.now): it measures real time, which is why it lives in bench/ and
 * not in simulator/, whose logic takes time from Effect's Clock.
 */
import * as hdr from "hdr-histogram-js"
import { Client, Pool } from "undici"
import type { Dispatcher } from "undici"
import { intendedStartsMs, maxVusOf } from "../simulator/Executors.js"
import type { ArrivalRateExecutor, Executor } from "../simulator/Executors.js"

/** how long the driver waits for iterations in flight once the executor is done */
export const maxDrainMs = 30_000
const highestTrackableLatencyMs = 120_000

/** Named HDR histograms in microseconds (3 significant digits), summarised in ms. */
export class Recorder {
  readonly histograms = new Map<string, hdr.Histogram>()
  record(name: string, latencyMs: number) {
    let histogram = this.histograms.get(name)
    if (!histogram) {
      histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: highestTrackableLatencyMs * 1_000, numberOfSignificantValueDigits: 3 })
      this.histograms.set(name, histogram)
    }
    histogram.recordValue(Math.min(highestTrackableLatencyMs * 1_000, Math.max(1, Math.round(latencyMs * 1_000))))
  }
  /** count and percentiles in ms */
  summary(name: string) {
    const histogram = this.histograms.get(name)
    if (!histogram) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 }
    const ms = (microseconds: number) => Math.round(microseconds / 10) / 100
    return {
      count: histogram.totalCount, p50: ms(histogram.getValueAtPercentile(50)), p90: ms(histogram.getValueAtPercentile(90)),
      p99: ms(histogram.getValueAtPercentile(99)), p999: ms(histogram.getValueAtPercentile(99.9)), max: ms(histogram.maxValue)
    }
  }
  /** for a parent process: each histogram compressed */
  encode(): Record<string, string> {
    return Object.fromEntries([...this.histograms].map(([name, histogram]) => [name, hdr.encodeIntoCompressedBase64(histogram)]))
  }
  merge(encoded: Record<string, string>) {
    for (const [name, base64] of Object.entries(encoded)) {
      const incoming = hdr.decodeFromCompressedBase64(base64)
      const existing = this.histograms.get(name)
      if (existing) existing.add(incoming)
      else this.histograms.set(name, incoming)
    }
  }
  destroy() { for (const histogram of this.histograms.values()) histogram.destroy() }
}

/**
 * One iteration, given the performance.now() ms it was meant to start at, its number, and (closed model)
 * the VU running it; resolves when it is over.
 */
export type Iteration = (intendedMs: number, index: number, vu: number) => Promise<void>

export interface DriverOutcome {
  readonly iterations: number
  readonly dropped: number
  readonly failed: number
  /** why iterations failed: each distinct message (the first `maxFailureMessages`) with how many times it came */
  readonly failures: ReadonlyMap<string, number>
  readonly elapsedMs: number
}

/** how many distinct failure messages an outcome keeps (the rest are counted in `failed` only) */
export const maxFailureMessages = 5
/** how much of a failure's message is kept */
export const maxFailureMessageChars = 200

/** Counts a failed iteration under its message. */
const failureCounter = () => {
  const failures = new Map<string, number>()
  const record = (error: unknown) => {
    const message = (error instanceof Error ? error.message : String(error)).slice(0, maxFailureMessageChars)
    const seen = failures.get(message)
    if (seen !== undefined) failures.set(message, seen + 1)
    else if (failures.size < maxFailureMessages) failures.set(message, 1)
  }
  return { failures, record }
}

export const drive = (executor: Executor, iteration: Iteration): Promise<DriverOutcome> =>
  executor.executor === "constant-arrival-rate" || executor.executor === "ramping-arrival-rate"
    ? openModel(executor, iteration)
    : closedModel(executor, iteration)

const openModel = (executor: ArrivalRateExecutor, iteration: Iteration) => new Promise<DriverOutcome>((resolve) => {
  const maxVus = maxVusOf(executor)
  const startMs = performance.now()
  const schedule = intendedStartsMs(executor)
  let next = schedule.next()
  let inFlight = 0, iterations = 0, dropped = 0, failed = 0, scheduled = true
  const { failures, record } = failureCounter()
  const finish = () => resolve({ iterations, dropped, failed, failures, elapsedMs: performance.now() - startMs })
  const drainTimer = () => setTimeout(finish, maxDrainMs).unref()
  const settle = () => { inFlight--; if (!scheduled && inFlight === 0) finish() }
  const tick = () => {
    const nowMs = performance.now() - startMs
    // every iteration whose time has come starts now, late ones included: their latency counts the lateness
    while (!next.done && next.value <= nowMs) {
      if (inFlight >= maxVus) dropped++
      else {
        inFlight++
        const index = iterations++
        iteration(startMs + next.value, index, -1).catch((error: unknown) => { failed++; record(error) }).finally(settle)
      }
      next = schedule.next()
    }
    if (next.done) {
      scheduled = false
      if (inFlight === 0) finish()
      else drainTimer()
      return
    }
    setTimeout(tick, Math.max(0, next.value - nowMs - 1))
  }
  tick()
})

const closedModel = async (executor: Exclude<Executor, ArrivalRateExecutor>, iteration: Iteration): Promise<DriverOutcome> => {
  if (executor.executor !== "constant-vus") throw new Error("the bench driver runs constant-vus for the closed model")
  const startMs = performance.now()
  let iterations = 0, failed = 0
  const { failures, record } = failureCounter()
  const vu = async (_: unknown, vuIndex: number) => {
    while (performance.now() - startMs < executor.durationMs) {
      const index = iterations++
      try {
        await iteration(performance.now(), index, vuIndex)
      } catch (error) {
        failed++
        record(error)
      }
    }
  }
  await Promise.all(Array.from({ length: executor.vus }, vu))
  return { iterations, dropped: 0, failed, failures, elapsedMs: performance.now() - startMs }
}

/** A keep-alive pool to `baseUrl`, `connections` sockets. */
export const poolFor = (baseUrl: string, connections: number) =>
  new Pool(baseUrl, { connections, pipelining: 1, keepAliveTimeout: 60_000 })

export interface Answer { readonly status: number; readonly body: string }

/** Collects one answer; a class, so a request costs one object rather than five closures. */
class AnswerHandler {
  status = 0
  readonly chunks: Array<Buffer> = []
  constructor(private readonly keepBody: boolean, private readonly resolve: (answer: Answer) => void, readonly onError: (error: Error) => void) {}
  onConnect() {}
  onHeaders(statusCode: number) { this.status = statusCode; return true }
  onData(chunk: Buffer) { if (this.keepBody) this.chunks.push(chunk); return true }
  onComplete() { this.resolve({ status: this.status, body: this.keepBody ? Buffer.concat(this.chunks).toString("utf8") : "" }) }
}

/**
 * One request through the dispatcher with a minimal handler: no response stream, no body mixin, the body
 * kept only when `keepBody`. (`Pool.request` builds a Readable per answer: about a fifth of the driver's
 * requests/s on a trivial endpoint.)
 */
export const dispatch = (
  dispatcher: Dispatcher, options: { method: "GET" | "POST"; path: string; headers?: Record<string, string>; body?: string }, keepBody = true
) =>
  new Promise<Answer>((resolve, reject) => {
    dispatcher.dispatch({ method: options.method, path: options.path, headers: options.headers ?? null, body: options.body ?? null },
      new AnswerHandler(keepBody, resolve, reject) as unknown as Dispatcher.DispatchHandler)
  })

/** One keep-alive connection per VU, as autocannon holds them: no pool to choose a connection per request. */
export const clientsFor = (baseUrl: string, count: number) =>
  Array.from({ length: count }, () => new Client(baseUrl, { pipelining: 1, keepAliveTimeout: 60_000 }))

/** One request with a JSON body (or none); the answer's body as text (JSON bodies are small). */
export const send = (pool: Dispatcher, method: "GET" | "POST", path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> =>
  dispatch(pool, body === undefined
    ? { method, path, headers }
    : { method, path, headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) })
