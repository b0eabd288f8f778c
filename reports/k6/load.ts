/**
 * A scenario's load as k6 scenarios: one per journey kind of its mix, each running the scenario's executor
 * (simulator/Executors.ts, or the arrival curve as a `ramping-arrival-rate`) at the kind's share of its rates and
 * VUs, so the kinds together start what the one executor starts in `chunyun run`, mixed by the same weights.
 *
 * Scenario time is divided by the time scale (durations, a rate's time unit) as `run --mode real --time-scale`
 * does. A k6 rate is an integer per time unit, so each kind's rates are written per second, per minute or per
 * hour of wall time, whichever keeps them whole (per hour, rounded, when none does).
 */
import type { JourneyKind, Scenario } from "../../scenarios/Scenario.js"
import type { ArrivalRateExecutor, Executor } from "../../simulator/Executors.js"
import { executorDurationMs, isArrivalRate, maxExecutorVus } from "../../simulator/Executors.js"
import { journeyKindsOf } from "../../simulator/Journeys.js"
import { scenarioEndMs } from "../../simulator/Population.js"

/** stages approximating the exponential arrival curve: how many, over how many mean delays */
export const arrivalCurveStages = 10
export const arrivalCurveMeans = 5
/** k6's own default: how long a journey still running when its executor ends may take to finish, past what it needs */
export const k6GracefulStopMarginMs = 30_000
/** the VUs of an arrival curve ready at the start (k6 starts more, up to maxVUs, as it needs them) */
export const maxPreAllocatedVusOfCurve = 100

/** each journey kind's exported function and k6 scenario name: a JavaScript identifier */
export const journeyFunctionNames: { readonly [Kind in JourneyKind]-?: string } = {
  app: "app", "app-gateway": "appGateway", cinema: "cinema", fan: "fan", sms: "sms", carrier: "carrier",
  kiosk: "kiosk", "app-pickup": "appPickup", "remote-card": "remoteCard"
}

/**
 * Journeys whose passenger goes on after the purchase (to a gate, a kiosk): the harness frees the passenger's slot
 * when the purchase ends, k6 frees a VU only when its iteration ends.
 */
const journeysWaitingAfterPurchase: ReadonlySet<JourneyKind> = new Set(["app", "app-gateway", "cinema", "carrier", "app-pickup", "remote-card"])

/** a k6 duration: whole seconds as "90s", anything else in ms */
export const k6Duration = (valueMs: number) => {
  const rounded = Math.max(0, Math.round(valueMs))
  return rounded % 1_000 === 0 ? `${rounded / 1_000}s` : `${rounded}ms`
}
const ms = k6Duration
const wallUnits = [{ unit: "1s", ms: 1_000 }, { unit: "1m", ms: 60_000 }, { unit: "1h", ms: 3_600_000 }] as const
const isWhole = (value: number) => Math.abs(value - Math.round(value)) < 1e-9

/** how far a rate may move when it is rounded to a whole number per time unit (a share of it) */
export const maxRateRoundingShare = 0.01

const closeEnough = (rate: number) => isWhole(rate) || (Math.round(rate) > 0 && Math.abs(Math.round(rate) - rate) <= maxRateRoundingShare * rate)

/**
 * Rates per wall ms as whole numbers per one wall time unit: the shortest unit where each rounds by at most
 * `maxRateRoundingShare` (per hour, rounded, when none does).
 */
const ratesPerWallUnit = (perWallMs: ReadonlyArray<number>) => {
  for (const { unit, ms: unitMs } of wallUnits) {
    const perUnit = perWallMs.map((rate) => rate * unitMs)
    if (perUnit.every(closeEnough)) return { rates: perUnit.map(Math.round), timeUnit: unit }
  }
  return { rates: perWallMs.map((rate) => Math.round(rate * 3_600_000)), timeUnit: "1h" }
}

/** A constant rate per wall second, as k6 writes it: a whole number per second, minute or hour (at least 1). */
const rateOf = (ratePerWallSecond: number) => {
  const { rates, timeUnit } = ratesPerWallUnit([ratePerWallSecond / 1_000])
  return { rate: Math.max(1, rates[0]!), timeUnit }
}

const vusOf = (vus: number, share: number) => vus === 0 ? 0 : Math.max(1, Math.ceil(vus * share))

/**
 * The k6 scenario of an executor at `share` of its rates and VUs (VUs rounded up: a kind keeps at least one), its
 * durations divided by `timeScale` and its rates multiplied. `extraVus` widens an open model's VU pool.
 */
export const k6ScenarioOf = (executor: Executor, timeScale: number, share = 1, extraVus = 0): Record<string, unknown> => {
  const durations = (list: ReadonlyArray<{ durationMs: number }>) => list.map((stage) => ms(stage.durationMs / timeScale))
  const pool = (arrivals: ArrivalRateExecutor) => {
    const preAllocatedVUs = vusOf(arrivals.preAllocatedVus, share)
    return { preAllocatedVUs, maxVUs: Math.min(maxExecutorVus, Math.max(preAllocatedVUs, vusOf(arrivals.maxVus ?? arrivals.preAllocatedVus, share) + extraVus)) }
  }
  switch (executor.executor) {
    case "constant-arrival-rate":
      return { executor: executor.executor, ...rateOf(executor.ratePerSecond * timeScale * share), duration: ms(executor.durationMs / timeScale), ...pool(executor) }
    case "ramping-arrival-rate": {
      const perScenarioUnit = [executor.startRate, ...executor.stages.map((stage) => stage.target)]
      const { rates, timeUnit } = ratesPerWallUnit(perScenarioUnit.map((rate) => (rate * share * timeScale) / executor.timeUnitMs))
      const stageDurations = durations(executor.stages)
      return {
        executor: executor.executor, startRate: rates[0], timeUnit,
        stages: stageDurations.map((duration, index) => ({ duration, target: rates[index + 1] })), ...pool(executor)
      }
    }
    case "constant-vus":
      return { executor: executor.executor, vus: vusOf(executor.vus, share), duration: ms(executor.durationMs / timeScale) }
    case "ramping-vus": {
      const stageDurations = durations(executor.stages)
      return {
        executor: executor.executor, startVUs: vusOf(executor.startVus, share),
        stages: stageDurations.map((duration, index) => ({ duration, target: vusOf(executor.stages[index]!.target, share) }))
      }
    }
  }
}

