/**
 * Sync with an upstream system (Upstream.ts): whether issued seats are pushed, and how.
 */
import { Context, Layer } from "effect"

/** the upstream push */
export interface UpstreamSettings {
  /** push issued seats to the upstream system (reference/delivery/Upstream.ts); off unless a run is synced with one */
  readonly upstreamSync: boolean
  readonly upstreamPushBatchSize: number
  /** how long a process that took a row to push keeps it from the others */
  readonly upstreamPushLeaseMs: number
  readonly upstreamRetryBackoffMs: number
  /** after this many failed pushes a row is abandoned and reported */
  readonly maxUpstreamPushAttempts: number
}

export const defaultUpstreamSettings: UpstreamSettings = {
  upstreamSync: false,
  upstreamPushBatchSize: 50,
  upstreamPushLeaseMs: 10_000,
  upstreamRetryBackoffMs: 2_000,
  maxUpstreamPushAttempts: 20
}

/** The upstream settings a server runs with. */
export class UpstreamConfig extends Context.Tag("UpstreamConfig")<UpstreamConfig, UpstreamSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<UpstreamSettings> = {}) => Layer.succeed(UpstreamConfig, { ...defaultUpstreamSettings, ...overrides })
}
