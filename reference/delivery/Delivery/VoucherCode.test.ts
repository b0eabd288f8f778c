import assert from "node:assert/strict"
import { describe, test } from "node:test"
import * as fc from "fast-check"
import { groupedVoucherCode, luhnCheckDigit, normaliseVoucherCode, voucherCodeOf, voucherRandomDigits } from "./VoucherCode.js"

const randomDigits = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: voucherRandomDigits, maxLength: voucherRandomDigits })
  .map((digits) => digits.join(""))

describe("voucher codes", () => {
  test("the Luhn digit of a known number", () => {
    // 7992739871 → 3 is the textbook example
    assert.equal(luhnCheckDigit("7992739871"), "3")
    assert.equal(voucherCodeOf("12345678901"), "123456789015")
  })

  test("every generated code normalises to itself, typed with spaces or dashes", () => {
    fc.assert(fc.property(randomDigits, (digits) => {
      const code = voucherCodeOf(digits)
      assert.deepEqual(normaliseVoucherCode(code), { ok: true, code })
      assert.deepEqual(normaliseVoucherCode(groupedVoucherCode(code)), { ok: true, code })
      assert.deepEqual(normaliseVoucherCode(groupedVoucherCode(code).replaceAll(" ", "-")), { ok: true, code })
    }))
  })

  test("one mistyped digit is always caught", () => {
    fc.assert(fc.property(randomDigits, fc.integer({ min: 0, max: 11 }), fc.integer({ min: 1, max: 9 }), (digits, position, delta) => {
      const code = voucherCodeOf(digits)
      const wrong = code.slice(0, position) + String((Number(code[position]) + delta) % 10) + code.slice(position + 1)
      assert.equal(normaliseVoucherCode(wrong).ok, false)
    }))
  })

  test("wrong length and letters are refused with their reason", () => {
    assert.deepEqual(normaliseVoucherCode("1234 5678 901"), { ok: false, problem: "a pickup code has 12 digits, got 11" })
    assert.deepEqual(normaliseVoucherCode("1234 5678 901A"), { ok: false, problem: "a pickup code has digits only" })
    assert.equal(groupedVoucherCode("123456789015"), "1234 5678 9015")
  })
})
