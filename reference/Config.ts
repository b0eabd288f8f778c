/**
 * Server settings. Every limit is named with its unit last. The simulation and `chunyun serve` both
 * build one of these; nothing in the server reads the environment directly.
 */
import { Context, Layer } from "effect"
import type { InventoryVariant } from "./Inventory.js"

export interface ServerSettings {
  readonly holdTtlMs: number
  readonly sessionTtlMs: number
  /** scrypt cost parameter N (power of two). 16384 is Node's default; a scenario may lower it and says so */
  readonly passwordHashCostN: number
  readonly maxPaymentPasswordFailures: number
  readonly adminKey: string
  /** how long before departure a gate starts admitting, and how long after it stops */
  readonly checkinOpensBeforeDepartureMs: number
  readonly checkinClosesAfterDepartureMs: number
  /** service dates and minutes of day are in China Standard Time */
  readonly utcOffsetMinutes: number
  readonly outboxSweepIntervalMs: number
  readonly outboxBatchSize: number
  readonly holdSweepIntervalMs: number
  readonly holdSweepBatchSize: number
  readonly maxTopUpFen: number
  /** how a hold takes a seat (reference/Inventory.ts) */
  readonly inventory: InventoryVariant
  /** the unsafe inventory double-books by design: only with this set (`--unsafe`) */
  readonly allowUnsafeInventory: boolean
  // ---- bad input (badinput stream) ----
  /** a request body longer than this is refused with 413 before it is parsed */
  readonly maxRequestBodyBytes: number
  /** error messages quote the offending input; longer messages are cut to this many characters */
  readonly maxErrorMessageChars: number
}

export const defaultSettings: ServerSettings = {
  holdTtlMs: 10 * 60_000,
  sessionTtlMs: 24 * 3_600_000,
  passwordHashCostN: 16_384,
  maxPaymentPasswordFailures: 5,
  adminKey: "chunyun-admin",
  checkinOpensBeforeDepartureMs: 2 * 3_600_000,
  checkinClosesAfterDepartureMs: 5 * 60_000,
  utcOffsetMinutes: 8 * 60,
  outboxSweepIntervalMs: 1_000,
  outboxBatchSize: 100,
  holdSweepIntervalMs: 5_000,
  holdSweepBatchSize: 200,
  maxTopUpFen: 5_000_000,
  inventory: "conditional",
  allowUnsafeInventory: false,
  // ---- bad input (badinput stream) ----
  maxRequestBodyBytes: 64 * 1024,
  maxErrorMessageChars: 500
}

export class ServerConfig extends Context.Tag("ServerConfig")<ServerConfig, ServerSettings>() {
  static readonly layer = (overrides: Partial<ServerSettings> = {}) =>
    Layer.succeed(ServerConfig, { ...defaultSettings, ...overrides })
}
