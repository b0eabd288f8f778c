/**
 * The card reader on its own: what leaves it is the token and a format-0 PIN block the bank's parser reads back
 * to the keyed PIN (and the card number, only when a remote booking's payment asks for it); its log shows BIN + last four only; a chip that never answers falls back to the stripe.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Effect, Random } from "effect"
import { parsePinBlock } from "../reference/payments/Payments/PinBlock.js"
import type { CardToken } from "../reference/payments/Payments/BankPort.js"
import { makeCardReader, maskedPan, panOf } from "./CardReader.js"
import type { ReadMode } from "./CardReader.js"

const pan = panOf("622202", 123_456_789)
const card = { pan, token: `ct_622202_${pan.slice(-4)}_0123456789abcdef` as CardToken }
const pin = "135790"

const readWith = (readFailureRate: number, mode: ReadMode, seed = 1) => {
  const lines: Array<string> = []
  const reader = makeCardReader("reader-T", { readFailureRate, sleep: () => Effect.void, log: (line) => lines.push(line) })
  const program = Effect.gen(function* () {
    const read = yield* reader.read(card, mode)
    return { read, pinBlock: yield* read.pinBlock(pin) }
  })
  return { lines, outcome: Effect.runSync(Effect.either(program.pipe(Effect.withRandom(Random.make(seed))))) }
}

describe("card reader", () => {
  test("a PAN of panOf passes the Luhn check", () => {
    const digits = [...pan].reverse().map(Number)
    const sum = digits.reduce((total, digit, index) => total + (index % 2 === 1 ? (digit * 2 > 9 ? digit * 2 - 9 : digit * 2) : digit), 0)
    assert.equal(sum % 10, 0)
    assert.equal(pan.length, 16)
  })

  for (const mode of ["chip", "contactless", "magstripe"] as const) {
    test(`${mode}: the token and a format-0 PIN block leave the reader; the bank reads the PIN back`, () => {
      const { outcome, lines } = readWith(0, mode)
      assert.equal(outcome._tag, "Right")
      if (outcome._tag !== "Right") return
      assert.equal(outcome.right.read.cardToken, card.token)
      assert.equal(outcome.right.read.mode, mode)
      assert.deepEqual([outcome.right.read.bin, outcome.right.read.last4], [pan.slice(0, 6), pan.slice(-4)])
      assert.match(outcome.right.pinBlock, /^[0-9A-F]{16}$/)
      assert.deepEqual(parsePinBlock(outcome.right.pinBlock, pan), { ok: true, pin })
      assert.equal(outcome.right.pinBlock[0], "0", "format 0")
      assert.ok(lines.some((line) => line.includes(maskedPan(pan.slice(0, 6), pan.slice(-4)))))
      assert.ok(!JSON.stringify(outcome.right.read).includes(pan), "the read carries no PAN")
      assert.equal(outcome.right.read.remoteBookingCardNumber(), pan, "a remote booking's payment is handed the card number when it asks")
    })
  }

  test("no log line holds the PAN, its hidden digits, the PIN or the PIN block", () => {
    const { outcome, lines } = readWith(0.5, "chip", 3)
    assert.equal(outcome._tag, "Right")
    const block = outcome._tag === "Right" ? outcome.right.pinBlock : ""
    assert.ok(lines.length >= 2)
    for (const line of lines) {
      for (const secret of [pan, pan.slice(6, -4), pin, block]) assert.ok(!line.includes(secret), `${line} holds ${secret}`)
    }
  })

  test("a chip that never answers falls back to the stripe; a tap that never reads fails as CardUnreadable", () => {
    const fallback = readWith(1, "chip")
    assert.equal(fallback.outcome._tag, "Left")
    assert.ok(fallback.lines.some((line) => line.includes("magstripe")), "the stripe was tried after the chip")
    const tap = readWith(1, "contactless")
    assert.equal(tap.outcome._tag, "Left")
    if (tap.outcome._tag === "Left") assert.equal(tap.outcome.left._tag, "CardUnreadable")
    assert.ok(!tap.lines.some((line) => line.includes("magstripe")))
  })
})
