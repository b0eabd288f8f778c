/** The one-line progress display printed while a run is under way, in the manner of k6's. */
import { formatClock } from "./format.js"

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

export const formatProgress = (progress: ProgressSnapshot): string => {
  const percent = String(percentDone(progress.elapsedVirtualMs, progress.totalVirtualMs)).padStart(3, " ")
  const wallSeconds = Number.isFinite(progress.wallMs) ? (progress.wallMs / 1_000).toFixed(1) : "?"
  return `[${percent}%] ${virtualClock(progress.elapsedVirtualMs, progress.startClockMs)} virt` +
    `  arrived ${count(progress.arrived)}  held ${count(progress.held)}  paid ${count(progress.paid)}` +
    `  issued ${count(progress.issued)}  admitted ${count(progress.admitted)}  errors ${count(progress.errors)}` +
    `  (${wallSeconds}s wall)`
}
