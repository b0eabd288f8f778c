/**
 * `chunyun run --out-json FILE`: one JSON line per finished request, written while the run goes, as k6's
 * `--out json` writes its points. A metric's first point is preceded by one line declaring it, as in k6:
 *
 *   {"type":"Metric","metric":"http_req_duration","data":{"name":"http_req_duration","type":"trend","contains":"time","thresholds":[],"submetrics":null}}
 *   {"type":"Point","metric":"http_req_duration","data":{"time":"2027-01-28T00:00:00.120Z","value":41,"tags":{"endpoint":"hold","actor_kind":"phone","journey":"app","outcome":"ok","expected_response":"true"}}}
 *
 * `http_req_duration` is an answered request: `value` its latency in ms (real mode: from its intended send time, as
 * the report measures it). `http_req_lost` is a request whose answer the client-timeouts fault lost: `value` 1, it
 * has no latency. `time` is when the request was sent, on the scenario's clock (virtual mode: the virtual clock).
 * Tags: `endpoint` (the device's name for the call, as the report's endpoint table), `actor_kind` (`phone`, `kiosk`,
 * `fan`, … the actor's name up to its number), `journey` (the journey kind the call was made for, `app`, `kiosk` …, or
 * `background`, as the report's endpoints split by journey), `outcome` (`ok` or the error's tag), `status` (the HTTP
 * status the contract gives that error, when an answer came), `expected_response` (`true` for `ok`).
 *
 * The points are read from the history as each event is recorded (History.ts), the one place every request of both
 * modes passes; nothing is kept but a bounded buffer. Lines are written when it fills and at least once every
 * `outJsonFlushIntervalMs` of wall time, by a timer that schedules nothing on the virtual clock.
 */
import { closeSync, openSync, writeSync } from "node:fs"
import { backgroundJourney } from "../reports/Report.js"
import type { JourneyKind } from "../scenarios/Scenario.js"
import { httpStatusOf } from "./ErrorStatuses.js"
import type { HistoryListener } from "./History.js"
import type { HistoryEvent } from "../devices/HistoryEvents.js"
import { isRequest, lostAnswerOutcome } from "../reports/metrics.js"

/** the most text kept before it is written */
export const maxBufferedOutJsonChars = 65_536
/** the longest a finished request's line waits in the buffer, in wall time */
export const outJsonFlushIntervalMs = 1_000

export const answeredMetric = "http_req_duration"
export const lostMetric = "http_req_lost"

const metricDeclarations: Readonly<Record<string, string>> = {
  [answeredMetric]: JSON.stringify({
    type: "Metric", metric: answeredMetric, data: { name: answeredMetric, type: "trend", contains: "time", thresholds: [], submetrics: null }
  }),
  [lostMetric]: JSON.stringify({
    type: "Metric", metric: lostMetric, data: { name: lostMetric, type: "counter", contains: "default", thresholds: [], submetrics: null }
  })
}

/** `phone-12` → `phone`, `fault-0-client-timeouts` → `fault`, `server` → `server`: the actor's name up to its number */
export const actorKindOf = (actor: string) => {
  const dash = actor.indexOf("-")
  return dash === -1 ? actor : actor.slice(0, dash)
}

/**
 * The point a request event recorded for `journey` (undefined: a background actor's) is: its metric, and its line;
 * undefined for an event that is not a request.
 */
export const requestPointOf = (event: HistoryEvent, journey?: JourneyKind): { readonly metric: string; readonly line: string } | undefined => {
  if (!isRequest(event)) return undefined
  const lost = event.outcome === lostAnswerOutcome
  const status = lost ? undefined : httpStatusOf(event.outcome)
  const tags = {
    endpoint: event.kind, actor_kind: actorKindOf(event.actor), journey: journey ?? backgroundJourney, outcome: event.outcome,
    ...(status === undefined ? {} : { status: String(status) }), expected_response: String(event.outcome === "ok")
  }
  const metric = lost ? lostMetric : answeredMetric
  const value = lost ? 1 : event.durationMs ?? 0
  return { metric, line: JSON.stringify({ type: "Point", metric, data: { time: new Date(event.atMs).toISOString(), value, tags } }) }
}

export interface RequestPointsOutcome {
  /** points written (one per request) */
  readonly points: number
  /** why writing stopped before the run ended; undefined when every point was written */
  readonly failure?: string
}

export class RequestPointsFile {
  private readonly fd: number
  private buffered = ""
  /** points in `buffered` */
  private bufferedPoints = 0
  /** points written to the file */
  private points = 0
  private readonly declared = new Set<string>()
  private failure: string | undefined
  private closed = false
  private readonly timer: ReturnType<typeof setInterval>

  /** Opens (or empties) `path` for writing; throws the system's error when it cannot be written. */
  constructor(readonly path: string) {
    this.fd = openSync(path, "w")
    this.timer = setInterval(() => this.flush(), outJsonFlushIntervalMs)
    // a virtual run's proof of a stall is an event loop that empties: this timer must not keep it busy
    this.timer.unref()
  }

  /** The history's listener: a request's point is added to the buffer, written once the buffer is full. */
  readonly record: HistoryListener = (event, journey) => {
    if (this.closed || this.failure !== undefined) return
    const point = requestPointOf(event, journey)
    if (point === undefined) return
    if (!this.declared.has(point.metric)) {
      this.declared.add(point.metric)
      this.buffered += `${metricDeclarations[point.metric]}\n`
    }
    this.buffered += `${point.line}\n`
    this.bufferedPoints++
    if (this.buffered.length >= maxBufferedOutJsonChars) this.flush()
  }

  private flush(): void {
    if (this.buffered === "" || this.failure !== undefined) return
    const text = this.buffered
    const points = this.bufferedPoints
    this.buffered = ""
    this.bufferedPoints = 0
    try {
      writeSync(this.fd, text)
      this.points += points
    } catch (error) {
      // a full disk or a lost mount ends the stream, not the run: the run reports why
      this.failure = error instanceof Error ? error.message : String(error)
    }
  }

  /** Writes what is buffered and closes the file; how many points were written, and why writing stopped if it did. */
  close(): RequestPointsOutcome {
    if (!this.closed) {
      this.closed = true
      clearInterval(this.timer)
      this.flush()
      closeSync(this.fd)
    }
    return this.failure === undefined ? { points: this.points } : { points: this.points, failure: this.failure }
  }
}
