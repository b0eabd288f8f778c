/**
 * Number and time formatting shared by the HTML page, the stdout summary and the progress line.
 * Hand-written instead of `toLocaleString` so output is the same on every machine and locale.
 */

const millisecondsPerSecond = 1_000
const millisecondsPerMinute = 60_000
const millisecondsPerHour = 3_600_000

/** Shown for NaN and infinities, which a broken metric can produce, rather than "NaN". */
export const notANumberText = "n/a"

const groupThousands = (digits: string): string => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",")

/** 1234567 → "1,234,567"; fractions keep at most `fractionDigits` digits. */
export const formatCount = (value: number, fractionDigits = 0): string => {
  if (!Number.isFinite(value)) return notANumberText
  const [whole = "", fraction] = value.toFixed(fractionDigits).split(".")
  return fraction === undefined ? groupThousands(whole) : `${groupThousands(whole)}.${fraction}`
}

/** Latencies are integer ms by design, but histograms may report fractions: keep one decimal then. */
export const formatMs = (value: number): string =>
  Number.isInteger(value) ? formatCount(value) : formatCount(value, 1)

const twoDigits = (value: number): string => String(value).padStart(2, "0")

/** HH:MM:SS; hours are not wrapped, so an offset of 25 h reads "25:00:00". */
export const formatClock = (ms: number): string => {
  if (!Number.isFinite(ms)) return notANumberText
  const totalSeconds = Math.floor(Math.max(0, ms) / millisecondsPerSecond)
  const hours = Math.floor(totalSeconds / 3_600)
  const minutes = Math.floor((totalSeconds % 3_600) / 60)
  const seconds = totalSeconds % 60
  return `${twoDigits(hours)}:${twoDigits(minutes)}:${twoDigits(seconds)}`
}

/** "5.2 s" for short runs, "12m 03s" or "2h 00m 00s" for long ones. */
/** A share of a whole (0.452) as a percentage to a tenth (45.2 %); `missing` where there is no reading. */
export const formatShare = (share: number | undefined, missing = "unknown"): string =>
  share === undefined ? missing : `${(share * 100).toFixed(1)} %`

export const formatDuration = (ms: number): string => {
  if (!Number.isFinite(ms)) return notANumberText
  if (ms < millisecondsPerMinute) return `${(ms / millisecondsPerSecond).toFixed(1)} s`
  const hours = Math.floor(ms / millisecondsPerHour)
  const minutes = Math.floor((ms % millisecondsPerHour) / millisecondsPerMinute)
  const seconds = Math.floor((ms % millisecondsPerMinute) / millisecondsPerSecond)
  return hours > 0
    ? `${hours}h ${twoDigits(minutes)}m ${twoDigits(seconds)}s`
    : `${minutes}m ${twoDigits(seconds)}s`
}

export type Alignment = "left" | "right"

const tableIndent = "  "
const columnGap = "  "

// Code points, not UTF-16 units, so a "→" or an emoji in a name counts once.
export const textWidth = (text: string): number => [...text].length

export const pad = (text: string, width: number, alignment: Alignment): string => {
  const padding = " ".repeat(Math.max(0, width - textWidth(text)))
  return alignment === "left" ? text + padding : padding + text
}

/** Fixed-width columns sized to the widest cell; trailing spaces trimmed so diffs stay clean. */
export const formatTable = (rows: ReadonlyArray<ReadonlyArray<string>>, alignments: ReadonlyArray<Alignment>): Array<string> => {
  const widths = alignments.map((_, column) => Math.max(0, ...rows.map((row) => textWidth(row[column] ?? ""))))
  return rows.map((row) =>
    (tableIndent + alignments.map((alignment, column) => pad(row[column] ?? "", widths[column] ?? 0, alignment)).join(columnGap)).trimEnd()
  )
}
