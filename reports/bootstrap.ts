/**
 * How far two runs' numbers could differ by chance, estimated from each run's own per-bucket series: a bootstrap
 * (the buckets resampled with replacement, many times) gives each run's spread, and the two spreads together a
 * confidence interval for the relative change between the runs. The draws come from a small seeded generator, so
 * the same two reports always give the same interval.
 *
 * The buckets are treated as exchangeable: a series with a strong time profile (the on-sale rush, then the tail)
 * counts that profile as spread, which widens the interval. The interval errs towards "within noise", not towards a
 * false regression.
 */

/** resamples per run: the interval's ends move by well under a tenth of a percent between seeds at this count */
export const bootstrapResamples = 2_000
/** the interval's confidence, in percent */
export const confidencePercent = 95
/** below this many buckets with samples, a bootstrap says little: the row falls back to the fixed tolerance */
export const minBootstrapBuckets = 12

/** mulberry32: a 32-bit generator, uniform in [0, 1); enough for resampling and fully determined by its seed */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let mixed = state
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1)
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61)
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** FNV-1a of a text: each row draws from its own seed, so adding a row does not move another row's interval */
export const seedOf = (text: string): number => {
  let hash = 0x811c9dc5
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193) >>> 0
  return hash
}

/** one bucket's reading of a statistic: its value, and how much it weighs in the run's whole (its sample count) */
export interface BucketValue {
  readonly value: number
  readonly weight: number
}

const weightedMean = (buckets: ReadonlyArray<BucketValue>, pick: (index: number) => number, count: number): number => {
  let weighted = 0
  let weights = 0
  for (let draw = 0; draw < count; draw++) {
    const bucket = buckets[pick(draw)]!
    weighted += bucket.value * bucket.weight
    weights += bucket.weight
  }
  return weights === 0 ? NaN : weighted / weights
}

/** The run's weighted mean on its buckets resampled, as a ratio to the weighted mean on the buckets as they are. */
const resampledRatios = (buckets: ReadonlyArray<BucketValue>, random: () => number): Float64Array => {
  const observed = weightedMean(buckets, (draw) => draw, buckets.length)
  const ratios = new Float64Array(bootstrapResamples)
  for (let resample = 0; resample < bootstrapResamples; resample++) {
    ratios[resample] = weightedMean(buckets, () => Math.floor(random() * buckets.length), buckets.length) / observed
  }
  return ratios
}

export interface ChangeInterval {
  /** the interval of (new − base) / base, in percent */
  readonly lowPercent: number
  readonly highPercent: number
}

/**
 * A `confidencePercent` interval for the relative change from `base` to `next`, two runs' whole-run values, each
 * varied by its own run's resampled spread: (next · r_next) / (base · r_base) − 1 over the resamples, where r is the
 * ratio of a resampled bucket mean to the observed one. Undefined when a run has too few buckets with samples, or a
 * value or a bucket mean is 0 (no ratio to read).
 */
export const changeInterval = (
  base: number, next: number, baseBuckets: ReadonlyArray<BucketValue>, nextBuckets: ReadonlyArray<BucketValue>, seed: number
): ChangeInterval | undefined => {
  const withSamples = (buckets: ReadonlyArray<BucketValue>) => buckets.filter((bucket) => bucket.weight > 0).length
  if (withSamples(baseBuckets) < minBootstrapBuckets || withSamples(nextBuckets) < minBootstrapBuckets) return undefined
  if (!(base > 0) || !(next >= 0) || !Number.isFinite(next)) return undefined
  const random = seededRandom(seed)
  const baseRatios = resampledRatios(baseBuckets, random)
  const nextRatios = resampledRatios(nextBuckets, random)
  const changes = Array.from(baseRatios, (baseRatio, resample) => ((next * nextRatios[resample]!) / (base * baseRatio) - 1) * 100)
  if (changes.some(Number.isNaN)) return undefined
  changes.sort((left, right) => left - right)
  const tail = (100 - confidencePercent) / 200
  const at = (quantile: number) => changes[Math.min(changes.length - 1, Math.max(0, Math.round(quantile * (changes.length - 1))))]!
  return { lowPercent: at(tail), highPercent: at(1 - tail) }
}
