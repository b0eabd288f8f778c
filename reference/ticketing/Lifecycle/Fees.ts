/**
 * The refund fee (退票费) as a pure function of the price, the time left before departure and the
 * schedule in the server's settings. Integer fen throughout: the rate is in basis points and the fee is
 * rounded to the nearest `roundingFen`, half up, then raised to the minimum and capped at the price.
 */
import { FenTotal } from "../../Domain.js"

export interface RefundFeeTier {
  /** the tier applies when at least this long remains before the boarding stop's departure */
  readonly minMsBeforeDeparture: number
  /** the fee rate in hundredths of a percent (500 = 5 %) */
  readonly feeBasisPoints: number
}

export interface RefundFeeSchedule {
  readonly refundFeeTiers: ReadonlyArray<RefundFeeTier>
  readonly refundFeeRoundingFen: number
  readonly minRefundFeeFen: number
}

const basisPointsPerWhole = 10_000

/** The tier for `msBeforeDeparture`: the one with the largest threshold not above it. */
export const feeTierFor = (schedule: RefundFeeSchedule, msBeforeDeparture: number): RefundFeeTier | undefined => {
  let chosen: RefundFeeTier | undefined
  for (const tier of schedule.refundFeeTiers) {
    if (msBeforeDeparture >= tier.minMsBeforeDeparture && (!chosen || tier.minMsBeforeDeparture > chosen.minMsBeforeDeparture)) chosen = tier
  }
  return chosen
}

/**
 * The fee withheld from a refund of `priceFen`, or undefined when no refund is due (the train has left:
 * `msBeforeDeparture <= 0`, or no tier covers it).
 */
export const refundFeeFen = (schedule: RefundFeeSchedule, priceFen: FenTotal, msBeforeDeparture: number): FenTotal | undefined => {
  if (msBeforeDeparture <= 0) return undefined
  const tier = feeTierFor(schedule, msBeforeDeparture)
  if (!tier) return undefined
  if (tier.feeBasisPoints === 0 || priceFen === 0) return FenTotal.make(0)
  const unit = schedule.refundFeeRoundingFen
  // a journey's price ≤ 31 segments × 10^8 and basis points ≤ 10^4: the product stays far inside 2^53
  const exactTimesWhole = priceFen * tier.feeBasisPoints
  const rounded = Math.floor((exactTimesWhole + (basisPointsPerWhole * unit) / 2) / (basisPointsPerWhole * unit)) * unit
  // never above the price, and the rounded rate is never below 0: a fee is a total from 0 like the price
  return FenTotal.make(Math.min(priceFen, Math.max(schedule.minRefundFeeFen, rounded)))
}
