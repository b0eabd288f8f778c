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
  // ---- delivery stream: SMS channel, delivery after issuance, SIM carriers, vouchers (seeds 000, 002, 003, 004)
  /** tickets one SMS `BUY` may hold at once */
  readonly maxTicketsPerSmsOrder: number
  /** longest text the SMS gateway sends: three concatenated 160-character segments */
  readonly maxSmsTextChars: number
  /** longest inbound text the server parses */
  readonly maxInboundSmsChars: number
  /** texts a gateway device pulls in one page */
  readonly smsOutboundPageSize: number
  /** SMS orders a `STATUS` reply lists */
  readonly smsStatusOrderCount: number
  /** how long a server owns a delivery job before another may retry it */
  readonly deliveryLeaseMs: number
  readonly maxDeliveryAttempts: number
  readonly deliverySweepIntervalMs: number
  readonly deliveryBatchSize: number
  /** storage one ticket takes on a SIM carrier (seed 003: about 255 B) */
  readonly carrierTicketSlotBytes: number
  /** a SIM reserves 1–2 KB for tickets (seed 003) */
  readonly minCarrierCapacityBytes: number
  readonly maxCarrierCapacityBytes: number
  /** tries to draw a voucher code no other ticket has */
  readonly maxVoucherCodeAttempts: number
  /** tries to draw an SMS order reference the customer has not used */
  readonly maxSmsOrderRefAttempts: number
  /** an inbound text claimed this long ago and still unanswered (its server died) may be answered by a retry */
  readonly smsInboundClaimTimeoutMs: number
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
  // delivery stream
  maxTicketsPerSmsOrder: 5,
  maxSmsTextChars: 480,
  maxInboundSmsChars: 160,
  smsOutboundPageSize: 100,
  smsStatusOrderCount: 5,
  deliveryLeaseMs: 30_000,
  maxDeliveryAttempts: 10,
  deliverySweepIntervalMs: 1_000,
  deliveryBatchSize: 100,
  carrierTicketSlotBytes: 255,
  minCarrierCapacityBytes: 1_024,
  maxCarrierCapacityBytes: 2_048,
  maxVoucherCodeAttempts: 5,
  maxSmsOrderRefAttempts: 5,
  smsInboundClaimTimeoutMs: 60_000
}

export class ServerConfig extends Context.Tag("ServerConfig")<ServerConfig, ServerSettings>() {
  static readonly layer = (overrides: Partial<ServerSettings> = {}) =>
    Layer.succeed(ServerConfig, { ...defaultSettings, ...overrides })
}
