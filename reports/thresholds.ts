/**
 * Thresholds as a user writes them: `metric.stat op number`, e.g. `payment_to_issuance.p99 < 500`,
 * `invariants.violations == 0`. Parsed once; an unknown metric or a malformed expression is an error
 * naming the expression, not a silent pass.
 */
import type { Report, ThresholdResult } from "./Report.js"

const pattern = /^\s*([a-z_]+)\.([a-z0-9_]+)\s*(<=|>=|==|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/

const latencyMetrics = { payment_to_issuance: "paymentToIssuance", hold: "hold", checkin: "checkin" } as const

const actualOf = (report: Report, metric: string, stat: string): number | undefined => {
  if (metric === "invariants" && stat === "violations") return report.invariants.reduce((sum, item) => sum + item.violations, 0)
  if (metric === "throughput" && stat === "issued_per_second") return report.throughput.issuedPerSecond
  // own properties only: `constructor.p99` or `hold.__proto__` must be unknown metrics, not inherited members
  if (!Object.hasOwn(latencyMetrics, metric)) return undefined
  const summary: Record<string, number> = report.latency[latencyMetrics[metric as keyof typeof latencyMetrics]]
  return Object.hasOwn(summary, stat) ? summary[stat] : undefined
}

export const parseThreshold = (expression: string) => {
  const match = pattern.exec(expression)
  if (!match) return { ok: false as const, error: `threshold "${expression}": expected "metric.stat <op> number", e.g. "payment_to_issuance.p99 < 500"` }
  const [, metric, stat, operator, value] = match
  return { ok: true as const, metric: metric!, stat: stat!, operator: operator!, value: Number(value) }
}

export const evaluateThresholds = (report: Report, expressions: ReadonlyArray<string>): Array<ThresholdResult> =>
  expressions.map((expression) => {
    const parsed = parseThreshold(expression)
    if (!parsed.ok) throw new Error(parsed.error)
    const actual = actualOf(report, parsed.metric, parsed.stat)
    if (actual === undefined) throw new Error(`threshold "${expression}": unknown metric ${parsed.metric}.${parsed.stat}`)
    const passed = parsed.operator === "<" ? actual < parsed.value
      : parsed.operator === "<=" ? actual <= parsed.value
      : parsed.operator === ">" ? actual > parsed.value
      : parsed.operator === ">=" ? actual >= parsed.value
      : actual === parsed.value
    return { expression, passed, actual }
  })
