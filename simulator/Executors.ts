/**
 * Executors, as in k6: how iterations (passengers) are started. Two open models, where iterations start at
 * their intended times whatever the server does (`constant-arrival-rate`, `ramping-arrival-rate`; an
 * iteration that finds every VU busy is dropped and counted, k6's `dropped_iterations`), and two closed
 * models, where a fixed or ramping number of virtual users each start the next iteration when the last one
 * ends (`constant-vus`, `ramping-vus`).
 *
 * Schedules are pure functions of the executor: k6's arrival-rate executors are deterministic (iteration n
 * starts when the integral of the rate reaches n), so no draw from `Random` is needed and both modes start
 * the same iteration at the same offset. Intended start times come from a generator, so a long run at a high
 * rate never holds its whole schedule in memory.
 */
import { Schema } from "effect"

const PositiveInt = (max: number) => Schema.Int.pipe(Schema.between(1, max))
const NonNegativeInt = (max: number) => Schema.Int.pipe(Schema.between(0, max))
/** longest executor stage or duration: a day */
export const maxExecutorDurationMs = 86_400_000
/** most VUs one executor may run */
export const maxExecutorVus = 100_000
/** highest arrival rate, in iterations per second */
export const maxArrivalRatePerSecond = 1_000_000

const DurationMs = PositiveInt(maxExecutorDurationMs)

/** A ramp: over `durationMs`, move linearly from the previous target to `target` (iterations per time unit, or VUs). */
export const Stage = Schema.Struct({ durationMs: NonNegativeInt(maxExecutorDurationMs), target: NonNegativeInt(maxArrivalRatePerSecond) })
export type Stage = typeof Stage.Type

const vuLimits = (executor: { readonly preAllocatedVus: number; readonly maxVus?: number | undefined }) =>
  executor.maxVus === undefined || executor.maxVus >= executor.preAllocatedVus || "maxVus must not be below preAllocatedVus"

export const ConstantArrivalRate = Schema.Struct({
  executor: Schema.Literal("constant-arrival-rate"),
  ratePerSecond: Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(maxArrivalRatePerSecond)),
  durationMs: DurationMs,
  /** VUs ready at the start; the pool grows up to `maxVus` (default: `preAllocatedVus`) */
  preAllocatedVus: PositiveInt(maxExecutorVus),
  maxVus: Schema.optional(PositiveInt(maxExecutorVus))
}).pipe(Schema.filter(vuLimits))

export const RampingArrivalRate = Schema.Struct({
  executor: Schema.Literal("ramping-arrival-rate"),
  /** iterations per `timeUnitMs` at the start */
  startRate: NonNegativeInt(maxArrivalRatePerSecond),
  timeUnitMs: Schema.optionalWith(PositiveInt(3_600_000), { default: () => 1_000 }),
  stages: Schema.Array(Stage).pipe(Schema.minItems(1)),
  preAllocatedVus: PositiveInt(maxExecutorVus),
  maxVus: Schema.optional(PositiveInt(maxExecutorVus))
}).pipe(Schema.filter(vuLimits))

export const ConstantVus = Schema.Struct({
  executor: Schema.Literal("constant-vus"),
  vus: PositiveInt(maxExecutorVus),
  durationMs: DurationMs
})

export const RampingVus = Schema.Struct({
  executor: Schema.Literal("ramping-vus"),
  startVus: NonNegativeInt(maxExecutorVus),
  stages: Schema.Array(Schema.Struct({ durationMs: NonNegativeInt(maxExecutorDurationMs), target: NonNegativeInt(maxExecutorVus) })).pipe(Schema.minItems(1))
})

export const Executor = Schema.Union(ConstantArrivalRate, RampingArrivalRate, ConstantVus, RampingVus)
export type Executor = typeof Executor.Type
export type ArrivalRateExecutor = Extract<Executor, { readonly preAllocatedVus: number }>
export type VusExecutor = Exclude<Executor, ArrivalRateExecutor>

export const isArrivalRate = (executor: Executor): executor is ArrivalRateExecutor =>
  executor.executor === "constant-arrival-rate" || executor.executor === "ramping-arrival-rate"

/** The VU pool of an open-model executor: more iterations in flight than `maxVus` are dropped. */
export const maxVusOf = (executor: ArrivalRateExecutor) => executor.maxVus ?? executor.preAllocatedVus

/** How long the executor starts iterations for (a started iteration may run past it). */
export const executorDurationMs = (executor: Executor): number => {
  switch (executor.executor) {
    case "constant-arrival-rate":
    case "constant-vus":
      return executor.durationMs
    case "ramping-arrival-rate":
    case "ramping-vus":
      return executor.stages.reduce((sum, stage) => sum + stage.durationMs, 0)
  }
}

