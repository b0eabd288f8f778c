/**
 * The progress display while a run is under way, in the manner of k6's: on a terminal one status block
 * redrawn in place (a bar of passengers done, counts, rate, p99 so far, requests per wall-second and the clock's
 * acceleration since the drawing before, elapsed and remaining time); anywhere
 * else (a CI log, a pipe) one plain line per update, so the log reads top to bottom. It is drawn by wall time,
 * whatever the virtual clock does: a busy virtual minute takes most of a run's wall time.
 */
import * as hdr from "hdr-histogram-js"
import { CountsTally } from "./metrics.js"
import type { RunProgress } from "../simulator/Progress.js"
import { formatClock, formatCount, formatDuration, formatMs } from "./format.js"

export interface ProgressSnapshot {
  readonly elapsedVirtualMs: number
  readonly totalVirtualMs: number
  readonly wallMs: number
  /** passengers of the run in all, and whose journeys have started (arrived) and are over (finished) */
  readonly passengers: number
  readonly arrived: number
  readonly finished: number
  readonly held: number
  readonly paid: number
  readonly issued: number
  readonly admitted: number
  readonly errors: number
  /** remaining wall time at the recent pace of work (`workDone`); absent (shown as unknown) while there is none */
  readonly remainingWallMs?: number
  /** the run is over: 100 % whatever the counts */
  readonly done?: boolean
  /** time of day the scenario starts, ms since midnight (08:00 → 28_800_000); without it the clock shows elapsed time */
  readonly startClockMs?: number
  /** payment→issuance p99 of the tickets issued so far; absent when the caller does not track it */
  readonly paymentToIssuanceP99Ms?: number
  /** what the run's clock is: `virtual` (the default), or `scenario` time running at a multiple of the wall (real mode) */
  readonly clock?: RunClock
  /** since the drawing before: the requests the run made per wall-second, and its clock's time per wall time */
  readonly requestsPerWallSecond?: number
  readonly acceleration?: number
}

/** A virtual run's clock is simulated; a real run's is the scenario's timeline, scaled from the wall clock. */
export type RunClock = "virtual" | "scenario"
/** the clock's name beside its time: `08:12:30 virt`, `08:12:30 scen` */
const clockLabel = (clock: RunClock | undefined) => clock === "scenario" ? "scen" : "virt"

const millisecondsPerDay = 86_400_000

/**
 * The work of a run, in passengers: one counts half done when it arrives and done when its journey is over. A buyer's
 * journey ends at the gate, hours of virtual time after the rush: counted by journeys over alone, the rush that takes
 * most of a run's wall time would read as a few percent.
 */
export const workDone = (progress: Pick<ProgressSnapshot, "arrived" | "finished">): number => (progress.arrived + progress.finished) / 2

/** The share of the run's work done, floored and below 100 until the run is over. */
const percentDone = (progress: ProgressSnapshot): number => {
  if (progress.done === true || !(progress.passengers > 0)) return 100
  const percent = Math.floor((workDone(progress) / progress.passengers) * 100)
  return Number.isFinite(percent) ? Math.min(99, Math.max(0, percent)) : 0
}

const virtualClock = (elapsedMs: number, startClockMs: number | undefined): string => {
  const elapsed = Math.max(0, elapsedMs)
  // A time of day wraps at midnight (an overnight rush); a bare elapsed time keeps counting hours.
  return startClockMs === undefined
    ? formatClock(elapsed)
    : formatClock((((startClockMs + elapsed) % millisecondsPerDay) + millisecondsPerDay) % millisecondsPerDay)
}

const count = (value: number): string => (Number.isFinite(value) ? String(Math.trunc(value)) : "?")

const remaining = (progress: ProgressSnapshot): string =>
  progress.done === true ? "0.0 s" : progress.remainingWallMs === undefined ? "?" : `~${formatDuration(progress.remainingWallMs)}`

/** `1,234 req/s ×56` (`×0.4` below ten): the recent pace, when the snapshot has it */
const pace = (progress: ProgressSnapshot, separator: string): string => {
  const { requestsPerWallSecond, acceleration } = progress
  if (requestsPerWallSecond === undefined || acceleration === undefined) return ""
  return `${separator}${formatCount(requestsPerWallSecond)} req/s  ×${formatCount(acceleration, acceleration < 10 ? 1 : 0)}`
}

/** The plain line: for logs and pipes, where a redraw would print escape codes. */
export const formatProgress = (progress: ProgressSnapshot): string => {
  const percent = String(percentDone(progress)).padStart(3, " ")
  const wallSeconds = Number.isFinite(progress.wallMs) ? (progress.wallMs / 1_000).toFixed(1) : "?"
  return `[${percent}%] ${virtualClock(progress.elapsedVirtualMs, progress.startClockMs)} ${clockLabel(progress.clock)}` +
    `  done ${count(progress.finished)}/${count(progress.passengers)}  arrived ${count(progress.arrived)}` +
    `  held ${count(progress.held)}  paid ${count(progress.paid)}` +
    `  issued ${count(progress.issued)}  admitted ${count(progress.admitted)}  errors ${count(progress.errors)}` +
    (progress.paymentToIssuanceP99Ms === undefined || progress.issued === 0 ? "" : `  p99 ${formatMs(progress.paymentToIssuanceP99Ms)}ms`) +
    pace(progress, "  ") + `  (${wallSeconds}s wall, ${remaining(progress)} left)`
}

