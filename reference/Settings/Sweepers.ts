/**
 * How often each of the server's background jobs runs (Background.ts); what one pass takes is its feature's
 * setting.
 */
import { Context, Layer } from "effect"

/** the background jobs' intervals */
export interface SweeperSettings {
  readonly outboxSweepIntervalMs: number
  readonly holdSweepIntervalMs: number
  readonly deliverySweepIntervalMs: number
  readonly gatewayReconcileIntervalMs: number
  readonly pendingTransferSweepIntervalMs: number
  readonly upstreamPushIntervalMs: number
}

export const defaultSweeperSettings: SweeperSettings = {
  outboxSweepIntervalMs: 1_000,
  holdSweepIntervalMs: 5_000,
  deliverySweepIntervalMs: 1_000,
  gatewayReconcileIntervalMs: 10_000,
  pendingTransferSweepIntervalMs: 5_000,
  upstreamPushIntervalMs: 1_000
}

/** The sweeper settings a server runs with. */
export class SweeperConfig extends Context.Tag("SweeperConfig")<SweeperConfig, SweeperSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<SweeperSettings> = {}) => Layer.succeed(SweeperConfig, { ...defaultSweeperSettings, ...overrides })
}
