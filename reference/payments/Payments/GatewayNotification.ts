/**
 * The gateway's asynchronous payment notification (seed 004 [0066]: the transaction unit learns from the
 * payment provider whether the payment succeeded). Signed with HMAC-SHA256 under the secret the gateway
 * and the merchant share, over a canonical text of the fields in a fixed order, so the signature does
 * not depend on how the JSON body happened to be spaced or ordered.
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { Schema } from "effect"

export const ChargeId = Schema.String.pipe(Schema.pattern(/^G[0-9a-f]{16}$/), Schema.brand("ChargeId"))
export type ChargeId = typeof ChargeId.Type

export const GatewayNotification = Schema.Struct({
  notificationId: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{1,64}$/)),
  chargeId: ChargeId,
  status: Schema.Literal("succeeded", "failed"),
  amountFen: Schema.Int.pipe(Schema.between(1, 100_000_000)),
  sentAtMs: Schema.Int.pipe(Schema.nonNegative())
})
export type GatewayNotification = typeof GatewayNotification.Type

export const signatureHeader = "x-gateway-signature"
export const SignatureHex = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/))

export const canonicalNotification = (notification: GatewayNotification) =>
  [
    `notificationId=${notification.notificationId}`, `chargeId=${notification.chargeId}`, `status=${notification.status}`,
    `amountFen=${notification.amountFen}`, `sentAtMs=${notification.sentAtMs}`
  ].join("&")

export const signNotification = (notification: GatewayNotification, secret: string) =>
  createHmac("sha256", secret).update(canonicalNotification(notification)).digest("hex")

export const notificationSignatureValid = (notification: GatewayNotification, signatureHex: string, secret: string) => {
  const expected = Buffer.from(signNotification(notification, secret), "hex")
  const presented = Buffer.from(signatureHex, "hex")
  return presented.length === expected.length && timingSafeEqual(presented, expected)
}
