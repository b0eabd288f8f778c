/**
 * The kiosk's card reader and PIN pad (seed 001): reads a bank card by magstripe, contactless or chip, and
 * turns the PIN the passenger keys into an ISO 9564 format-0 PIN block. The PAN lives only inside the reader
 * for the length of one read: what leaves it is the card token (`ct_<BIN>_<last 4>_<hex>`, the network's
 * stand-in for the PAN, as an EMV payment token is) and the PIN block, and, for a remote booking's payment only, the
 * card number the server matches against the booking's keyed token and forgets. Its log shows BIN + last four only.
 *
 * Contactless below a limit without a PIN: the reference server requires a PIN block on every card payment
 * (`CardPaymentRequest.pinBlock`), so this reader asks for the PIN on every read, whatever the mode.
 */
import { Effect, Random } from "effect"
import { formatPinBlock } from "../reference/payments/Payments/PinBlock.js"
import type { CardToken } from "../reference/payments/Payments/BankPort.js"

export type ReadMode = "magstripe" | "contactless" | "chip"
export const readModes: ReadonlyArray<ReadMode> = ["chip", "contactless", "magstripe"]

/** A card in a passenger's wallet: its number, and the token the network gave it. */
export interface BankCard {
  readonly pan: string
  readonly token: CardToken
}

/** how long a read takes by mode: a swipe, an EMV chip dialogue, a tap */
export const readTimeMsByMode: { readonly [Mode in ReadMode]: number } = { magstripe: 1_500, chip: 3_500, contactless: 600 }
/** a bad swipe or a chip that does not answer: read again, at most this many times, then fall back */
export const maxReadAttempts = 3
/** how long the passenger takes to key a PIN */
export const pinEntryMs = 4_000

export class CardUnreadable {
  readonly _tag = "CardUnreadable"
  constructor(readonly mode: ReadMode) {}
}

/** What leaves the reader after a read: never the PAN. */
export interface CardRead {
  readonly mode: ReadMode
  readonly cardToken: CardToken
  readonly bin: string
  readonly last4: string
  /**
   * The card number, asked for only by a remote booking's payment (`POST /kiosk/remote-bookings/:orderId/card-payment`),
   * where the server compares its keyed token with the booking's and keeps nothing of it. A function, as the PIN block
   * is: the read's data holds no PAN, so nothing that logs or serialises a read writes one
   */
  readonly remoteBookingCardNumber: () => string
  /** the PIN keyed on the pad, as a format-0 block for this card (computed inside the reader) */
  readonly pinBlock: (keyedPin: string) => Effect.Effect<string>
}

export interface CardReaderOptions {
  /** share of reads that fail and are tried again (a bad swipe, a dirty chip) */
  readonly readFailureRate: number
  /** sleep on the scenario's timeline */
  readonly sleep: (ms: number) => Effect.Effect<void>
  /** every log line of the reader; the test checks none holds a PAN or a PIN */
  readonly log: (line: string) => void
}

/** `622202******0018`: the one form of a card number the reader writes anywhere. */
export const maskedPan = (bin: string, last4: string) => `${bin}******${last4}`

const luhnCheckDigit = (digits: string) => {
  let sum = 0
  for (let index = 0; index < digits.length; index++) {
    let digit = Number(digits[digits.length - 1 - index])
    if (index % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2
    sum += digit
  }
  return String((10 - (sum % 10)) % 10)
}

/** A 16-digit PAN with a valid Luhn check digit: `bin` (6 digits) + 9 account digits + check digit. */
export const panOf = (bin: string, account: number) => {
  const body = `${bin}${String(account % 1_000_000_000).padStart(9, "0")}`
  return body + luhnCheckDigit(body)
}

export const makeCardReader = (readerId: string, options: CardReaderOptions) => {
  const log = (line: string) => options.log(`${readerId} ${line}`)
  /** the PAN never leaves this function but as the token, BIN, last four and PIN block */
  const read = (card: BankCard, preferred: ReadMode): Effect.Effect<CardRead, CardUnreadable> =>
    Effect.gen(function* () {
      const bin = card.pan.slice(0, 6)
      const last4 = card.pan.slice(-4)
      // a chip that fails every try falls back to the stripe, as EMV terminals do ("fallback")
      const modes: ReadonlyArray<ReadMode> = preferred === "chip" ? ["chip", "magstripe"] : [preferred]
      for (const mode of modes) {
        for (let attempt = 1; attempt <= maxReadAttempts; attempt++) {
          yield* options.sleep(readTimeMsByMode[mode])
          const failed = options.readFailureRate > 0 && (yield* Random.next) < options.readFailureRate
          if (!failed) {
            log(`read ${mode} ${maskedPan(bin, last4)} attempt ${attempt}`)
            const pan = card.pan
            return {
              mode, cardToken: card.token, bin, last4, remoteBookingCardNumber: () => pan,
              pinBlock: (keyedPin: string) => Effect.gen(function* () {
                yield* options.sleep(pinEntryMs)
                log(`pin entered for ${maskedPan(bin, last4)}: ${keyedPin.length} digits`)
                return formatPinBlock(keyedPin, pan)
              })
            }
          }
          log(`read ${mode} ${maskedPan(bin, last4)} failed, attempt ${attempt}`)
        }
      }
      return yield* Effect.fail(new CardUnreadable(preferred))
    })
  return { readerId, read }
}
export type CardReader = ReturnType<typeof makeCardReader>
