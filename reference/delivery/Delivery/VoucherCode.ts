/**
 * Pickup codes for a cinema's ticket machine (seed 004 [0025]: the confirmation is "a string of
 * characters or a QR code"): 11 random digits and a Luhn check digit, shown in groups of four. The check
 * digit catches every single mistyped digit and most swaps of neighbours before the store is asked.
 */

export const voucherRandomDigits = 11
export const voucherCodeDigits = voucherRandomDigits + 1

/** The Luhn check digit of `digits` (a string of decimal digits). */
export const luhnCheckDigit = (digits: string) => {
  let sum = 0
  for (let index = 0; index < digits.length; index++) {
    // double every second digit counting from the right of the payload (the check digit will sit to its right)
    const digit = Number(digits[digits.length - 1 - index])
    const weighted = index % 2 === 0 ? digit * 2 : digit
    sum += weighted > 9 ? weighted - 9 : weighted
  }
  return String((10 - (sum % 10)) % 10)
}

export const voucherCodeOf = (randomDigits: string) => randomDigits + luhnCheckDigit(randomDigits)

/** The 12 digits of a typed code (spaces and dashes dropped), or the reason it cannot be one. */
export const normaliseVoucherCode = (typed: string): { ok: true; code: string } | { ok: false; problem: string } => {
  const code = typed.replace(/[\s-]/g, "")
  if (!/^\d+$/.test(code)) return { ok: false, problem: "a pickup code has digits only" }
  if (code.length !== voucherCodeDigits) return { ok: false, problem: `a pickup code has ${voucherCodeDigits} digits, got ${code.length}` }
  if (luhnCheckDigit(code.slice(0, -1)) !== code.slice(-1)) return { ok: false, problem: "the check digit does not match: a digit was mistyped" }
  return { ok: true, code }
}

/** `1234 5678 9012`, as printed in the SMS notice. */
export const groupedVoucherCode = (code: string) => code.replace(/(\d{4})(?=\d)/g, "$1 ")
