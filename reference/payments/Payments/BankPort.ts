/**
 * The Bank port (seed 001: the kiosk's POS sends the swipe to the bank's card system, the PIN is verified
 * by the bank): what the server needs of a card-issuing bank, and the card token it knows a card by,
 * `ct_<BIN>_<last 4>_<16 hex>`. The bank alone keeps PANs and PINs; the simulated one is
 * reference/Simulated/Bank.ts.
 */
import { Context, Effect, Schema } from "effect"
import type { FenTotal } from "../../Domain.js"
import { DeclineReason } from "./Errors.js"

/** `ct_` + 6-digit BIN + `_` + last 4 digits + `_` + 16 hex: what a card reader sends instead of the PAN. */
export const CardToken = Schema.String.pipe(Schema.pattern(/^ct_\d{6}_\d{4}_[0-9a-f]{16}$/), Schema.brand("CardToken"))
export type CardToken = typeof CardToken.Type
export const PinBlockHex = Schema.String.pipe(Schema.pattern(/^[0-9A-Fa-f]{16}$/))

/** BIN and last four digits carried by a token: all a log line or a receipt may show of a card. */
export const maskedCard = (token: CardToken) => {
  const [, bin = "", last4 = ""] = token.split("_")
  return { bin, last4 }
}

export interface Authorisation { readonly authorisationId: string; readonly authCode: string }

export class BankDeclined extends Schema.TaggedError<BankDeclined>()("BankDeclined", { reason: DeclineReason }) {}

/** What the server needs of a card-issuing bank. */
export class Bank extends Context.Tag("Bank")<Bank, {
  /** Check the PIN and place a hold of `amountFen` on the card. */
  readonly authorise: (request: { cardToken: CardToken; pinBlock: string; amountFen: FenTotal; reference: string }) =>
    Effect.Effect<Authorisation, BankDeclined>
  /** Take the held amount. */
  readonly capture: (authorisationId: string) => Effect.Effect<void>
  /**
   * Give a captured amount back (all of it, or `amountFen` of it: a refund less its fee), or release an
   * authorisation that was never captured. Once per authorisation.
   */
  readonly reverse: (authorisationId: string, amountFen?: FenTotal) => Effect.Effect<void>
}>() {}
