/**
 * The percentile distribution as HdrHistogram plots it: latency against percentile, with the
 * percentile axis on the 1/(1 − p) scale so 90%, 99% and 99.9% sit one step apart and the tail,
 * where a rush hurts, takes as much room as the median. Inline SVG, like the line charts.
 */
import {
  axisColor, chartHeightPx, chartWidthPx, coordinate, labelColor, plotBottomPx, plotLeftPx, plotRightPx, plotTopPx,
  renderLegend, renderNoData, renderYTicks, yAxisFor, yPixel
} from "./chart.js"
import { escapeHtml } from "./escape.js"
import { formatMs } from "./format.js"
import type { LatencyDistribution, PercentilePoint } from "./Report.js"

export interface PercentileChartInput {
  readonly title: string
  readonly name: string
  readonly color: string
  readonly distribution: LatencyDistribution
}

/** the axis shows at least 0% … 99% even for a handful of samples, so two charts look alike */
const minDecades = 2

/** 99.9 → 3: how many tenfold steps of 1/(1 − p) from 0%; the 100% point (the max) has none */
export const decadesOf = (percentile: number): number => -Math.log10(1 - Math.min(percentile, 100) / 100)

/** 3 → "99.9%" */
export const percentileLabel = (decade: number): string =>
  `${Number((100 * (1 - 10 ** -decade)).toFixed(Math.max(0, decade - 2)))}%`

const isCurvePoint = (point: PercentilePoint): boolean =>
  Number.isFinite(point.valueMs) && point.percentile >= 0 && point.percentile < 100

const renderXTicks = (decades: number): string =>
  Array.from({ length: decades + 1 }, (_, decade) => {
    const x = coordinate(plotLeftPx + (decade / decades) * (plotRightPx - plotLeftPx))
    return `<line class="tick-mark" x1="${x}" y1="${plotBottomPx}" x2="${x}" y2="${plotBottomPx + 4}" stroke="${axisColor}"/>` +
      `<text class="tick" x="${x}" y="${plotBottomPx + 16}" text-anchor="middle" fill="${labelColor}">${percentileLabel(decade)}</text>`
  }).join("")

const renderCurve = (input: PercentileChartInput, points: ReadonlyArray<PercentilePoint>, decades: number, maxMs: number): string => {
  const yAxis = yAxisFor([{ values: [...points.map((point) => point.valueMs), maxMs] }])
  const color = escapeHtml(input.color)
  const coordinates = points.map((point) =>
    `${coordinate(plotLeftPx + (decadesOf(point.percentile) / decades) * (plotRightPx - plotLeftPx))},${coordinate(yPixel(yAxis, point.valueMs))}`)
  const maxY = coordinate(yPixel(yAxis, maxMs))
  // The max has no place on a 1/(1 − p) axis (it is at infinity): a dashed level line stands for it.
  return renderYTicks(yAxis) + renderXTicks(decades) +
    `<line class="max" x1="${plotLeftPx}" y1="${maxY}" x2="${plotRightPx}" y2="${maxY}" stroke="${color}" stroke-dasharray="4 4" stroke-width="1"/>` +
    `<text class="max-label" x="${plotRightPx}" y="${Number(maxY) - 4}" text-anchor="end" fill="${color}">max ${formatMs(maxMs)} ms</text>` +
    `<polyline class="series" data-series="${escapeHtml(input.name)}" fill="none" stroke="${color}" stroke-width="2" ` +
    `points="${coordinates.join(" ")}"/>` + renderHoverPoints(points, coordinates, color)
}

/** 36.904266 → "36.9%", 99.9 → "99.9%", 99.99 → "99.99%": the tail keeps the digits that tell its points apart */
export const percentileText = (percentile: number): string => `${Number(percentile.toFixed(percentile < 99 ? 1 : 4))}%`

/** a dot on each point of the curve that shows its percentile and latency when the pointer rests on it, with no script */
const renderHoverPoints = (points: ReadonlyArray<PercentilePoint>, coordinates: ReadonlyArray<string>, color: string): string =>
  points.map((point, index) => {
    const [x = "0", y = "0"] = (coordinates[index] ?? "").split(",")
    return `<circle class="hover" cx="${x}" cy="${y}" r="5" fill="${color}" fill-opacity="0">` +
      `<title>${escapeHtml(`${percentileText(point.percentile)}: ${formatMs(point.valueMs)} ms`)}</title></circle>`
  }).join("")

export const renderPercentileChart = (input: PercentileChartInput): string => {
  const points = input.distribution.points.filter(isCurvePoint)
  const maxMs = input.distribution.points.reduce((largest, point) => Number.isFinite(point.valueMs) ? Math.max(largest, point.valueMs) : largest, 0)
  const lastDecades = points.reduce((largest, point) => Math.max(largest, decadesOf(point.percentile)), 0)
  // a little slack before rounding up: 99% computed in floating point is 2.0000000000000004 decades
  const decades = Math.max(minDecades, Math.ceil(lastDecades - 1e-9))
  const body = points.length > 0 ? renderCurve(input, points, decades, maxMs) : renderNoData()
  return `<svg class="chart" data-chart="distribution" xmlns="http://www.w3.org/2000/svg" ` +
    `viewBox="0 0 ${chartWidthPx} ${chartHeightPx}" width="${chartWidthPx}" height="${chartHeightPx}" role="img" ` +
    `font-family="system-ui, sans-serif" font-size="11">` +
    `<title>${escapeHtml(input.title)}</title>` +
    renderLegend([{ name: `${input.name} (n = ${input.distribution.count})`, color: input.color, values: [] }]) +
    `<line class="axis" x1="${plotLeftPx}" y1="${plotTopPx}" x2="${plotLeftPx}" y2="${plotBottomPx}" stroke="${axisColor}"/>` +
    `<line class="axis" x1="${plotLeftPx}" y1="${plotBottomPx}" x2="${plotRightPx}" y2="${plotBottomPx}" stroke="${axisColor}"/>` +
    body +
    `<text class="axis-label" x="14" y="${(plotTopPx + plotBottomPx) / 2}" text-anchor="middle" fill="${labelColor}" ` +
    `transform="rotate(-90 14 ${(plotTopPx + plotBottomPx) / 2})">ms</text>` +
    `<text class="axis-label" x="${(plotLeftPx + plotRightPx) / 2}" y="${chartHeightPx - 6}" text-anchor="middle" fill="${labelColor}">percentile (1/(1 − p) scale)</text>` +
    `</svg>`
}
