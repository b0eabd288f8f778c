/**
 * The anonymous identity of a ticketing app installed on a phone (seed 004 [0056]–[0060]): the machine
 * number, the MAC address, the model and the brand, 8 bytes each, shorter values zero-padded in front
 * ([0058]); optionally the time the app was first installed, 8 bytes "HH:MM:SS" ([0059]); and an 8-byte
 * check code at the end over everything before it.
 *
 * Layout (bytes): machine 0–7 | mac 8–15 | model 16–23 | brand 24–31 | [install time 32–39] | check code.
 * On the wire: lowercase hex, 80 characters (40 bytes) or 96 (48 bytes, with the install time).
 *
 * The check code is CRC-64/XZ (ECMA-182 polynomial, reflected, init and final XOR all ones), which [0060]
 * allows instead of parity. A parity word (the XOR of the 8-byte fields) also catches every single-byte
 * corruption, but not two fields swapped or the same bit flipped in two fields, which cancel in XOR; a
 * 64-bit CRC detects every error burst up to 64 bits and such swaps, and misses a random corruption with
 * probability 2^-64.
 */

export const deviceFieldBytes = 8
export const deviceFieldCount = 4
export const checkCodeBytes = 8
const coreBytes = deviceFieldBytes * deviceFieldCount
export const deviceIdBytesWithoutInstallTime = coreBytes + checkCodeBytes
export const deviceIdBytesWithInstallTime = coreBytes + deviceFieldBytes + checkCodeBytes
export const deviceIdPattern = /^(?:[0-9a-f]{80}|[0-9a-f]{96})$/

// ---- CRC-64/XZ ------------------------------------------------------------------------------------

const reflectedPolynomial = 0xc96c5795d7870f42n
const allOnes64 = 0xffffffffffffffffn

const crcTable: ReadonlyArray<bigint> = Array.from({ length: 256 }, (_, byte) => {
  let crc = BigInt(byte)
  for (let bit = 0; bit < 8; bit++) crc = (crc & 1n) === 1n ? (crc >> 1n) ^ reflectedPolynomial : crc >> 1n
  return crc
})

/** CRC-64/XZ of `bytes` (check value of "123456789": 0x995dc9bbdf1939fa). */
export const crc64Xz = (bytes: Uint8Array): bigint => {
  let crc = allOnes64
  for (const byte of bytes) crc = crcTable[Number((crc ^ BigInt(byte)) & 0xffn)]! ^ (crc >> 8n)
  return crc ^ allOnes64
}

const checkCodeOf = (covered: Uint8Array): Uint8Array => {
  const code = new Uint8Array(checkCodeBytes)
  new DataView(code.buffer).setBigUint64(0, crc64Xz(covered), false)
  return code
}

// ---- encode / decode ------------------------------------------------------------------------------

export interface DeviceFields {
  /** up to 8 bytes each; shorter values are zero-padded in front */
  readonly machineNumber: Uint8Array
  readonly mac: Uint8Array
  readonly model: Uint8Array
  readonly brand: Uint8Array
  /** "HH:MM:SS" of the app's first installation, when the device sends it */
  readonly installTime?: string
}

const installTimePattern = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/

const padded = (name: string, value: Uint8Array): Uint8Array => {
  if (value.length > deviceFieldBytes) throw new Error(`${name} is ${value.length} bytes, at most ${deviceFieldBytes}`)
  const field = new Uint8Array(deviceFieldBytes)
  field.set(value, deviceFieldBytes - value.length)
  return field
}

/** The device ID in hex. Throws on a field longer than 8 bytes or a malformed install time (a device's bug). */
export const encodeDeviceId = (fields: DeviceFields): string => {
  if (fields.installTime !== undefined && !installTimePattern.test(fields.installTime)) {
    throw new Error(`install time must be HH:MM:SS, got ${JSON.stringify(fields.installTime)}`)
  }
  const parts = [
    padded("machine number", fields.machineNumber), padded("MAC", fields.mac),
    padded("model", fields.model), padded("brand", fields.brand),
    ...(fields.installTime === undefined ? [] : [new TextEncoder().encode(fields.installTime)])
  ]
  const covered = new Uint8Array(parts.length * deviceFieldBytes)
  parts.forEach((part, index) => covered.set(part, index * deviceFieldBytes))
  return Buffer.concat([covered, checkCodeOf(covered)]).toString("hex")
}

/** What a verified device ID says, fields without their leading zero padding. */
export interface DecodedDeviceId {
  readonly machineNumberHex: string
  readonly macHex: string
  readonly model: string
  readonly brand: string
  readonly installTime: string | null
}

export type DeviceIdCheck = { readonly ok: true; readonly device: DecodedDeviceId } | { readonly ok: false; readonly problem: string }

const unpadded = (field: Uint8Array) => {
  let start = 0
  while (start < field.length && field[start] === 0) start++
  return field.subarray(start)
}
const printableAscii = (bytes: Uint8Array) => [...bytes].every((byte) => byte >= 0x20 && byte <= 0x7e)

/** Checks the length, the check code, then the fields' form; names the first problem found. */
export const decodeDeviceId = (text: string): DeviceIdCheck => {
  if (!deviceIdPattern.test(text)) {
    return { ok: false, problem: `must be ${deviceIdBytesWithoutInstallTime * 2} or ${deviceIdBytesWithInstallTime * 2} lowercase hex characters` }
  }
  const bytes = Uint8Array.from(Buffer.from(text, "hex"))
  const covered = bytes.subarray(0, bytes.length - checkCodeBytes)
  const expected = checkCodeOf(covered)
  if (Buffer.compare(Buffer.from(expected), Buffer.from(bytes.subarray(covered.length))) !== 0) {
    return { ok: false, problem: "check code (CRC-64/XZ) does not match the fields" }
  }
  const field = (index: number) => covered.subarray(index * deviceFieldBytes, (index + 1) * deviceFieldBytes)
  const [model, brand] = [unpadded(field(2)), unpadded(field(3))]
  if (!printableAscii(model) || !printableAscii(brand)) return { ok: false, problem: "model and brand must be printable ASCII" }
  let installTime: string | null = null
  if (covered.length > coreBytes) {
    installTime = new TextDecoder().decode(field(4))
    if (!installTimePattern.test(installTime)) return { ok: false, problem: "install time must be HH:MM:SS" }
  }
  const decoder = new TextDecoder()
  return {
    ok: true,
    device: {
      machineNumberHex: Buffer.from(unpadded(field(0))).toString("hex"), macHex: Buffer.from(unpadded(field(1))).toString("hex"),
      model: decoder.decode(model), brand: decoder.decode(brand), installTime
    }
  }
}

/** "aa:bb:cc:dd:ee:ff" → its 6 bytes. */
export const macBytes = (mac: string): Uint8Array => {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) throw new Error(`not a MAC address: ${mac}`)
  return Uint8Array.from(Buffer.from(mac.replaceAll(":", ""), "hex"))
}

export const asciiBytes = (text: string): Uint8Array => new TextEncoder().encode(text)
