/**
 * Payments (Payments.ts, Payments/Kiosks.ts): two-phase card and gateway payments, their timeouts and
 * reconciliation, the gateway's notifications as this server checks them, and kiosks' print jobs.
 */
import { Context, Layer } from "effect"

/** payment timeouts, reconciliation and notification checks */
export interface PaymentSettings {
  /** a card reservation not captured by then (a crash between authorise and capture) is voided */
  readonly cardAuthorisationTimeoutMs: number
  /** a gateway reservation the reconciler has not settled by then is voided; a later success is refunded or issued */
  readonly gatewayPaymentTimeoutMs: number
  /** the reconciler polls the gateway for charges pending longer than this (their callback may be lost) */
  readonly gatewayReconcileAfterMs: number
  readonly gatewayReconcileBatchSize: number
  readonly pendingTransferSweepBatchSize: number
  /**
   * shared with the gateway: the HMAC-SHA256 key of its notifications. A public constant by default, as `adminKey`,
   * for in-process use only. A signature alone settles nothing: the gateway's own record of the charge must agree
   */
  readonly gatewayWebhookSecret: string
  /** a notification sent longer ago than this (or this far ahead of our clock) is refused as stale */
  readonly gatewayCallbackMaxAgeMs: number
  readonly kioskPrintJobsBatchSize: number
}

export const defaultPaymentSettings: PaymentSettings = {
  cardAuthorisationTimeoutMs: 60_000,
  gatewayPaymentTimeoutMs: 15 * 60_000,
  gatewayReconcileAfterMs: 60_000,
  gatewayReconcileBatchSize: 100,
  pendingTransferSweepBatchSize: 200,
  gatewayWebhookSecret: "chunyun-gateway-secret",
  gatewayCallbackMaxAgeMs: 5 * 60_000,
  kioskPrintJobsBatchSize: 20
}

/** The payment settings a server runs with. */
export class PaymentConfig extends Context.Tag("PaymentConfig")<PaymentConfig, PaymentSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<PaymentSettings> = {}) => Layer.succeed(PaymentConfig, { ...defaultPaymentSettings, ...overrides })
}
