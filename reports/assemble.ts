/**
 * From a run's outcome to the Report of docs/design.md. Wall-clock facts (startedAt, wall duration, code
 * version) are passed in by the caller: they are not part of the simulation.
 */
import { createHash } from "node:crypto"
import { Schema } from "effect"
import { auditSources, currentReportVersion } from "./Report.js"
import type { GateSummary, Report } from "./Report.js"
import { evaluateThresholds, ScenarioThresholds, thresholdListOf } from "./thresholds.js"
import type { Threshold } from "./thresholds.js"
import type { Scenario } from "../scenarios/Scenario.js"
import { countsOf, endpointsOf, gatesOf, latencyDistributionOf, latencyOf, salesWindowOf, throughputOf } from "./metrics.js"
import { scenarioEndMs } from "../simulator/Population.js"
import { scenarioSummaryOf } from "./scenarioSummary.js"
import type { RunOutcome } from "../simulator/Virtual.js"

/** the hash of the scenario as written (its thresholds as their expressions, not parsed) and the seed */
export const configHashOf = (scenario: Scenario, seed: number) =>
  createHash("sha256").update(JSON.stringify({
    scenario: { ...scenario, thresholds: Schema.encodeSync(ScenarioThresholds)(scenario.thresholds) }, seed
  })).digest("hex").slice(0, 16)

export const buildReport = (options: {
  scenario: Scenario
  seed: number
  mode: "virtual" | "real"
  outcome: RunOutcome
  codeVersion: string
  startedAt: string
  wallDurationMs: number
  notes: ReadonlyArray<string>
  extraThresholds?: ReadonlyArray<Threshold>
  /** the base URL of the server a real run drove without starting it (`chunyun run --target`) */
  target?: string
}): Report => {
  const { scenario, outcome } = options
  const onSaleMs = Date.parse(scenario.onSaleAt)
  const window = salesWindowOf(outcome.history, onSaleMs, outcome.endMs)
  const gates = gatesOf(outcome.history)
  const report: Report = {
    reportVersion: currentReportVersion,
    scenario: scenario.name,
    scenarioSummary: scenarioSummaryOf(scenario),
    seed: options.seed,
    mode: options.mode,
    ...(options.target === undefined ? {} : { target: options.target }),
    codeVersion: options.codeVersion,
    configHash: configHashOf(scenario, options.seed),
    traceHash: outcome.history.traceHash(),
    startedAt: options.startedAt,
    virtualDurationMs: outcome.endMs - outcome.startMs,
    wallDurationMs: Math.round(options.wallDurationMs),
    counts: { ...countsOf(outcome.history, scenario.passengers.count), arrivalsCut: outcome.arrivalsCut },
    endpoints: endpointsOf(outcome.history),
    latency: latencyOf(outcome.history),
    latencyDistribution: latencyDistributionOf(outcome.history),
    throughput: throughputOf(outcome.history, window.fromMs, window.toMs, scenarioEndMs(scenario)),
    invariants: outcome.invariants,
    auditSources: auditSources.filter((source) => outcome.invariants.some((invariant) => (invariant.source ?? "store") === source)),
    ...(gates ? { gates } : {}),
    thresholds: [],
    notes: [
      `QR codes were rendered to pixels and decoded by the gate for a ${Math.round(scenario.checkin.qrPixelSampleRate * 100)}% sample of admissions; the rest presented the QR text (same signature checks).`,
      // a --target server hashes at the cost it was served with, which the harness does not know
      ...(options.target === undefined ? [`Password hashing ran at scrypt N=${scenario.server.passwordHashCostN} (Node's default is 16384).`] : []),
      `The charts cover the sales window, ${Math.round((window.toMs - window.fromMs) / 1000)} s from the on-sale; gate admissions after it are in the counts and the check-in latency, not in the charts.`,
      ...(gates ? [gatesNote(gates)] : []),
      ...(scenario.endAt === undefined ? [] : [`Arrivals end at the scenario's endAt (${scenario.endAt}): ${outcome.arrivalsCut} passengers due at or after it did not come (counts.arrivalsCut).`]),
      ...options.notes
    ]
  }
  return { ...report, thresholds: evaluateThresholds(report, [...thresholdListOf(scenario.thresholds), ...(options.extraThresholds ?? [])]) }
}

const gatesNote = (gates: GateSummary) =>
  `Gates: ${gates.admittedOnline} admitted online, ${gates.admittedOffline} offline (synced in ${gates.syncBatches} batches), ` +
  `${gates.admittedByCarrier} read from SIM carriers, ${gates.glareRetries} glare retries. ` +
  (gates.qrUnreadable ? `${gates.qrUnreadable} captures of an app phone's code were unreadable (glare, blur); the phones enlarged ` +
    `their code ${gates.qrEnlarged ?? 0} times; ${gates.admittedEnlarged ?? 0} were admitted from an enlarged code and ` +
    `${gates.unreadableGaveUp ?? 0} gave up unread. ` : "") +
  `Offline gates found ${gates.doublesFound} ` +
  `double admissions at sync: counted and reported here, not hidden; invariant 5 fails only for a ticket admitted twice online ` +
  `or an offline double the server did not count.`
