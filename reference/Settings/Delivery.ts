/**
 * Delivery after issuance (Delivery.ts): delivery jobs, SIM carriers and vouchers (seeds 000, 002, 003, 004).
 */
import { Context, Layer } from "effect"

/** delivery jobs, carriers and vouchers */
export interface DeliverySettings {
  /** how long a server owns a delivery job before another may retry it */
  readonly deliveryLeaseMs: number
  readonly maxDeliveryAttempts: number
  readonly deliveryBatchSize: number
  /** storage one ticket takes on a SIM carrier (seed 003: about 255 B) */
  readonly carrierTicketSlotBytes: number
  /** a SIM reserves 1–2 KB for tickets (seed 003) */
  readonly minCarrierCapacityBytes: number
  readonly maxCarrierCapacityBytes: number
  /** tries to draw a voucher code no other ticket has */
  readonly maxVoucherCodeAttempts: number
}

export const defaultDeliverySettings: DeliverySettings = {
  deliveryLeaseMs: 30_000,
  maxDeliveryAttempts: 10,
  deliveryBatchSize: 100,
  carrierTicketSlotBytes: 255,
  minCarrierCapacityBytes: 1_024,
  maxCarrierCapacityBytes: 2_048,
  maxVoucherCodeAttempts: 5
}

/** The delivery settings a server runs with. */
export class DeliveryConfig extends Context.Tag("DeliveryConfig")<DeliveryConfig, DeliverySettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<DeliverySettings> = {}) => Layer.succeed(DeliveryConfig, { ...defaultDeliverySettings, ...overrides })
}
