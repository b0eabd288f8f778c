/**
 * Where a virtual run's memory goes, one run per process: peak RSS, the peak of the JS heap sampled while the run goes,
 * and once the run is over (its outcome still held, a full GC forced) the JS heap, memory outside it (external, array
 * buffers) and the SQLite store's size (page count × page size).
 * Run with `node --expose-gc --import tsx bench/memoryProbe.ts <scenario> <passengers> [seed] [heap-snapshot-file]`;
 * `node bench/heapSummary.mjs <file>` lists a snapshot's objects by constructor. Environment:
 * - CHUNYUN_PROBE_GC=1: a full GC before each sample, so the sampled peak is of live objects, not of garbage the
 *   heap had not collected yet (a GC a sample costs wall time: sample less often then);
 * - CHUNYUN_PROBE_SAMPLE_MS: the sampling interval (default 200);
 * - CHUNYUN_PROBE_SNAPSHOT_AT_VIRTUAL_MS: with a snapshot file, a second snapshot (`<file>.mid`) at the first progress
 *   report that many virtual ms after the run's first report;
 * - CHUNYUN_PROBE_STOP_AT_VIRTUAL_MS: at the first progress report that many virtual ms into the run, a full GC, the
 *   heap and peak RSS printed, and the process ends (what the passengers not arrived yet cost, before the rush).
 * - CHUNYUN_PROBE_STORE=memory or temporary: the store in memory (":memory:") or in SQLite's temporary database, instead
 *   of the one virtual mode picks for that many passengers (`virtualStoreOf`).
 * Prints one JSON line.
 */
import { writeHeapSnapshot, getHeapStatistics } from "node:v8"
import { Context, Effect, Layer } from "effect"
import { loadScenario } from "../cli/scenarioFile.js"
import { SqliteDatabase, sqliteStore, temporaryDatabase } from "../reference/Store/Sqlite.js"
import type { SqliteDatabaseService } from "../reference/Store/Sqlite.js"
import type { RunProgress } from "../simulator/Progress.js"
import { virtualRun, virtualStoreOf } from "../simulator/Virtual.js"

/** how often the probe samples the heap while the run goes (CHUNYUN_PROBE_SAMPLE_MS) */
const heapSampleIntervalMs = Number(process.env["CHUNYUN_PROBE_SAMPLE_MS"] ?? "200")

const [file, passengersText, seedText, snapshotFile] = process.argv.slice(2)
const loaded = await loadScenario(file!)
const passengers = Number(passengersText)
const scenario = { ...loaded, passengers: { ...loaded.passengers, count: passengers } }
/** a full GC (the probe runs with --expose-gc; without it, nothing) */
const collectGarbage = () => (globalThis as { gc?: () => void }).gc?.()
let database: SqliteDatabaseService | undefined
const storeChoice = process.env["CHUNYUN_PROBE_STORE"]
const chosenStore = storeChoice === "memory" ? sqliteStore({ filename: ":memory:" })
  : storeChoice === "temporary" ? sqliteStore({ filename: temporaryDatabase }) : virtualStoreOf(passengers)
const store = chosenStore.pipe(Layer.tap((context) => Effect.sync(() => { database = Context.get(context, SqliteDatabase) })))
let peakHeapUsedBytes = 0
let peakExternalBytes = 0
/** where the run was at the last progress report (the audit after the clock's run reports none) */
let latest = { virtualMs: 0, arrived: 0, finished: 0, atWallMs: 0 }
let peakAt: typeof latest & { readonly wallMsSinceProgress?: number } = latest
let runStartMs: number | undefined
const midSnapshotAtVirtualMs = Number(process.env["CHUNYUN_PROBE_SNAPSHOT_AT_VIRTUAL_MS"] ?? "0")
let midSnapshotTaken = false
const stopAtVirtualMs = Number(process.env["CHUNYUN_PROBE_STOP_AT_VIRTUAL_MS"] ?? "0")
const onProgress = (progress: RunProgress) => {
  runStartMs ??= progress.nowMs
  if (stopAtVirtualMs > 0 && progress.nowMs - runStartMs >= stopAtVirtualMs) {
    collectGarbage()
    console.log(JSON.stringify({
      passengers, stoppedAtVirtualMs: progress.nowMs - runStartMs, arrived: progress.passengers.arrived, finished: progress.passengers.finished,
      heapUsedAfterGcMB: +(process.memoryUsage().heapUsed / 1_048_576).toFixed(1), maxRssMB: Math.round(process.resourceUsage().maxRSS / 1_024)
    }))
    process.exit(0)
  }
  if (snapshotFile && midSnapshotAtVirtualMs > 0 && !midSnapshotTaken && progress.nowMs - runStartMs >= midSnapshotAtVirtualMs) {
    midSnapshotTaken = true
    writeHeapSnapshot(`${snapshotFile}.mid`)
  }
  latest = { virtualMs: progress.nowMs - runStartMs, arrived: progress.passengers.arrived, finished: progress.passengers.finished, atWallMs: performance.now() }
}
const collectBeforeSample = process.env["CHUNYUN_PROBE_GC"] === "1"
const sampler = setInterval(() => {
  if (collectBeforeSample) collectGarbage()
  const usage = process.memoryUsage()
  // long after the last progress report: the audit, once the clock's run is over
  if (usage.heapUsed > peakHeapUsedBytes) peakAt = { ...latest, wallMsSinceProgress: Math.round(performance.now() - latest.atWallMs) }
  peakHeapUsedBytes = Math.max(peakHeapUsedBytes, usage.heapUsed)
  peakExternalBytes = Math.max(peakExternalBytes, usage.external)
}, heapSampleIntervalMs)
const wallStartMs = performance.now()
const report = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
  const outcome = yield* virtualRun(scenario, Number(seedText ?? "7"), onProgress, {}, store)
  const wallMs = performance.now() - wallStartMs
  clearInterval(sampler)
  const pageCount = Number((database!.connection.prepare("PRAGMA page_count").get() as { page_count: number }).page_count)
  const pageSize = Number((database!.connection.prepare("PRAGMA page_size").get() as { page_size: number }).page_size)
  // the store's bytes by table and index (SQLite's dbstat table), largest first
  const sqliteTablesKB = Object.fromEntries((database!.connection.prepare(
    "SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC LIMIT 8"
  ).all() as Array<{ name: string; bytes: number }>).map((row) => [row.name, Math.round(row.bytes / 1_024)]))
  collectGarbage()
  const usage = process.memoryUsage()
  if (snapshotFile) writeHeapSnapshot(snapshotFile)
  return {
    passengers, wallMs: Math.round(wallMs), events: outcome.history.size, traceHash: outcome.history.traceHash().slice(0, 8),
    maxRssMB: Math.round(process.resourceUsage().maxRSS / 1_024),
    rssAtEndMB: Math.round(usage.rss / 1_048_576),
    heapUsedAfterGcMB: +(usage.heapUsed / 1_048_576).toFixed(1),
    peakHeapUsedMB: +(peakHeapUsedBytes / 1_048_576).toFixed(1),
    peakAt,
    externalMB: +(usage.external / 1_048_576).toFixed(1),
    peakExternalMB: +(peakExternalBytes / 1_048_576).toFixed(1),
    arrayBuffersMB: +(usage.arrayBuffers / 1_048_576).toFixed(1),
    sqliteMB: +((pageCount * pageSize) / 1_048_576).toFixed(1),
    sqliteTablesKB,
    mallocedMB: +(getHeapStatistics().malloced_memory / 1_048_576).toFixed(1)
  }
})))
console.log(JSON.stringify(report))
process.exit(0)
