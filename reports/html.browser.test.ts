/**
 * The HTML report of a real (small, virtual) run, opened in headless Chromium: the charts must be laid
 * out and painted, the page must fetch nothing, and a full-page screenshot lands in
 * out/report-browser/report.png for a person to look at. Chromium comes from scripts/chromium.mjs,
 * which installs it when missing; without one this test fails and says why.
 */
import assert from "node:assert/strict"
import { writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { test } from "node:test"
import { fileURLToPath, pathToFileURL } from "node:url"
import { createCanvas, loadImage } from "@napi-rs/canvas"
import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import { buildReport } from "./assemble.js"
import { smallScenario } from "../simulator/testing/smallScenario.js"
import { runVirtual } from "../simulator/Virtual.js"
import { chartHeightPx, chartWidthPx, plotBottomPx, plotLeftPx, plotRightPx, plotTopPx } from "./chart.js"
import { formatClock, formatCount } from "./format.js"
import type { Report } from "./Report.js"
import type { Browser } from "./testing/HeadlessChromium.js"
import { chromiumPath, launchChromium } from "./testing/HeadlessChromium.js"
import { writeReport } from "./write.js"

const projectDirectory = dirname(dirname(fileURLToPath(import.meta.url)))
const outDirectory = join(projectDirectory, "out", "report-browser")
const seed = 7
const viewport = { width: 1024, height: 768 }
/** a pixel whose channels differ this much is a series colour: the greys of text, axes and grid differ by 19 at most, a line at 0 blended over the x axis by 38 */
const colouredSpread = 30
/** share of a plot's columns a drawn line must cross (seed 7 measures 90–100%; with its lines unpainted 0%, the dashed max alone 55%) */
const minColumnsWithLine = 0.75

interface ChartBox {
  readonly kind: string
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
  readonly lines: ReadonlyArray<{ readonly name: string; readonly points: number; readonly lengthPx: number }>
}

interface PageFacts {
  readonly width: number
  readonly height: number
  readonly heading: string
  readonly seedText: string
  readonly invariantRows: number
  /** each row of the endpoints by journey: its endpoint, journey, requests as shown, and whether it is laid out */
  readonly journeyRows: ReadonlyArray<{ readonly endpoint: string; readonly journey: string; readonly requests: string; readonly shown: boolean }>
  readonly journeysOpen: boolean
  readonly charts: ReadonlyArray<ChartBox>
}

// Runs in the page: layout boxes and drawn lengths come from the browser's own SVG engine.
const pageFactsExpression = `(() => ({
  width: document.documentElement.scrollWidth,
  height: document.documentElement.scrollHeight,
  heading: document.querySelector("h1")?.textContent ?? "",
  seedText: [...document.querySelectorAll("tr")].find((row) => row.cells[0]?.textContent === "seed")?.cells[1]?.textContent ?? "",
  invariantRows: document.querySelectorAll("tr[data-invariant]").length,
  journeyRows: [...document.querySelectorAll("tr[data-journey]")].map((row) => ({
    endpoint: row.dataset.endpoint, journey: row.dataset.journey,
    // requests, errors, rate, p50, p90, p99, max, errors by tag: the last eight cells, the endpoint's own cell or not
    requests: row.cells[row.cells.length - 8]?.textContent ?? "", shown: row.checkVisibility()
  })),
  journeysOpen: document.querySelector("details.journeys")?.open ?? false,
  charts: [...document.querySelectorAll("svg.chart")].map((svg) => {
    const box = svg.getBoundingClientRect()
    return {
      kind: svg.dataset.chart, x: box.left + scrollX, y: box.top + scrollY, width: box.width, height: box.height,
      lines: [...svg.querySelectorAll("polyline")].map((line) => ({
        name: line.dataset.series, points: line.points.numberOfItems, lengthPx: line.getTotalLength()
      }))
    }
  })
}))()`

const smallRunReport = async (): Promise<Report> => {
  const outcome = await runVirtual(smallScenario, seed)
  return buildReport({
    scenario: smallScenario, seed, mode: "virtual", outcome, codeVersion: "test", startedAt: "2026-01-20T00:00:00.000Z",
    wallDurationMs: 0, notes: []
  })
}

/** Opens the page in a fresh tab, recording every URL it requests, and waits for its load event. */
const openPage = async (browser: Browser, url: string) => {
  const targets = await browser.send("Target.getTargets")
  const page = (targets.targetInfos as Array<{ targetId: string; type: string }>).find((target) => target.type === "page")
  assert.ok(page, "Chromium opened no page")
  const { sessionId } = await browser.send("Target.attachToTarget", { targetId: page.targetId, flatten: true }) as { sessionId: string }
  const requestedUrls: Array<string> = []
  browser.on("Network.requestWillBeSent", (params, from) => {
    if (from === sessionId) requestedUrls.push(String((params.request as { url: string }).url))
  })
  const loaded = new Promise<void>((resolve) => browser.on("Page.loadEventFired", (_, from) => { if (from === sessionId) resolve() }))
  await browser.send("Network.enable", {}, sessionId)
  await browser.send("Page.enable", {}, sessionId)
  await browser.send("Emulation.setDeviceMetricsOverride", { ...viewport, deviceScaleFactor: 1, mobile: false }, sessionId)
  await browser.send("Page.navigate", { url }, sessionId)
  await loaded
  return { sessionId, requestedUrls }
}

const pageFacts = async (browser: Browser, sessionId: string): Promise<PageFacts> => {
  const evaluated = await browser.send("Runtime.evaluate", { expression: pageFactsExpression, returnByValue: true }, sessionId)
  assert.equal(evaluated.exceptionDetails, undefined, JSON.stringify(evaluated.exceptionDetails))
  return (evaluated.result as { value: PageFacts }).value
}

// Runs in the page: what the pointer would rest on at the middle of the throughput chart's first two buckets, and the
// tooltip it would show (the `<title>` of that element), so the hover columns are on top of everything else drawn.
const hoverTextsExpression = `(() => {
  const chart = document.querySelector('svg.chart[data-chart="throughput"]')
  chart.scrollIntoView()
  return [...chart.querySelectorAll("rect.hover")].slice(0, 2).map((column) => {
    const box = column.getBoundingClientRect()
    const found = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2)
    return found?.querySelector(":scope > title")?.textContent ?? "(no tooltip on " + (found?.tagName ?? "nothing") + ")"
  })
})()`

const hoverTexts = async (browser: Browser, sessionId: string): Promise<Array<string>> => {
  const evaluated = await browser.send("Runtime.evaluate", { expression: hoverTextsExpression, returnByValue: true }, sessionId)
  assert.equal(evaluated.exceptionDetails, undefined, JSON.stringify(evaluated.exceptionDetails))
  return (evaluated.result as { value: Array<string> }).value
}

const fullPageScreenshot = async (browser: Browser, sessionId: string, facts: PageFacts): Promise<Buffer> => {
  const shot = await browser.send("Page.captureScreenshot", {
    format: "png", captureBeyondViewport: true, clip: { x: 0, y: 0, width: facts.width, height: facts.height, scale: 1 }
  }, sessionId)
  return Buffer.from(String(shot.data), "base64")
}

/** Share of the plot's pixel columns in which some pixel has a series colour, read off the screenshot. */
const columnsWithLine = (pixels: ImageData, chart: ChartBox): number => {
  const scale = chart.width / chartWidthPx
  const left = Math.round(chart.x + plotLeftPx * scale)
  const right = Math.round(chart.x + plotRightPx * scale)
  // one pixel past the baseline: a line of zeros is drawn over the x axis
  const rows = { top: Math.round(chart.y + plotTopPx * scale), bottom: Math.round(chart.y + (plotBottomPx + 1) * scale) }
  let covered = 0
  for (let x = left; x < right; x++) {
    for (let y = rows.top; y <= rows.bottom; y++) {
      const offset = (y * pixels.width + x) * 4
      const channels = [pixels.data[offset] ?? 0, pixels.data[offset + 1] ?? 0, pixels.data[offset + 2] ?? 0]
      if (Math.max(...channels) - Math.min(...channels) > colouredSpread) { covered++; break }
    }
  }
  return covered / (right - left)
}

const decodePng = async (png: Buffer): Promise<ImageData> => {
  const image = await loadImage(png)
  const canvas = createCanvas(image.width, image.height)
  const context = canvas.getContext("2d")
  context.drawImage(image, 0, 0)
  return context.getImageData(0, 0, image.width, image.height) as unknown as ImageData
}

/** A series drawn in pieces (the log axis leaves a gap where a bucket has no sample) counted as one line. */
const seriesOf = (chart: ChartBox): Array<ChartBox["lines"][number]> => {
  const byName = new Map<string, { name: string; points: number; lengthPx: number }>()
  for (const line of chart.lines) {
    const series = byName.get(line.name) ?? { name: line.name, points: 0, lengthPx: 0 }
    byName.set(line.name, { name: line.name, points: series.points + line.points, lengthPx: series.lengthPx + line.lengthPx })
  }
  return [...byName.values()]
}

const assertLaidOut = (facts: PageFacts, report: Report) => {
  assert.deepEqual(facts.charts.map((chart) => chart.kind), ["throughput", "requests", "in-flight", "errors", "latency", "distribution"])
  for (const chart of facts.charts) {
    assert.ok(Math.abs(chart.width - chartWidthPx) < 1 && Math.abs(chart.height - chartHeightPx) < 1, `${chart.kind} is ${chart.width}×${chart.height}`)
    assert.ok(chart.lines.length > 0, `${chart.kind} has no line`)
    for (const line of seriesOf(chart)) assert.ok(line.points > 1 && line.lengthPx > 100, `${chart.kind} ${line.name}: ${line.points} points, ${line.lengthPx} px`)
  }
  assert.equal(facts.charts[0]?.lines[0]?.points, report.throughput.series.length)
  assert.equal(facts.charts[5]?.lines[0]?.points, (report.latencyDistribution?.paymentToIssuance.points.length ?? 0) - 1)
  assert.match(facts.heading, /spring-festival-small/)
  assert.equal(facts.seedText, String(seed))
  assert.equal(facts.invariantRows, report.invariants.length)
  // a run of one journey (the app's): its rows per journey are there, in a section left closed
  assert.deepEqual(facts.journeyRows.map(({ endpoint, journey, requests }) => ({ endpoint, journey, requests })),
    (report.endpoints ?? []).flatMap((endpoint) => (endpoint.journeys ?? []).map((journey) =>
      ({ endpoint: endpoint.endpoint, journey: journey.journey, requests: formatCount(journey.requests) }))))
  assert.ok(facts.journeyRows.some((row) => row.journey === "app"), "no row of the app journey")
  assert.equal(facts.journeysOpen, false)
  assert.ok(facts.journeyRows.every((row) => !row.shown), "a closed section lays out no row")
}

test("the report of a small run opens offline in headless Chromium with its six charts painted and their tooltips on top", async () => {
  const executable = chromiumPath()
  const report = await smallRunReport()
  const { htmlPath } = await Effect.runPromise(writeReport(outDirectory, report).pipe(Effect.provide(NodeContext.layer)))
  const browser = launchChromium(executable)
  try {
    const { sessionId, requestedUrls } = await openPage(browser, pathToFileURL(htmlPath).href)
    const facts = await pageFacts(browser, sessionId)
    const png = await fullPageScreenshot(browser, sessionId, facts)
    const screenshotPath = join(outDirectory, "report.png")
    writeFileSync(screenshotPath, png)
    console.log(`screenshot: ${screenshotPath} (${facts.width}×${facts.height})`)
    assert.deepEqual(requestedUrls, [pathToFileURL(htmlPath).href], "the page fetched something besides itself")
    assertLaidOut(facts, report)
    const pixels = await decodePng(png)
    assert.equal(pixels.height, facts.height)
    const shares = facts.charts.map((chart) => ({ kind: chart.kind, share: columnsWithLine(pixels, chart) }))
    console.log(`plot columns a line crosses: ${shares.map(({ kind, share }) => `${kind} ${(share * 100).toFixed(0)}%`).join(", ")}`)
    // the latency chart's log axis leaves a gap where a bucket issued no ticket: only the other buckets have a line
    const series = report.throughput.series
    const withSample = series.filter((point) => point.paymentToIssuanceP99Ms > 0).length / Math.max(1, series.length)
    for (const { kind, share } of shares) {
      const expected = minColumnsWithLine * (kind === "latency" ? withSample : 1)
      assert.ok(share >= expected, `${kind}: a line crosses ${(share * 100).toFixed(0)}% of the plot's columns, expected ${(expected * 100).toFixed(0)}%`)
    }
    assert.deepEqual(await hoverTexts(browser, sessionId), report.throughput.series.slice(0, 2).map((point) =>
      `${formatClock(point.tMs)}–${formatClock(point.tMs + report.throughput.bucketMs)}\nheld: ${point.held}\npaid: ${point.paid}\nissued: ${point.issued}`))
  } finally {
    await browser.close()
  }
})