/** redraws on a terminal: often enough to look live, rarely enough to cost nothing */
export const terminalRedrawIntervalMs = 250
/** plain lines in a log: one a second, as before */
export const logLineIntervalMs = 1_000
const maxBarWidthColumns = 40
const minBarWidthColumns = 10
/** assumed when the terminal does not say how wide it is */
const defaultTerminalColumns = 80

const bar = (percent: number, widthColumns: number): string => {
  const filled = Math.round((percent / 100) * widthColumns)
  return "█".repeat(filled) + "░".repeat(widthColumns - filled)
}

const perSecond = (count: number, elapsedMs: number): string =>
  elapsedMs > 0 && Number.isFinite(count) ? (count / (elapsedMs / 1_000)).toFixed(1) : "–"

export interface BlockContext {
  /** the snapshot drawn before this one: the rate is measured between the two */
  readonly previous?: ProgressSnapshot
  readonly columns: number
}

/** The status block, one string per terminal line, each cut to the terminal's width so none wraps. */
export const formatProgressBlock = (progress: ProgressSnapshot, context: BlockContext): Array<string> => {
  const percent = percentDone(progress)
  const barWidth = Math.max(minBarWidthColumns, Math.min(maxBarWidthColumns, context.columns - 30))
  const previous = context.previous
  const recentIssued = previous === undefined ? progress.issued : progress.issued - previous.issued
  const recentVirtualMs = previous === undefined ? progress.elapsedVirtualMs : progress.elapsedVirtualMs - previous.elapsedVirtualMs
  const p99 = progress.paymentToIssuanceP99Ms
  const lines = [
    `chunyun ${bar(percent, barWidth)} ${String(percent).padStart(3, " ")}%  ${virtualClock(progress.elapsedVirtualMs, progress.startClockMs)} ${clockLabel(progress.clock)}`,
    `  passengers ${count(progress.finished)} done of ${count(progress.passengers)}, ${count(progress.arrived)} arrived` +
      `   elapsed ${formatDuration(progress.wallMs)} wall, remaining ${remaining(progress)} wall`,
    `  held ${count(progress.held)}  paid ${count(progress.paid)}` +
      `  issued ${count(progress.issued)}  admitted ${count(progress.admitted)}  errors ${count(progress.errors)}`,
    `  rate      ${perSecond(recentIssued, recentVirtualMs)} issued/s ${clockLabel(progress.clock)} now, ${perSecond(progress.issued, progress.wallMs)}/s wall overall` +
      `   p99 payment→issuance ${p99 === undefined || progress.issued === 0 ? "–" : `${formatMs(p99)} ms`}` + pace(progress, "   ")
  ]
  return lines.map((line) => [...line].slice(0, Math.max(1, context.columns - 1)).join(""))
}

/** the part of a `process.stdout` the display uses, so a test can hand it a fake terminal */
export interface ProgressStream {
  readonly isTTY?: boolean
  readonly columns?: number
  write(text: string): unknown
}

export interface ProgressDisplay {
  /** how often the caller should take a snapshot and call `update` */
  readonly intervalMs: number
  readonly update: (progress: ProgressSnapshot) => void
}

const cursorUp = (lines: number): string => `\u001b[${lines}A`
const clearLine = "\u001b[2K"

export const progressDisplay = (stream: ProgressStream): ProgressDisplay => {
  if (stream.isTTY !== true) {
    return { intervalMs: logLineIntervalMs, update: (progress) => { stream.write(formatProgress(progress) + "\n") } }
  }
  let previous: ProgressSnapshot | undefined
  let drawnLines = 0
  return {
    intervalMs: terminalRedrawIntervalMs,
    update: (progress) => {
      const columns = stream.columns !== undefined && stream.columns > 0 ? stream.columns : defaultTerminalColumns
      const lines = formatProgressBlock(progress, previous === undefined ? { columns } : { columns, previous })
      // back to the block's first line, then overwrite every line of it in place
      stream.write((drawnLines > 0 ? cursorUp(drawnLines) : "") + lines.map((line) => `\r${clearLine}${line}\n`).join(""))
      drawnLines = lines.length
      previous = progress
    }
  }
}

/** The fields of a history event the tracker reads (structural, so reports/ needs no simulator import). */
export interface IssuanceEvent {
  readonly kind: string
  readonly outcome: string
  readonly detail?: Readonly<Record<string, string | number | boolean | null>>
}

