/**
 * The PaymentGateway port (seed 004: a third-party payment platform with asynchronous notifications): what the
 * server needs of a payment gateway. Its notifications come back through the server's callback endpoint
 * (Payments/GatewayNotification.ts); the simulated gateway is reference/Simulated/Gateway.ts.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { FenTotal } from "../../Domain.js"
import type { ChargeId } from "./GatewayNotification.js"

export type ChargeStatus = "pending" | "succeeded" | "failed" | "unknown"

/** What the server needs of a payment gateway. Every call is idempotent by charge ID. */
export class PaymentGateway extends Context.Tag("PaymentGateway")<PaymentGateway, {
  readonly createCharge: (charge: { chargeId: ChargeId; amountFen: FenTotal }) => Effect.Effect<void>
  readonly queryCharge: (chargeId: ChargeId) => Effect.Effect<ChargeStatus>
  /** Cancel a charge the payer has not completed; answers the charge's final status (succeeded if it was too late). */
  readonly cancelCharge: (chargeId: ChargeId) => Effect.Effect<ChargeStatus>
  /** Refund a succeeded charge: all of it, or `amountFen` of it (a refund less its fee). Once per charge. */
  readonly refund: (chargeId: ChargeId, amountFen?: FenTotal) => Effect.Effect<void>
}>() {}
