/**
 * Line charts as inline SVG strings, drawn at render time so the report needs no script to show
 * them and opens offline. Coordinates are rounded to 0.1 px so the same report renders byte-identically.
 */
import { escapeHtml } from "./escape.js"
import { formatClock, formatCount } from "./format.js"

export type ChartKind = "throughput" | "requests" | "in-flight" | "errors" | "latency" | "distribution"

export interface ChartLine {
  readonly name: string
  readonly color: string
  readonly values: ReadonlyArray<number>
  /** dashed so a line that usually coincides with another (issued over paid) leaves it visible */
  readonly dashed?: boolean
}

export interface LineChartInput {
  readonly kind: ChartKind
  readonly title: string
  readonly yAxisLabel: string
  /** bucket starts, ms since the scenario's start; `values` of every line run parallel to it */
  readonly bucketStartsMs: ReadonlyArray<number>
  readonly bucketMs: number
  readonly lines: ReadonlyArray<ChartLine>
  /**
   * "log": tenfold steps of equal height, so a p99.9 far above the median leaves p50 … p99 readable; a value of 0
   * (a bucket with no sample) is a gap in the line, not a drop to the floor. Default "linear".
   */
  readonly yScale?: "linear" | "log"
  /** after each value in the hover text: " ms", "/s" */
  readonly unit?: string
}

export const chartWidthPx = 760
export const chartHeightPx = 260
export const plotLeftPx = 64
export const plotRightPx = chartWidthPx - 36
export const plotTopPx = 32
export const plotBottomPx = chartHeightPx - 40
const maxYTicks = 5
const maxXTicks = 7

export const axisColor = "#57606a"
export const gridColor = "#eaeef2"
export const labelColor = "#57606a"

export const coordinate = (value: number): string => value.toFixed(1)

/** Smallest of 1, 2 or 5 × 10^k at least `rawStep`, so axis labels are round numbers. */
export const niceStep = (rawStep: number): number => {
  const magnitude = 10 ** Math.floor(Math.log10(rawStep))
  const fraction = rawStep / magnitude
  const factor = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
  return factor * magnitude
}

export interface LinearYAxis {
  readonly kind?: "linear"
  readonly max: number
  readonly step: number
}

/** from 10^minDecade to 10^maxDecade */
export interface LogYAxis {
  readonly kind: "log"
  readonly minDecade: number
  readonly maxDecade: number
}

export type YAxis = LinearYAxis | LogYAxis

/** A fold rather than `Math.max(...values)`: spreading a long run's series overflows the call stack. */
const finiteExtremes = (values: ReadonlyArray<number>): { readonly smallest: number; readonly largest: number } =>
  values.reduce(
    (extremes, value) =>
      Number.isFinite(value)
        ? { smallest: Math.min(extremes.smallest, value), largest: Math.max(extremes.largest, value) }
        : extremes,
    { smallest: Infinity, largest: -Infinity }
  )

export const yAxisFor = (lines: ReadonlyArray<Pick<ChartLine, "values">>): LinearYAxis => {
  const largest = Math.max(0, finiteExtremes(lines.flatMap((line) => line.values)).largest)
  // A flat-zero series still needs a non-zero range to divide by.
  const step = niceStep(Math.max(largest, 1) / (maxYTicks - 1))
  return { max: Math.max(step, Math.ceil(largest / step) * step), step }
}

/** The decades around the positive values (1 … 10 when there are none): at least one decade high. */
export const logYAxisFor = (lines: ReadonlyArray<Pick<ChartLine, "values">>): LogYAxis => {
  const positive = lines.flatMap((line) => line.values).filter((value) => Number.isFinite(value) && value > 0)
  const extremes = finiteExtremes(positive)
  if (positive.length === 0) return { kind: "log", minDecade: 0, maxDecade: 1 }
  const minDecade = Math.floor(Math.log10(extremes.smallest))
  // toPrecision: log10(1000) is 2.9999999999999996 in floating point
  const maxDecade = Math.ceil(Number(Math.log10(extremes.largest).toPrecision(12)))
  return { kind: "log", minDecade, maxDecade: Math.max(minDecade + 1, maxDecade) }
}

interface XAxis {
  readonly startMs: number
  readonly endMs: number
  /** points sit mid-bucket, since each value describes the whole bucket */
  readonly pointOffsetMs: number
}

const xAxisFor = (bucketStartsMs: ReadonlyArray<number>, bucketMs: number): XAxis => {
  const width = Number.isFinite(bucketMs) && bucketMs > 0 ? bucketMs : 0
  const extremes = finiteExtremes(bucketStartsMs)
  const startMs = Number.isFinite(extremes.smallest) ? extremes.smallest : 0
  const lastMs = Number.isFinite(extremes.largest) ? extremes.largest : 0
  return { startMs, endMs: Math.max(lastMs + width, startMs + 1), pointOffsetMs: width / 2 }
}

const xPixel = (axis: XAxis, timeMs: number): number =>
  plotLeftPx + ((timeMs - axis.startMs) / (axis.endMs - axis.startMs)) * (plotRightPx - plotLeftPx)