/** a growing list of events, read from the `from`-th on (a run's History) */
export interface IssuanceEvents {
  readonly readFrom: (from: number) => Iterable<IssuanceEvent>
}

const maxTrackableLatencyMs = 24 * 3_600_000

/**
 * The payment→issuance p99 so far, read incrementally from the growing event list: each update
 * records only the events added since the last one, so a long run costs the same per update.
 */
export const paymentToIssuanceTracker = () => {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: maxTrackableLatencyMs, numberOfSignificantValueDigits: 3 })
  let readEvents = 0
  return {
    p99: (events: IssuanceEvents): number => {
      for (const event of events.readFrom(readEvents)) {
        readEvents++
        if (event.kind !== "ticket-received" || event.outcome !== "ok") continue
        const latencyMs = Number(event.detail?.paymentToIssuanceMs ?? 0)
        if (Number.isFinite(latencyMs)) histogram.recordValue(Math.min(maxTrackableLatencyMs, Math.max(0, Math.round(latencyMs))))
      }
      return histogram.totalCount === 0 ? 0 : histogram.getValueAtPercentile(99)
    }
  }
}

/** how far back (wall ms) the pace of work is measured for the remaining time */
export const paceWindowMs = 20_000

/**
 * The wall time the work not yet done takes at the pace of the last `paceWindowMs` (`workDone`, in passengers): fed
 * each drawing's wall time and work. Undefined while no work was done in the window: a pace of nothing is no estimate.
 */
export const remainingAtPace = () => {
  const samples: Array<{ readonly wallMs: number; readonly done: number }> = []
  return (wallMs: number, done: number, total: number): number | undefined => {
    samples.push({ wallMs, done })
    while (samples.length > 2 && samples[1]!.wallMs <= wallMs - paceWindowMs) samples.shift()
    const oldest = samples[0]!
    const perWallMs = wallMs > oldest.wallMs ? (done - oldest.done) / (wallMs - oldest.wallMs) : 0
    return perWallMs > 0 ? Math.max(0, total - done) / perWallMs : undefined
  }
}

export interface ProgressReporterOptions {
  readonly stream: ProgressStream
  /** the scenario's start and end on its clock */
  readonly startMs: number
  readonly endMs: number
  /** time of day of `startMs`, ms since midnight */
  readonly startClockMs?: number
  /** the wall clock in ms (`performance.now` in the command; a test drives its own) */
  readonly wallNowMs: () => number
  /** the run's clock, as the display names it (default `virtual`) */
  readonly clock?: RunClock
}

/**
 * What the command calls with a run's progress (simulator/Progress.ts): throttled to the display's pace by the wall
 * clock, counting every journey kind as the report does (reports/metrics.ts `CountsTally`), reading only the events
 * added since the last drawing. `final`: the run has ended; drawn whatever the interval, so the totals are the report's.
 */
export const progressReporter = (options: ProgressReporterOptions) => {
  const display = progressDisplay(options.stream)
  const wallStartMs = options.wallNowMs()
  const counts = new CountsTally()
  const paymentToIssuance = paymentToIssuanceTracker()
  const remainingWallMs = remainingAtPace()
  remainingWallMs(0, 0, 0)
  let lastDrawn: { readonly wallMs: number; readonly virtualMs: number; readonly requests: number } | undefined
  return (progress: RunProgress, final = false): void => {
    const wallMs = options.wallNowMs() - wallStartMs
    if (!final && lastDrawn !== undefined && wallMs - lastDrawn.wallMs < display.intervalMs) return
    counts.readNew(progress.history)
    const virtualMs = progress.nowMs - options.startMs
    const sinceWallMs = lastDrawn === undefined ? 0 : wallMs - lastDrawn.wallMs
    const recentPace = lastDrawn === undefined || sinceWallMs <= 0 ? {} : {
      requestsPerWallSecond: (counts.requests.requests - lastDrawn.requests) / (sinceWallMs / 1_000),
      acceleration: (virtualMs - lastDrawn.virtualMs) / sinceWallMs
    }
    lastDrawn = { wallMs, virtualMs, requests: counts.requests.requests }
    const passengers = progress.passengers
    const expected = Math.max(0, passengers.expected - passengers.notStarted - counts.dropped)
    const remaining = remainingWallMs(wallMs, workDone(passengers), expected)
    display.update({
      elapsedVirtualMs: virtualMs, totalVirtualMs: options.endMs - options.startMs, wallMs,
      passengers: expected, arrived: passengers.arrived, finished: passengers.finished,
      held: counts.held, paid: counts.paid, issued: counts.issued, admitted: counts.admitted, errors: counts.requests.errors,
      ...(remaining === undefined ? {} : { remainingWallMs: remaining }), ...(final ? { done: true } : {}),
      ...(options.startClockMs === undefined ? {} : { startClockMs: options.startClockMs }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      paymentToIssuanceP99Ms: paymentToIssuance.p99(progress.history), ...recentPace
    })
  }
}
