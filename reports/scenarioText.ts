/** The scenario's summary worded once for the page and the terminal summary. */
import { formatCount, formatDuration } from "./format.js"
import type { ScenarioSummary } from "./Report.js"

/** each journey's share of the passengers, from the mix's weights: "app 75 %, sms 25 %" */
export const mixText = (summary: ScenarioSummary): string => {
  const totalWeight = summary.mix.reduce((sum, entry) => sum + entry.weight, 0)
  return summary.mix.map((entry) => `${entry.journey} ${formatCount(totalWeight > 0 ? (entry.weight * 100) / totalWeight : 0)} %`).join(", ")
}

/** a fault window's edge after the on-sale: "+0 s", "+45 s", "+10m 00s" */
export const afterOnSale = (ms: number): string =>
  ms < 60_000 && ms % 1_000 === 0 ? `+${ms / 1_000} s` : `+${formatDuration(ms)}`

export const serverText = (summary: ScenarioSummary): string =>
  Object.entries(summary.server).map(([knob, value]) => `${knob} ${String(value)}`).join(", ")
