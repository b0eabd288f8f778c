/** Whether a run passed: the same rule for the HTML banner, the summary and the exit code. */
import type { InvariantResult, Report, ThresholdResult } from "./Report.js"

export const isInvariantBroken = (invariant: InvariantResult): boolean =>
  // NaN counts as broken: an auditor that could not count must not look like a clean run.
  invariant.violations !== 0

export const brokenInvariants = (report: Report): ReadonlyArray<InvariantResult> =>
  report.invariants.filter(isInvariantBroken)

export const failedThresholds = (report: Report): ReadonlyArray<ThresholdResult> =>
  report.thresholds.filter((threshold) => !threshold.passed)

export const reportPassed = (report: Report): boolean =>
  brokenInvariants(report).length === 0 && failedThresholds(report).length === 0
