/**
 * Customers: classification and invoices (seeds 000 [0029], 002 [0076]; Customers.ts, Customers/Invoices.ts,
 * Statistics.ts).
 */
import { Context, Layer } from "effect"

/** spend thresholds of classification and invoices */
export interface CustomerSettings {
  /** a customer whose net spend (captured payments minus refunds) reaches this is VIP */
  readonly vipSpendThresholdFen: number
  /** an invoice is issued each time a customer's net spend since their last invoice reaches this */
  readonly invoiceSpendThresholdFen: number
}

export const defaultCustomerSettings: CustomerSettings = {
  vipSpendThresholdFen: 500_000,
  invoiceSpendThresholdFen: 100_000
}

/** The customer settings a server runs with. */
export class CustomerConfig extends Context.Tag("CustomerConfig")<CustomerConfig, CustomerSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<CustomerSettings> = {}) => Layer.succeed(CustomerConfig, { ...defaultCustomerSettings, ...overrides })
}
