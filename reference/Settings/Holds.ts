/**
 * Holds and the seat inventory: how long a hold lasts, how the hold sweeper's batches are sized, how a
 * hold takes a seat (Inventory.ts), the waiting queue, group commit (Inventory/Lanes.ts) and the seat-claim
 * tie window (Orders/SeatPriority.ts).
 */
import { Context, Layer } from "effect"
import type { HoldBatching } from "../ticketing/Inventory/Lanes.js"

/** how a hold takes a seat (reference/ticketing/Inventory.ts documents each) */
export const inventoryVariants = ["conditional", "optimistic", "row-lock", "queue", "unsafe"] as const
/** the variants that never sell a seat twice: every one but `unsafe` */
export const safeInventoryVariants = inventoryVariants.filter((variant): variant is Exclude<typeof variant, "unsafe"> => variant !== "unsafe")
export type InventoryVariant = typeof inventoryVariants[number]

/** holds, the inventory variant and its design knobs */
export interface HoldSettings {
  readonly holdTtlMs: number
  readonly holdSweepBatchSize: number
  /** how a hold takes a seat (reference/ticketing/Inventory.ts) */
  readonly inventory: InventoryVariant
  /** the unsafe inventory double-books by design: only with this set (`--unsafe`) */
  readonly allowUnsafeInventory: boolean
  /** holds a run's waiting queue (inventory "queue") admits behind the one being served; beyond it `HoldQueueFull` */
  readonly maxQueuedHoldsPerRun: number
  /** one transaction per hold request, or the holds of one tick grouped into one transaction (group commit) */
  readonly holdBatching: HoldBatching
  /** group commit: how long the first hold of a group waits for others to join it */
  readonly holdGroupCommitWindowMs: number
  /** group commit: the most holds one transaction takes */
  readonly maxHoldsPerGroupCommit: number
  /**
   * Seed 004's client priority: a hold of a chosen seat that arrives less than this long after the seat's hold by
   * another customer ties with it, and the device whose app was installed earlier wins the seat (reference/ticketing/Orders/
   * SeatPriority.ts). 0: no ties, the first hold wins
   */
  readonly seatClaimTieWindowMs: number
}

export const defaultHoldSettings: HoldSettings = {
  holdTtlMs: 10 * 60_000,
  holdSweepBatchSize: 200,
  inventory: "conditional",
  allowUnsafeInventory: false,
  maxQueuedHoldsPerRun: 5_000,
  holdBatching: "per-request",
  holdGroupCommitWindowMs: 2,
  maxHoldsPerGroupCommit: 64,
  // two taps a tenth of a second apart are one moment to the people making them; a hold stands after that
  seatClaimTieWindowMs: 100
}

/** The hold settings a server runs with. */
export class HoldConfig extends Context.Tag("HoldConfig")<HoldConfig, HoldSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<HoldSettings> = {}) => Layer.succeed(HoldConfig, { ...defaultHoldSettings, ...overrides })
}