/**
 * Offsets (ms from the executor's start) at which an arrival-rate executor starts its iterations, in order.
 * Iteration n (0-based) starts when the integral of the rate reaches n, as in k6: the first at 0.
 * Offsets are fractional; callers round as their clock needs.
 */
export function* intendedStartsMs(executor: ArrivalRateExecutor): Generator<number, void, undefined> {
  if (executor.executor === "constant-arrival-rate") {
    const intervalMs = 1_000 / executor.ratePerSecond
    for (let index = 0; index * intervalMs < executor.durationMs; index++) yield index * intervalMs
    return
  }
  let stageStartMs = 0
  let fromRatePerMs = executor.startRate / executor.timeUnitMs
  /** iterations started before this stage (the integral so far) */
  let doneBefore = 0
  let next = 0
  for (const stage of executor.stages) {
    const toRatePerMs = stage.target / executor.timeUnitMs
    const durationMs = stage.durationMs
    const inStage = ((fromRatePerMs + toRatePerMs) / 2) * durationMs
    while (next < doneBefore + inStage) {
      yield stageStartMs + offsetWithinRamp(next - doneBefore, fromRatePerMs, toRatePerMs, durationMs)
      next++
    }
    doneBefore += inStage
    stageStartMs += durationMs
    fromRatePerMs = toRatePerMs
  }
}

/** The time t in [0, duration) at which the integral of a linear rate from `a` to `b` reaches `count`. */
const offsetWithinRamp = (count: number, a: number, b: number, durationMs: number) => {
  if (count <= 0) return 0
  const slope = (b - a) / durationMs
  // a·t + slope·t²/2 = count; a flat ramp is linear, otherwise the root of the quadratic that is ≥ 0
  if (Math.abs(slope) < 1e-15) return count / a
  const root = (-a + Math.sqrt(Math.max(0, a * a + 2 * slope * count))) / slope
  return Math.min(durationMs, Math.max(0, root))
}

/** A stretch of time (ms from the executor's start) during which one VU keeps starting iterations. */
export interface VuWindow { readonly vu: number; readonly fromMs: number; readonly untilMs: number }

/**
 * When each VU of a closed-model executor is active, sorted by VU then start. A VU starts its next
 * iteration as soon as the last ends, while `fromMs ≤ now < untilMs`; a ramp-down lets a running iteration
 * finish (k6's graceful ramp-down). Ramping-vus: at offset t the active count is the stage's linear
 * interpolation, rounded down, and VU k (0-based) is active while that count exceeds k.
 */
export const vuWindows = (executor: VusExecutor): ReadonlyArray<VuWindow> => {
  if (executor.executor === "constant-vus") {
    return Array.from({ length: executor.vus }, (_, vu) => ({ vu, fromMs: 0, untilMs: executor.durationMs }))
  }
  const endMs = executorDurationMs(executor)
  const openSince = new Map<number, number>()
  const windows: Array<VuWindow> = []
  const setCount = (count: number, atMs: number, previous: number) => {
    for (let vu = previous; vu < count; vu++) openSince.set(vu, atMs)
    for (let vu = count; vu < previous; vu++) {
      const fromMs = openSince.get(vu)!
      openSince.delete(vu)
      if (atMs > fromMs) windows.push({ vu, fromMs, untilMs: atMs })
    }
  }
  let active = executor.startVus
  setCount(active, 0, 0)
  let stageStartMs = 0
  let from = executor.startVus
  for (const stage of executor.stages) {
    // the times within the stage at which floor(interpolation) changes: one per integer crossed
    for (const { atMs, count } of countChanges(from, stage.target, stage.durationMs)) {
      setCount(count, stageStartMs + atMs, active)
      active = count
    }
    stageStartMs += stage.durationMs
    from = stage.target
  }
  setCount(0, endMs, active)
  return windows.sort((a, b) => a.vu - b.vu || a.fromMs - b.fromMs)
}

const countChanges = (from: number, to: number, durationMs: number) => {
  const changes: Array<{ atMs: number; count: number }> = []
  if (durationMs === 0) return from === to ? changes : [{ atMs: 0, count: to }]
  if (to > from) for (let count = from + 1; count <= to; count++) changes.push({ atMs: ((count - from) / (to - from)) * durationMs, count })
  // going down, floor(interpolation) drops below count k+1 as soon as it leaves it
  if (to < from) for (let count = from - 1; count >= to; count--) changes.push({ atMs: ((from - count - 1) / (from - to)) * durationMs, count })
  return changes
}

/** Most VUs a closed-model executor runs at once. */
export const peakVus = (executor: VusExecutor) =>
  executor.executor === "constant-vus" ? executor.vus : Math.max(executor.startVus, ...executor.stages.map((stage) => stage.target))
