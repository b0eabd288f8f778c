/**
 * Cancel, refund, change (Lifecycle.ts): the refund fee schedule (Lifecycle/Fees.ts) and how often a
 * ticket may be changed.
 */
import { Context, Layer } from "effect"
import type { RefundFeeTier } from "../ticketing/Lifecycle/Fees.js"

/** refund fees and changes */
export interface LifecycleSettings {
  /** refund fee by time before the boarding stop's departure; no refund once departed or admitted */
  readonly refundFeeTiers: ReadonlyArray<RefundFeeTier>
  /** a fee is rounded to the nearest multiple of this, half up (12306 rounds to 5 jiao) */
  readonly refundFeeRoundingFen: number
  /** the least fee a tier with a non-zero rate charges (12306: 2 yuan) */
  readonly minRefundFeeFen: number
  /** how many times one ticket may be changed to another train or date (12306: once) */
  readonly maxChangesPerTicket: number
}

export const defaultLifecycleSettings: LifecycleSettings = {
  refundFeeTiers: [
    { minMsBeforeDeparture: 8 * 24 * 3_600_000, feeBasisPoints: 0 },
    { minMsBeforeDeparture: 48 * 3_600_000, feeBasisPoints: 500 },
    { minMsBeforeDeparture: 24 * 3_600_000, feeBasisPoints: 1_000 },
    { minMsBeforeDeparture: 0, feeBasisPoints: 2_000 }
  ],
  refundFeeRoundingFen: 50,
  minRefundFeeFen: 200,
  maxChangesPerTicket: 1
}

/** The lifecycle settings a server runs with. */
export class LifecycleConfig extends Context.Tag("LifecycleConfig")<LifecycleConfig, LifecycleSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<LifecycleSettings> = {}) => Layer.succeed(LifecycleConfig, { ...defaultLifecycleSettings, ...overrides })
}
