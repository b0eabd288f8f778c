import assert from "node:assert/strict"
import { describe, test } from "node:test"
import * as fc from "fast-check"
import { asciiBytes, crc64Xz, decodeDeviceId, encodeDeviceId, macBytes } from "./DeviceId.js"

const phone = {
  machineNumber: Uint8Array.from(Buffer.from("35209900176148", "hex")),
  mac: macBytes("3c:22:fb:12:9a:0e"),
  model: asciiBytes("P40"),
  brand: asciiBytes("Huawei")
}

/** every way one byte of `hex` can change */
const singleByteCorruptions = function* (hex: string) {
  const bytes = Buffer.from(hex, "hex")
  for (let index = 0; index < bytes.length; index++) {
    for (let value = 0; value < 256; value++) {
      if (value === bytes[index]) continue
      const changed = Buffer.from(bytes)
      changed[index] = value
      yield changed.toString("hex")
    }
  }
}

describe("anonymous device ID (seed 004)", () => {
  test("CRC-64/XZ gives the catalogued check value", () => {
    assert.equal(crc64Xz(asciiBytes("123456789")), 0x995dc9bbdf1939fan)
    assert.equal(crc64Xz(new Uint8Array()), 0n)
  })

  test("fields are zero-padded in front to 8 bytes and come back as sent", () => {
    const id = encodeDeviceId(phone)
    assert.equal(id.length, 80)
    assert.equal(id.slice(16, 32), "00003c22fb129a0e")
    assert.equal(id.slice(32, 48), "0000000000503430")
    assert.deepEqual(decodeDeviceId(id), {
      ok: true, device: { machineNumberHex: "35209900176148", macHex: "3c22fb129a0e", model: "P40", brand: "Huawei", installTime: null }
    })
    const withTime = encodeDeviceId({ ...phone, installTime: "08:15:42" })
    assert.equal(withTime.length, 96)
    const decoded = decodeDeviceId(withTime)
    assert.equal(decoded.ok && decoded.device.installTime, "08:15:42")
  })

  test("every single-byte corruption is refused, with and without the install time", () => {
    for (const id of [encodeDeviceId(phone), encodeDeviceId({ ...phone, installTime: "23:59:59" })]) {
      let corruptions = 0
      for (const corrupted of singleByteCorruptions(id)) {
        corruptions++
        const checked = decodeDeviceId(corrupted)
        assert.equal(checked.ok, false, corrupted)
      }
      assert.equal(corruptions, (id.length / 2) * 255)
    }
  })

  test("two fields swapped are refused (a parity word would accept this)", () => {
    const id = encodeDeviceId({ ...phone, model: asciiBytes("Mate60"), brand: asciiBytes("Honor") })
    const swapped = id.slice(0, 32) + id.slice(48, 64) + id.slice(32, 48) + id.slice(64)
    assert.notEqual(swapped, id)
    assert.deepEqual(decodeDeviceId(swapped), { ok: false, problem: "check code (CRC-64/XZ) does not match the fields" })
  })

  test("each problem is named", () => {
    const problem = (text: string) => { const result = decodeDeviceId(text); return result.ok ? "ok" : result.problem }
    assert.match(problem("00"), /80 or 96 lowercase hex/)
    assert.match(problem(encodeDeviceId(phone).toUpperCase()), /lowercase hex/)
    assert.match(problem(encodeDeviceId(phone).slice(0, 78) + "00"), /check code/)
    // a correct CRC over bytes that are not a valid install time
    const bad = Buffer.alloc(40)
    bad.write("25:00:00", 32, "ascii")
    const covered = Uint8Array.from(bad)
    const withCode = Buffer.alloc(48)
    withCode.set(covered)
    withCode.writeBigUInt64BE(crc64Xz(covered), 40)
    assert.match(problem(withCode.toString("hex")), /install time/)
    assert.throws(() => encodeDeviceId({ ...phone, brand: asciiBytes("Xiaomi Redmi") }), /at most 8/)
    assert.throws(() => encodeDeviceId({ ...phone, installTime: "8:15:42" }), /HH:MM:SS/)
  })

  test("property: any fields round-trip", () => {
    const field = fc.uint8Array({ minLength: 0, maxLength: 8 })
    const ascii = fc.string({ minLength: 1, maxLength: 8 }).filter((text) => /^[\x21-\x7e]+$/.test(text))
    fc.assert(fc.property(field, field, ascii, ascii, (machineNumber, mac, model, brand) => {
      const id = encodeDeviceId({ machineNumber, mac, model: asciiBytes(model), brand: asciiBytes(brand) })
      const decoded = decodeDeviceId(id)
      assert.ok(decoded.ok)
      const strip = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex").replace(/^(00)+/, "")
      assert.equal(decoded.device.machineNumberHex, strip(machineNumber))
      assert.equal(decoded.device.macHex, strip(mac))
      assert.equal(decoded.device.model, model)
      assert.equal(decoded.device.brand, brand)
    }))
  })
})
