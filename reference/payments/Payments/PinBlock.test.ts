import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { formatPinBlock, panField, parsePinBlock, pinField } from "./PinBlock.js"

describe("ISO 9564 format 0 PIN block", () => {
  test("the standard's worked example: PIN 1234, PAN 43219876543210987 → 0412AC89ABCDEF67", () => {
    assert.equal(pinField("1234"), "041234FFFFFFFFFF")
    assert.equal(panField("43219876543210987"), "0000987654321098")
    assert.equal(formatPinBlock("1234", "43219876543210987"), "0412AC89ABCDEF67")
    assert.deepEqual(parsePinBlock("0412AC89ABCDEF67", "43219876543210987"), { ok: true, pin: "1234" })
  })

  test("a 16-digit PAN and a 6-digit PIN round-trip; lowercase hex parses", () => {
    const block = formatPinBlock("246810", "6222021234567890128")
    // PIN field 06246810FFFFFFFF XOR PAN field 0000123456789012
    assert.equal(block, "06247A24A9876FED")
    assert.deepEqual(parsePinBlock(block.toLowerCase(), "6222021234567890128"), { ok: true, pin: "246810" })
    assert.equal(formatPinBlock("1234", "4111111111111111"), "041225EEEEEEEEEE")
  })

  test("a block parsed with another card's PAN does not yield the PIN", () => {
    const block = formatPinBlock("1234", "43219876543210987")
    const parsed = parsePinBlock(block, "4111111111111111")
    assert.ok(!parsed.ok || parsed.pin !== "1234")
  })

  test("malformed blocks are named, never mistaken for a PIN", () => {
    const pan = "43219876543210987"
    assert.deepEqual(parsePinBlock("0412AC89ABCDEF6", pan), { ok: false, failure: "malformed-block" })
    assert.deepEqual(parsePinBlock("0412AC89ABCDEFXY", pan), { ok: false, failure: "malformed-block" })
    // format 1 (first nibble 1) is another format
    assert.deepEqual(parsePinBlock("1412AC89ABCDEF67", pan), { ok: false, failure: "not-format-0" })
    // length nibble 3: below the minimum of 4 digits
    assert.deepEqual(parsePinBlock("0312AC89ABCDEF67", pan), { ok: false, failure: "bad-pin-length" })
    // a PIN "digit" of A
    assert.deepEqual(parsePinBlock("04A2AC89ABCDEF67", pan), { ok: false, failure: "bad-pin-digit" })
    // padding that is not F
    assert.deepEqual(parsePinBlock("0412AC89ABCDEF66", pan), { ok: false, failure: "bad-padding" })
    assert.throws(() => formatPinBlock("123", pan))
    assert.throws(() => formatPinBlock("1234", "123"))
  })
})