export const yPixel = (axis: YAxis, value: number): number => {
  if (axis.kind === "log") {
    // Off-scale values are drawn at the axis' edges; a line leaves a gap for a value of 0 before it gets here.
    const decades = Number.isFinite(value) && value > 0 ? Math.log10(value) : axis.minDecade
    const clamped = Math.min(Math.max(decades, axis.minDecade), axis.maxDecade)
    return plotBottomPx - ((clamped - axis.minDecade) / (axis.maxDecade - axis.minDecade)) * (plotBottomPx - plotTopPx)
  }
  // Non-finite or negative values are drawn on the baseline: the tables show the true numbers.
  const clamped = Number.isFinite(value) ? Math.min(Math.max(value, 0), axis.max) : 0
  return plotBottomPx - (clamped / axis.max) * (plotBottomPx - plotTopPx)
}

// toPrecision drops the float noise of step × index (0.30000000000000004).
export const axisNumber = (value: number): string => {
  const rounded = Number(value.toPrecision(12))
  return Number.isInteger(rounded) ? formatCount(rounded) : String(rounded)
}

const yTick = (axis: YAxis, value: number, labelled: boolean): string => {
  const y = coordinate(yPixel(axis, value))
  return `<line class="grid" x1="${plotLeftPx}" y1="${y}" x2="${plotRightPx}" y2="${y}" stroke="${gridColor}"/>` +
    (labelled ? `<text class="tick" x="${plotLeftPx - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="${labelColor}">${axisNumber(value)}</text>` : "")
}

/** a log axis of this many decades or fewer also labels 2× and 5× each power of ten */
const maxDecadesWithMinorLabels = 3

/** The values a log axis marks: every power of ten, and 2× and 5× each; `labelled` says which carry a number. */
export const logYTicks = (axis: LogYAxis): Array<{ readonly value: number; readonly labelled: boolean }> => {
  const minorLabelled = axis.maxDecade - axis.minDecade <= maxDecadesWithMinorLabels
  return Array.from({ length: axis.maxDecade - axis.minDecade + 1 }, (_, index) => axis.minDecade + index).flatMap((decade) => {
    const power = Number((10 ** decade).toPrecision(12))
    const minors = decade < axis.maxDecade ? [2, 5].map((factor) => ({ value: Number((factor * power).toPrecision(12)), labelled: minorLabelled })) : []
    return [{ value: power, labelled: true }, ...minors]
  })
}

export const renderYTicks = (axis: YAxis): string => {
  if (axis.kind === "log") return logYTicks(axis).map(({ value, labelled }) => yTick(axis, value, labelled)).join("")
  const tickCount = Math.round(axis.max / axis.step)
  return Array.from({ length: tickCount + 1 }, (_, index) => yTick(axis, index * axis.step, true)).join("")
}

/** steps a time axis may tick at, each a round figure on a clock */
export const timeTickStepsMs = [1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
  1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000]

/** The ticks of a time axis: multiples of the smallest round step that keeps them at most `maxXTicks`. */
export const timeTicksMs = (startMs: number, endMs: number): Array<number> => {
  const spanMs = Math.max(1, endMs - startMs)
  const stepMs = timeTickStepsMs.find((step) => Math.floor(spanMs / step) + 1 <= maxXTicks) ?? timeTickStepsMs[timeTickStepsMs.length - 1]!
  const firstMs = Math.ceil(startMs / stepMs) * stepMs
  return Array.from({ length: Math.floor((endMs - firstMs) / stepMs) + 1 }, (_, index) => firstMs + index * stepMs)
}

const renderXTicks = (axis: XAxis): string =>
  timeTicksMs(axis.startMs, axis.endMs).map((timeMs) => {
    const x = coordinate(xPixel(axis, timeMs))
    return `<line class="tick-mark" x1="${x}" y1="${plotBottomPx}" x2="${x}" y2="${plotBottomPx + 4}" stroke="${axisColor}"/>` +
      `<text class="tick" x="${x}" y="${plotBottomPx + 16}" text-anchor="middle" fill="${labelColor}">${formatClock(timeMs)}</text>`
  }).join("")

export const renderLegend = (lines: ReadonlyArray<ChartLine>): string =>
  lines.map((line, index) => {
    const x = plotLeftPx + index * 120
    return `<rect x="${x}" y="10" width="12" height="12" fill="${escapeHtml(line.color)}"/>` +
      `<text class="legend" x="${x + 16}" y="20" fill="#1f2328">${escapeHtml(line.name)}</text>`
  }).join("")

interface Point {
  readonly x: string
  readonly y: string
}

/** The runs of consecutive points a line draws: on a log axis a value of 0 (no sample) breaks the line. */
const segmentsOf = (input: LineChartInput, xAxis: XAxis, yAxis: YAxis, line: ChartLine): Array<Array<Point>> => {
  const segments: Array<Array<Point>> = []
  let current: Array<Point> = []
  input.bucketStartsMs.forEach((startMs, index) => {
    const value = line.values[index] ?? 0
    if (yAxis.kind === "log" && !(value > 0)) {
      if (current.length > 0) segments.push(current)
      current = []
      return
    }
    current.push({ x: coordinate(xPixel(xAxis, startMs + xAxis.pointOffsetMs)), y: coordinate(yPixel(yAxis, value)) })
  })
  if (current.length > 0) segments.push(current)
  return segments
}

