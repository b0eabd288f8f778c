/**
 * ISO 9564-1 format 0 PIN block (ANSI X9.8), as a card reader builds it at the kiosk (seed 001: the
 * passenger keys the PIN, which goes to the bank for verification). Pure: no I/O.
 *
 * PIN field:  0 | N | P P P P (P…) | F padding      (N = PIN length 4..12, one hex digit)
 * PAN field:  0 0 0 0 | the 12 rightmost PAN digits excluding the check digit
 * PIN block = PIN field XOR PAN field, 8 bytes, written as 16 uppercase hex digits.
 *
 * The block is the clear block; a real terminal encrypts it under the PIN encryption key before it
 * leaves the PIN pad. The simulation leaves that layer out (there is no HSM) and says so.
 */

export const pinBlockHexChars = 16
export const minPinDigits = 4
export const maxPinDigits = 12
const minPanDigits = 13
const maxPanDigits = 19

export type PinBlockFailure = "malformed-block" | "not-format-0" | "bad-pin-length" | "bad-pin-digit" | "bad-padding"

const xorHex = (left: string, right: string) =>
  Array.from(left, (digit, index) => (parseInt(digit, 16) ^ parseInt(right[index]!, 16)).toString(16)).join("").toUpperCase()

/** `0000` + the 12 rightmost digits of the PAN without its check digit. */
export const panField = (pan: string) => {
  if (!/^\d+$/.test(pan) || pan.length < minPanDigits || pan.length > maxPanDigits) {
    throw new Error(`a PAN has ${minPanDigits}..${maxPanDigits} digits`)
  }
  return `0000${pan.slice(-13, -1)}`
}

export const pinField = (pin: string) => {
  if (!/^\d+$/.test(pin) || pin.length < minPinDigits || pin.length > maxPinDigits) {
    throw new Error(`a PIN has ${minPinDigits}..${maxPinDigits} digits`)
  }
  return `0${pin.length.toString(16).toUpperCase()}${pin}`.padEnd(pinBlockHexChars, "F")
}

/** The format-0 block of `pin` for the card `pan`, 16 uppercase hex digits. */
export const formatPinBlock = (pin: string, pan: string) => xorHex(pinField(pin), panField(pan))

/** The PIN inside a format-0 block, given the card's PAN (the bank's side). */
export const parsePinBlock = (block: string, pan: string):
  { readonly ok: true; readonly pin: string } | { readonly ok: false; readonly failure: PinBlockFailure } => {
  if (!/^[0-9A-Fa-f]{16}$/.test(block)) return { ok: false, failure: "malformed-block" }
  const field = xorHex(block.toUpperCase(), panField(pan))
  if (field[0] !== "0") return { ok: false, failure: "not-format-0" }
  const length = parseInt(field[1]!, 16)
  if (length < minPinDigits || length > maxPinDigits) return { ok: false, failure: "bad-pin-length" }
  const pin = field.slice(2, 2 + length)
  if (!/^\d+$/.test(pin)) return { ok: false, failure: "bad-pin-digit" }
  if (!/^F*$/.test(field.slice(2 + length))) return { ok: false, failure: "bad-padding" }
  return { ok: true, pin }
}