/** The exponential arrivals of a scenario without `load`, as a ramping arrival rate (iterations per minute). */
const exponentialCurveExecutor = (scenario: Scenario): Executor => {
  const meanMs = scenario.passengers.meanArrivalDelayMs
  const stageMs = Math.max(1, Math.round((arrivalCurveMeans * meanMs) / arrivalCurveStages))
  // rate(t) = count / mean · e^(−t/mean), per minute
  const perMinuteAt = (tMs: number) => (scenario.passengers.count / meanMs) * Math.exp(-tMs / meanMs) * 60_000
  return {
    executor: "ramping-arrival-rate", startRate: perMinuteAt(0), timeUnitMs: 60_000,
    stages: Array.from({ length: arrivalCurveStages }, (_, index) => ({ durationMs: stageMs, target: perMinuteAt((index + 1) * stageMs) })),
    preAllocatedVus: Math.min(scenario.real.maxPassengersInFlight, maxPreAllocatedVusOfCurve), maxVus: scenario.real.maxPassengersInFlight
  }
}

/** A linear arrival ramp (`passengers.arrivalRamp`): nobody until its start, then a rate rising from 0 to twice the mean at its end. */
const rampExecutor = (scenario: Scenario, ramp: { readonly startAfterOnSaleMs: number; readonly endAfterOnSaleMs: number }): Executor => {
  const rampMs = ramp.endAfterOnSaleMs - ramp.startAfterOnSaleMs
  const peakPerMinute = ((2 * scenario.passengers.count) / rampMs) * 60_000
  return {
    executor: "ramping-arrival-rate", startRate: 0, timeUnitMs: 60_000,
    stages: [...(ramp.startAfterOnSaleMs > 0 ? [{ durationMs: ramp.startAfterOnSaleMs, target: 0 }] : []), { durationMs: rampMs, target: peakPerMinute }],
    preAllocatedVus: Math.min(scenario.real.maxPassengersInFlight, maxPreAllocatedVusOfCurve), maxVus: scenario.real.maxPassengersInFlight
  }
}

/**
 * How the scenario's passengers start: its `load` executor, else its arrival curve (the ramp, or the exponential
 * delays after the on-sale). A curve's rates may be fractional: `k6ScenarioOf` writes them whole.
 */
export const arrivalCurveExecutor = (scenario: Scenario): Executor => {
  const ramp = scenario.passengers.arrivalRamp
  return ramp === undefined ? exponentialCurveExecutor(scenario) : rampExecutor(scenario, ramp)
}

export const scenarioExecutor = (scenario: Scenario): Executor => scenario.load ?? arrivalCurveExecutor(scenario)

/** Iterations an arrival-rate executor starts: the integral of its rate. */
const iterationsOf = (executor: ArrivalRateExecutor) => {
  if (executor.executor === "constant-arrival-rate") return (executor.ratePerSecond * executor.durationMs) / 1_000
  let rate = executor.startRate
  let total = 0
  for (const stage of executor.stages) {
    total += (((rate + stage.target) / 2) * stage.durationMs) / executor.timeUnitMs
    rate = stage.target
  }
  return total
}

/** Each kind's weight over the mix's total. */
export const journeySharesOf = (scenario: Scenario): ReadonlyArray<readonly [JourneyKind, number]> => {
  const kinds = journeyKindsOf(scenario)
  const total = kinds.reduce((sum, kind) => sum + (scenario.passengers.mix[kind] ?? 0), 0)
  return kinds.map((kind) => [kind, (scenario.passengers.mix[kind] ?? 0) / total] as const)
}

/**
 * The k6 scenario of each journey kind: the executor at the kind's share, its function (`exec`), the tag `journey`,
 * and a graceful stop long enough for a passenger started last to reach the scenario's end (its train's gate).
 */
export const k6JourneyScenariosOf = (scenario: Scenario, timeScale: number): Record<string, Record<string, unknown>> => {
  const executor = scenarioExecutor(scenario)
  const afterExecutorMs = Math.max(0, scenarioEndMs(scenario) - Date.parse(scenario.onSaleAt) - executorDurationMs(executor))
  const gracefulStop = ms(afterExecutorMs / timeScale + k6GracefulStopMarginMs)
  const scenarios: Record<string, Record<string, unknown>> = {}
  for (const [kind, share] of journeySharesOf(scenario)) {
    const waiting = journeysWaitingAfterPurchase.has(kind) && isArrivalRate(executor) ? Math.ceil(iterationsOf(executor) * share) : 0
    scenarios[kind] = {
      ...k6ScenarioOf(executor, timeScale, share, waiting),
      ...(executor.executor === "ramping-vus" ? { gracefulRampDown: gracefulStop } : {}),
      gracefulStop, exec: journeyFunctionNames[kind], tags: { journey: kind }
    }
  }
  return scenarios
}
