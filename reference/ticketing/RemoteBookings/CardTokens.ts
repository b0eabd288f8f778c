/**
 * The keyed token a remote booking keeps of its card: HMAC-SHA256 of the card number under a key of the server's.
 * The booking centre hears the card number once (the booker gives it), the kiosk reads it again from the card;
 * both are turned into this token at once, and only the token, the BIN and the last four digits are stored. Without
 * the key a stolen store gives no card number back: there are too few card numbers for an unkeyed hash to hide one.
 *
 * The key is drawn from the admin key, a secret of every served instance (reference/ServeSecrets.ts: drawn at start
 * or given, never the public constant of in-process tests), under a label of its own: a served instance's card-token
 * key is as secret as its admin key and is not the admin key itself; every process of one deployment derives the
 * same key, so a booking made through one is matched at a kiosk served by another. A new admin key orphans the
 * tokens of the bookings still held, which then expire as any unpaid hold (`remoteBookingHoldTtlMs`).
 */
import { createHmac, timingSafeEqual } from "node:crypto"

/** what distinguishes the card-token key from any other key drawn from the admin key */
const cardTokenKeyLabel = "chunyun remote booking card token key v1"

/** The card-token key of a server whose admin key is `adminKey`. */
export const cardTokenKeyOf = (adminKey: string): Buffer => createHmac("sha256", adminKey).update(cardTokenKeyLabel).digest()

/** The keyed token of a card number: 64 hex digits. */
export const cardTokenOf = (key: Buffer, cardNumber: string) => createHmac("sha256", key).update(cardNumber).digest("hex")

/** Whether two tokens are the same, in time that does not depend on where they differ. */
export const sameCardToken = (left: string, right: string) =>
  left.length === right.length && timingSafeEqual(Buffer.from(left, "utf8"), Buffer.from(right, "utf8"))

/** BIN and last four digits of a card number: all of it a receipt, a log line or an answer may show. */
export const maskedCardNumber = (cardNumber: string) => ({ bin: cardNumber.slice(0, 6), last4: cardNumber.slice(-4) })
