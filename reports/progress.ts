/**
 * The progress display while a run is under way, in the manner of k6's: on a terminal one status block
 * redrawn in place (counts, rate, p99 so far, elapsed and remaining time, a bar); anywhere else (a CI
 * log, a pipe) one plain line per update, so the log reads top to bottom.
 */
import * as hdr from "hdr-histogram-js"
import { formatClock, formatDuration, formatMs } from "./format.js"

export interface ProgressSnapshot {
  readonly elapsedVirtualMs: number
  readonly totalVirtualMs: number
  readonly wallMs: number
  readonly arrived: number
  readonly held: number
  readonly paid: number
  readonly issued: number
  readonly admitted: number
  readonly errors: number
  /** time of day the scenario starts, ms since midnight (08:00 → 28_800_000); without it the clock shows elapsed time */
  readonly startClockMs?: number
  /** payment→issuance p99 of the tickets issued so far; absent when the caller does not track it */
  readonly paymentToIssuanceP99Ms?: number
}

const millisecondsPerDay = 86_400_000

const percentDone = (elapsedMs: number, totalMs: number): number => {
  // A run with no length is complete as soon as it starts.
  if (!(totalMs > 0)) return 100
  const percent = Math.floor((elapsedMs / totalMs) * 100)
  return Number.isFinite(percent) ? Math.min(100, Math.max(0, percent)) : 0
}

const virtualClock = (elapsedMs: number, startClockMs: number | undefined): string => {
  const elapsed = Math.max(0, elapsedMs)
  // A time of day wraps at midnight (an overnight rush); a bare elapsed time keeps counting hours.
  return startClockMs === undefined
    ? formatClock(elapsed)
    : formatClock((((startClockMs + elapsed) % millisecondsPerDay) + millisecondsPerDay) % millisecondsPerDay)
}

const count = (value: number): string => (Number.isFinite(value) ? String(Math.trunc(value)) : "?")

/** The plain line: for logs and pipes, where a redraw would print escape codes. */
export const formatProgress = (progress: ProgressSnapshot): string => {
  const percent = String(percentDone(progress.elapsedVirtualMs, progress.totalVirtualMs)).padStart(3, " ")
  const wallSeconds = Number.isFinite(progress.wallMs) ? (progress.wallMs / 1_000).toFixed(1) : "?"
  return `[${percent}%] ${virtualClock(progress.elapsedVirtualMs, progress.startClockMs)} virt` +
    `  arrived ${count(progress.arrived)}  held ${count(progress.held)}  paid ${count(progress.paid)}` +
    `  issued ${count(progress.issued)}  admitted ${count(progress.admitted)}  errors ${count(progress.errors)}` +
    (progress.paymentToIssuanceP99Ms === undefined || progress.issued === 0 ? "" : `  p99 ${formatMs(progress.paymentToIssuanceP99Ms)}ms`) +
    `  (${wallSeconds}s wall)`
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

/** Remaining wall time, extrapolated from the pace so far (virtual time per wall second). */
const remainingWallMs = (progress: ProgressSnapshot): number => {
  const remainingVirtualMs = Math.max(0, progress.totalVirtualMs - progress.elapsedVirtualMs)
  return progress.elapsedVirtualMs > 0 ? (remainingVirtualMs / progress.elapsedVirtualMs) * progress.wallMs : NaN
}

/** The status block, one string per terminal line, each cut to the terminal's width so none wraps. */
export const formatProgressBlock = (progress: ProgressSnapshot, context: BlockContext): Array<string> => {
  const percent = percentDone(progress.elapsedVirtualMs, progress.totalVirtualMs)
  const barWidth = Math.max(minBarWidthColumns, Math.min(maxBarWidthColumns, context.columns - 30))
  const previous = context.previous
  const recentIssued = previous === undefined ? progress.issued : progress.issued - previous.issued
  const recentVirtualMs = previous === undefined ? progress.elapsedVirtualMs : progress.elapsedVirtualMs - previous.elapsedVirtualMs
  const remainingVirtualMs = Math.max(0, progress.totalVirtualMs - progress.elapsedVirtualMs)
  const p99 = progress.paymentToIssuanceP99Ms
  const lines = [
    `chunyun ${bar(percent, barWidth)} ${String(percent).padStart(3, " ")}%  ${virtualClock(progress.elapsedVirtualMs, progress.startClockMs)} virt`,
    `  elapsed   ${formatDuration(Math.max(0, progress.elapsedVirtualMs))} virt, ${formatDuration(progress.wallMs)} wall` +
      `   remaining ${formatDuration(remainingVirtualMs)} virt, ~${formatDuration(remainingWallMs(progress))} wall`,
    `  arrived ${count(progress.arrived)}  held ${count(progress.held)}  paid ${count(progress.paid)}` +
      `  issued ${count(progress.issued)}  admitted ${count(progress.admitted)}  errors ${count(progress.errors)}`,
    `  rate      ${perSecond(recentIssued, recentVirtualMs)} issued/s virt now, ${perSecond(progress.issued, progress.wallMs)}/s wall overall` +
      `   p99 payment→issuance ${p99 === undefined || progress.issued === 0 ? "–" : `${formatMs(p99)} ms`}`
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

const maxTrackableLatencyMs = 24 * 3_600_000

/**
 * The payment→issuance p99 so far, read incrementally from the growing event list: each update
 * records only the events added since the last one, so a long run costs the same per update.
 */
export const paymentToIssuanceTracker = () => {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: maxTrackableLatencyMs, numberOfSignificantValueDigits: 3 })
  let readEvents = 0
  return {
    p99: (events: ReadonlyArray<IssuanceEvent>): number => {
      for (; readEvents < events.length; readEvents++) {
        const event = events[readEvents]
        if (event?.kind !== "ticket-received" || event.outcome !== "ok") continue
        const latencyMs = Number(event.detail?.paymentToIssuanceMs ?? 0)
        if (Number.isFinite(latencyMs)) histogram.recordValue(Math.min(maxTrackableLatencyMs, Math.max(0, Math.round(latencyMs))))
      }
      return histogram.totalCount === 0 ? 0 : histogram.getValueAtPercentile(99)
    }
  }
}
