/**
 * Line charts as inline SVG strings, drawn at render time so the report needs no script to show
 * them and opens offline. Coordinates are rounded to 0.1 px so the same report renders byte-identically.
 */
import { escapeHtml } from "./escape.js"
import { formatClock, formatCount } from "./format.js"

export type ChartKind = "throughput" | "errors" | "latency" | "distribution"

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
}

export const chartWidthPx = 760
export const chartHeightPx = 260
export const plotLeftPx = 64
export const plotRightPx = chartWidthPx - 36
export const plotTopPx = 32
export const plotBottomPx = chartHeightPx - 40
const maxYTicks = 5
const xTickCount = 5

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

export interface YAxis {
  readonly max: number
  readonly step: number
}

/** A fold rather than `Math.max(...values)`: spreading a long run's series overflows the call stack. */
const finiteExtremes = (values: ReadonlyArray<number>): { readonly smallest: number; readonly largest: number } =>
  values.reduce(
    (extremes, value) =>
      Number.isFinite(value)
        ? { smallest: Math.min(extremes.smallest, value), largest: Math.max(extremes.largest, value) }
        : extremes,
    { smallest: Infinity, largest: -Infinity }
  )

export const yAxisFor = (lines: ReadonlyArray<Pick<ChartLine, "values">>): YAxis => {
  const largest = Math.max(0, finiteExtremes(lines.flatMap((line) => line.values)).largest)
  // A flat-zero series still needs a non-zero range to divide by.
  const step = niceStep(Math.max(largest, 1) / (maxYTicks - 1))
  return { max: Math.max(step, Math.ceil(largest / step) * step), step }
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
  // Non-finite or negative values are drawn on the baseline: the tables show the true numbers.
  const clamped = Number.isFinite(value) ? Math.min(Math.max(value, 0), axis.max) : 0
  return plotBottomPx - (clamped / axis.max) * (plotBottomPx - plotTopPx)
}

// toPrecision drops the float noise of step × index (0.30000000000000004).
export const axisNumber = (value: number): string => {
  const rounded = Number(value.toPrecision(12))
  return Number.isInteger(rounded) ? formatCount(rounded) : String(rounded)
}

export const renderYTicks = (axis: YAxis): string => {
  const tickCount = Math.round(axis.max / axis.step)
  return Array.from({ length: tickCount + 1 }, (_, index) => {
    const value = index * axis.step
    const y = coordinate(yPixel(axis, value))
    return `<line class="grid" x1="${plotLeftPx}" y1="${y}" x2="${plotRightPx}" y2="${y}" stroke="${gridColor}"/>` +
      `<text class="tick" x="${plotLeftPx - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="${labelColor}">${axisNumber(value)}</text>`
  }).join("")
}

const renderXTicks = (axis: XAxis): string =>
  Array.from({ length: xTickCount }, (_, index) => {
    const timeMs = axis.startMs + ((axis.endMs - axis.startMs) * index) / (xTickCount - 1)
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

const renderLine = (input: LineChartInput, xAxis: XAxis, yAxis: YAxis, line: ChartLine): string => {
  const points = input.bucketStartsMs.map((startMs, index) => ({
    x: coordinate(xPixel(xAxis, startMs + xAxis.pointOffsetMs)),
    y: coordinate(yPixel(yAxis, line.values[index] ?? 0))
  }))
  const color = escapeHtml(line.color)
  const [onlyPoint] = points
  // A polyline of one point draws nothing, so a one-bucket run gets a visible dot as well.
  const dot = points.length === 1 && onlyPoint !== undefined
    ? `<circle cx="${onlyPoint.x}" cy="${onlyPoint.y}" r="3" fill="${color}"/>`
    : ""
  return `<polyline class="series" data-series="${escapeHtml(line.name)}" fill="none" stroke="${color}" ` +
    `stroke-width="1.5"${line.dashed === true ? ` stroke-dasharray="6 3"` : ""} points="${points.map((point) => `${point.x},${point.y}`).join(" ")}"/>${dot}`
}

export const renderNoData = (): string =>
  `<text class="no-data" x="${(plotLeftPx + plotRightPx) / 2}" y="${(plotTopPx + plotBottomPx) / 2}" ` +
  `text-anchor="middle" dominant-baseline="middle" font-size="16" fill="#8c959f">no data</text>`

export const renderLineChart = (input: LineChartInput): string => {
  const xAxis = xAxisFor(input.bucketStartsMs, input.bucketMs)
  const yAxis = yAxisFor(input.lines)
  const hasData = input.bucketStartsMs.length > 0
  const body = hasData
    ? renderYTicks(yAxis) + renderXTicks(xAxis) + input.lines.map((line) => renderLine(input, xAxis, yAxis, line)).join("")
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
    `transform="rotate(-90 14 ${(plotTopPx + plotBottomPx) / 2})">${escapeHtml(input.yAxisLabel)}</text>` +
    `<text class="axis-label" x="${(plotLeftPx + plotRightPx) / 2}" y="${chartHeightPx - 6}" text-anchor="middle" fill="${labelColor}">time since start</text>` +
    `</svg>`
}