const renderLine = (input: LineChartInput, xAxis: XAxis, yAxis: YAxis, line: ChartLine): string => {
  const color = escapeHtml(line.color)
  return segmentsOf(input, xAxis, yAxis, line).map((points) => {
    const [onlyPoint] = points
    // A polyline of one point draws nothing, so a lone bucket gets a visible dot as well.
    const dot = points.length === 1 && onlyPoint !== undefined
      ? `<circle cx="${onlyPoint.x}" cy="${onlyPoint.y}" r="3" fill="${color}"/>`
      : ""
    return `<polyline class="series" data-series="${escapeHtml(line.name)}" fill="none" stroke="${color}" ` +
      `stroke-width="1.5"${line.dashed === true ? ` stroke-dasharray="6 3"` : ""} points="${points.map((point) => `${point.x},${point.y}`).join(" ")}"/>${dot}`
  }).join("")
}

/** a value as the hover text shows it: whole numbers grouped, fractions to one decimal */
const hoverNumber = (value: number): string =>
  Number.isFinite(value) ? formatCount(value, Number.isInteger(value) ? 0 : 1) : "n/a"

/**
 * One transparent column per bucket over the whole plot, its `<title>` the bucket's time span and every line's value
 * there: the browser shows it as a tooltip when the pointer rests on the bucket, with no script.
 */
const renderHoverColumns = (input: LineChartInput, xAxis: XAxis): string =>
  input.bucketStartsMs.map((startMs, index) => {
    const left = xPixel(xAxis, startMs)
    const width = Math.max(1, xPixel(xAxis, startMs + Math.max(input.bucketMs, 0)) - left)
    const values = input.lines.map((line) => `${line.name}: ${hoverNumber(line.values[index] ?? 0)}${input.unit ?? ""}`)
    const title = [`${formatClock(startMs)}–${formatClock(startMs + input.bucketMs)}`, ...values].join("\n")
    return `<rect class="hover" x="${coordinate(left)}" y="${plotTopPx}" width="${coordinate(width)}" height="${plotBottomPx - plotTopPx}" ` +
      `fill="#0969da" fill-opacity="0"><title>${escapeHtml(title)}</title></rect>`
  }).join("")

export const renderNoData = (): string =>
  `<text class="no-data" x="${(plotLeftPx + plotRightPx) / 2}" y="${(plotTopPx + plotBottomPx) / 2}" ` +
  `text-anchor="middle" dominant-baseline="middle" font-size="16" fill="#8c959f">no data</text>`

export const renderLineChart = (input: LineChartInput): string => {
  const xAxis = xAxisFor(input.bucketStartsMs, input.bucketMs)
  const yAxis: YAxis = input.yScale === "log" ? logYAxisFor(input.lines) : yAxisFor(input.lines)
  // no buckets, or every line left out for being zero throughout
  const hasData = input.bucketStartsMs.length > 0 && input.lines.length > 0
  const body = hasData
    ? renderYTicks(yAxis) + renderXTicks(xAxis) + input.lines.map((line) => renderLine(input, xAxis, yAxis, line)).join("") +
      renderHoverColumns(input, xAxis)
    : renderNoData()
  return `<svg class="chart" data-chart="${input.kind}" xmlns="http://www.w3.org/2000/svg" ` +
    `viewBox="0 0 ${chartWidthPx} ${chartHeightPx}" width="${chartWidthPx}" height="${chartHeightPx}" role="img" ` +
    // Presentation attributes rather than page CSS, so a chart copied out of the page still draws.
    `font-family="system-ui, sans-serif" font-size="11">` +
    `<title>${escapeHtml(input.title)}</title>` +
    renderLegend(input.lines) +
    `<line class="axis" x1="${plotLeftPx}" y1="${plotTopPx}" x2="${plotLeftPx}" y2="${plotBottomPx}" stroke="${axisColor}"/>` +
    `<line class="axis" x1="${plotLeftPx}" y1="${plotBottomPx}" x2="${plotRightPx}" y2="${plotBottomPx}" stroke="${axisColor}"/>` +
    body +
    `<text class="axis-label" x="14" y="${(plotTopPx + plotBottomPx) / 2}" text-anchor="middle" fill="${labelColor}" ` +
    `transform="rotate(-90 14 ${(plotTopPx + plotBottomPx) / 2})">${escapeHtml(input.yAxisLabel)}${input.yScale === "log" ? " (log scale)" : ""}</text>` +
    `<text class="axis-label" x="${(plotLeftPx + plotRightPx) / 2}" y="${chartHeightPx - 6}" text-anchor="middle" fill="${labelColor}">time since the on-sale</text>` +
    `</svg>`
}
