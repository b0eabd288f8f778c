/**
 * The ticket code: a compact binary payload signed with Ed25519, carried as QR text.
 *
 * Pure: no I/O, no clock, no randomness. The same payload and key always give the same text
 * (Ed25519 signatures are deterministic), so a simulation run is byte-identical for its seed.
 *
 * Binary layout (field order after seed 003: type, ID, date, time, price, then variable fields),
 * all integers big-endian:
 *
 * | offset | bytes | field                                                            |
 * |--------|-------|------------------------------------------------------------------|
 * | 0      | 1     | magic/version: high nibble 0xC (magic), low nibble 1 (version)   |
 * | 1      | 1     | kind: 1 = train, 2 = cinema showing, 3 = event                   |
 * | 2      | 10    | ticketId                                                         |
 * | 12     | 4     | service date: year uint16, month 1..12, day 1..31                |
 * | 16     | 2     | departure time: hour 0..23, minute 0..59                         |
 * | 18     | 4     | price in fen, uint32                                             |
 * | 22     | 1     | keyId: which signing key (lets the centre rotate keys)           |
 * | 23     | 8     | bindingTag: HMAC of the holder's phone number or device ID       |
 * | 31     | 1+n   | trainCode: length n (1..8), then n ASCII bytes                   |
 * |        | 1+n   | seatCode: length n (1..6), then n ASCII bytes                    |
 * |        | 1+3   | fromStation: length 3, then 3 uppercase ASCII letters            |
 * |        | 1+3   | toStation: length 3, then 3 uppercase ASCII letters              |
 * |        | 1     | coach 1..255                                                     |
 * | end-64 | 64    | Ed25519 signature over every byte before it                      |
 *
 * A cinema ticket (kind 2) and an event ticket (kind 3) use the same layout; the fields carry:
 *
 * | field           | train                  | cinema (2)                     | event (3)                        |
 * |-----------------|------------------------|--------------------------------|----------------------------------|
 * | date, time      | departure from boarding| the showing's start            | the event's start                |
 * | trainCode       | train code "G1"        | showing code "F0712"           | event code "E2027"               |
 * | coach           | coach 1..255           | hall number                    | zone number                      |
 * | seatCode        | "05A"                  | row-seat "07-12"               | "07-12" seated, "GA0042" standing|
 * | fromStation     | boarding station       | the cinema's code (its gates)  | the venue's code (its gates)     |
 * | toStation       | alighting station      | the cinema's code again        | the venue's code again           |
 *
 * Sizes: at most 31 + 9 + 7 + 4 + 4 + 1 + 64 = 120 bytes, well under the 255 B a SIM carrier
 * sets aside for a ticket. QR text: "CY1:" + base64url(bytes), no padding.
 */
import { createHmac, createPrivateKey, createPublicKey, sign, verify } from "node:crypto"
import type { KeyObject } from "node:crypto"

export interface TicketPayload {
  /** 20 lowercase hex chars = 10 bytes */
  readonly ticketId: string
  readonly kind: TicketKind
  /** "YYYY-MM-DD" */
  readonly serviceDate: string
  /** 0..1439, departure from the boarding station */
  readonly departureMinuteOfDay: number
  /** integer 0..2^32-1 */
  readonly priceFen: number
  /** printable ASCII, 1..8 chars, e.g. "G1" */
  readonly trainCode: string
  /** 1..255 */
  readonly coach: number
  /** printable ASCII, 1..6 chars, e.g. "05A" */
  readonly seatCode: string
  /** 3 uppercase ASCII letters (telegraph code), e.g. "BJP" */
  readonly fromStation: string
  readonly toStation: string
  /** 16 lowercase hex = 8 bytes, from bindingTagFor */
  readonly bindingTag: string
  /** 0..255, which signing key */
  readonly keyId: number
}

export type TicketKind = "train" | "cinema" | "event"

export type DecodeFailure = {
  readonly reason: "format" | "version" | "signature" | "unknown-key"
  readonly detail: string
}

export type DecodeResult =
  | { readonly ok: true; readonly payload: TicketPayload }
  | { readonly ok: false; readonly failure: DecodeFailure }

export interface SigningKey {
  readonly privateKey: KeyObject
  /** 32 bytes */
  readonly publicKeyRaw: Uint8Array
}

// ---------------------------------------------------------------------------------------------
// Limits and layout constants
// ---------------------------------------------------------------------------------------------

/** What a SIM carrier sets aside for one ticket (seed 003). */
export const maxTicketBytes = 255
export const signatureBytes = 64
export const ticketIdBytes = 10
export const bindingTagBytes = 8
export const ed25519SeedBytes = 32
export const ed25519PublicKeyBytes = 32
export const ticketTextPrefix = "CY1:"
export const maxTrainCodeChars = 8
export const maxSeatCodeChars = 6
export const stationCodeChars = 3
export const maxPriceFen = 0xffff_ffff
export const minutesPerDay = 1440
export const maxCoach = 255
export const maxKeyId = 255

/** High nibble marks our format, low nibble its version: a foreign binary blob fails as "format". */
const magicNibble = 0xc
const formatVersion = 1
const magicVersionByte = (magicNibble << 4) | formatVersion
const kindCodes = { train: 1, cinema: 2, event: 3 } as const satisfies Record<TicketKind, number>
const kindOfCode = new Map(Object.entries(kindCodes).map(([kind, code]) => [code as number, kind as TicketKind]))
/** magic/version, kind, ticketId, date, time, price, keyId, bindingTag */
const fixedHeaderBytes = 1 + 1 + ticketIdBytes + 4 + 2 + 4 + 1 + bindingTagBytes
/** Smallest body: one-char train and seat codes, both stations, coach. */
const minBodyBytes = fixedHeaderBytes + (1 + 1) + (1 + 1) + 2 * (1 + stationCodeChars) + 1
const minYear = 1
const maxYear = 9999
const minutesPerHour = 60
const hoursPerDay = 24
/** Longer texts are refused before decoding, so a hostile scan cannot make us allocate much. */
const maxTicketTextChars = ticketTextPrefix.length + Math.ceil((maxTicketBytes * 4) / 3)

/** DER wrappers for a raw Ed25519 key (RFC 8410): node:crypto only imports keys in a container. */
const pkcs8Ed25519Prefix = Buffer.from("302e020100300506032b657004220420", "hex")
const spkiEd25519Prefix = Buffer.from("302a300506032b6570032100", "hex")

const lowercaseHexPattern = /^[0-9a-f]*$/
const printableAsciiPattern = /^[\x21-\x7e]*$/
const stationPattern = /^[A-Z]{3}$/
const serviceDatePattern = /^(\d{4})-(\d{2})-(\d{2})$/
const base64UrlPattern = /^[A-Za-z0-9_-]*$/
const versionedPrefixPattern = /^CY\d+:/

// ---------------------------------------------------------------------------------------------
// Keys and binding
// ---------------------------------------------------------------------------------------------

/** A deterministic Ed25519 key: the same seed gives the same key, hence byte-identical runs. */
export const signingKeyFromSeed = (seed32: Uint8Array): SigningKey => {
  if (seed32.length !== ed25519SeedBytes) {
    throw new Error(`signingKeyFromSeed: seed must be ${ed25519SeedBytes} bytes, got ${seed32.length}`)
  }
  const privateKey = createPrivateKey({
    key: Buffer.concat([pkcs8Ed25519Prefix, seed32]),
    format: "der",
    type: "pkcs8"
  })
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" })
  const publicKeyRaw = new Uint8Array(spki.subarray(spki.length - ed25519PublicKeyBytes))
  return { privateKey, publicKeyRaw }
}

/** What a gate holds: the raw 32-byte public key it was provisioned with. */
export const publicKeyFromRaw = (raw: Uint8Array): KeyObject => {
  if (raw.length !== ed25519PublicKeyBytes) {
    throw new Error(`publicKeyFromRaw: key must be ${ed25519PublicKeyBytes} bytes, got ${raw.length}`)
  }
  return createPublicKey({ key: Buffer.concat([spkiEd25519Prefix, raw]), format: "der", type: "spki" })
}

/**
 * Binds a ticket to a phone number or device ID without printing it in the QR: anyone can read
 * the QR, but only the centre (holding the salt) can map a holder to its tag.
 */
export const bindingTagFor = (holder: string, secretSalt: Uint8Array): string =>
  createHmac("sha256", secretSalt).update(holder, "utf8").digest().subarray(0, bindingTagBytes).toString("hex")

// ---------------------------------------------------------------------------------------------
// Validation shared by encoding and decoding
// ---------------------------------------------------------------------------------------------

const isIntegerInRange = (value: number, min: number, max: number): boolean =>
  Number.isInteger(value) && value >= min && value <= max

const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0

const daysInMonth = (year: number, month: number): number => {
  const days = [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
  return days ?? 0
}

const isCalendarDate = (year: number, month: number, day: number): boolean =>
  isIntegerInRange(year, minYear, maxYear) &&
  isIntegerInRange(month, 1, 12) &&
  isIntegerInRange(day, 1, daysInMonth(year, month))

const isAsciiCode = (text: string, maxChars: number): boolean =>
  text.length >= 1 && text.length <= maxChars && printableAsciiPattern.test(text)

interface CalendarDate {
  readonly year: number
  readonly month: number
  readonly day: number
}

const parseServiceDate = (serviceDate: string): CalendarDate | undefined => {
  const match = serviceDatePattern.exec(serviceDate)
  if (match === null) return undefined
  const date = { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) }
  return isCalendarDate(date.year, date.month, date.day) ? date : undefined
}

const formatServiceDate = (date: CalendarDate): string =>
  `${String(date.year).padStart(4, "0")}-${String(date.month).padStart(2, "0")}-${String(date.day).padStart(2, "0")}`

/** Every reason a payload cannot be encoded; empty when it can. */
const payloadProblems = (payload: TicketPayload): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const check = (valid: boolean, problem: string) => {
    if (!valid) problems.push(problem)
  }
  check(
    payload.ticketId.length === ticketIdBytes * 2 && lowercaseHexPattern.test(payload.ticketId),
    `ticketId must be ${ticketIdBytes * 2} lowercase hex chars, got ${JSON.stringify(payload.ticketId)}`
  )
  check(Object.hasOwn(kindCodes, payload.kind), `kind must be one of ${Object.keys(kindCodes).join(", ")}, got ${JSON.stringify(payload.kind)}`)
  check(
    parseServiceDate(payload.serviceDate) !== undefined,
    `serviceDate must be a calendar date YYYY-MM-DD (years ${minYear}..${maxYear}), got ${JSON.stringify(payload.serviceDate)}`
  )
  check(
    isIntegerInRange(payload.departureMinuteOfDay, 0, minutesPerDay - 1),
    `departureMinuteOfDay must be an integer 0..${minutesPerDay - 1}, got ${payload.departureMinuteOfDay}`
  )
  check(isIntegerInRange(payload.priceFen, 0, maxPriceFen), `priceFen must be an integer 0..${maxPriceFen}, got ${payload.priceFen}`)
  check(
    isAsciiCode(payload.trainCode, maxTrainCodeChars),
    `trainCode must be 1..${maxTrainCodeChars} printable ASCII chars, got ${JSON.stringify(payload.trainCode)}`
  )
  check(isIntegerInRange(payload.coach, 1, maxCoach), `coach must be an integer 1..${maxCoach}, got ${payload.coach}`)
  check(
    isAsciiCode(payload.seatCode, maxSeatCodeChars),
    `seatCode must be 1..${maxSeatCodeChars} printable ASCII chars, got ${JSON.stringify(payload.seatCode)}`
  )
  check(stationPattern.test(payload.fromStation), `fromStation must be 3 uppercase ASCII letters, got ${JSON.stringify(payload.fromStation)}`)
  check(stationPattern.test(payload.toStation), `toStation must be 3 uppercase ASCII letters, got ${JSON.stringify(payload.toStation)}`)
  check(
    payload.bindingTag.length === bindingTagBytes * 2 && lowercaseHexPattern.test(payload.bindingTag),
    `bindingTag must be ${bindingTagBytes * 2} lowercase hex chars, got ${JSON.stringify(payload.bindingTag)}`
  )
  check(isIntegerInRange(payload.keyId, 0, maxKeyId), `keyId must be an integer 0..${maxKeyId}, got ${payload.keyId}`)
  return problems
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/** Bytes of the signed part; the caller has validated the payload. */
const signedBodyBytes = (payload: TicketPayload): number =>
  fixedHeaderBytes +
  (1 + payload.trainCode.length) +
  (1 + payload.seatCode.length) +
  (1 + payload.fromStation.length) +
  (1 + payload.toStation.length) +
  1

const assertValidPayload = (payload: TicketPayload, caller: string): void => {
  const problems = payloadProblems(payload)
  if (problems.length > 0) throw new Error(`${caller}: invalid payload: ${problems.join("; ")}`)
}

/**
 * Size of the whole encoded ticket (body + signature), for SIM carrier capacity accounting.
 * Throws on an invalid payload like encodeTicket: a size for a ticket that cannot exist would mislead.
 */
export const encodedTicketBytes = (payload: TicketPayload): number => {
  assertValidPayload(payload, "encodedTicketBytes")
  return signedBodyBytes(payload) + signatureBytes
}

const writeSignedBody = (payload: TicketPayload): Buffer => {
  const body = Buffer.alloc(signedBodyBytes(payload))
  const date = parseServiceDate(payload.serviceDate)
  if (date === undefined) throw new Error("writeSignedBody: unvalidated serviceDate")
  let offset = 0
  offset = body.writeUInt8(magicVersionByte, offset)
  offset = body.writeUInt8(kindCodes[payload.kind], offset)
  offset += body.write(payload.ticketId, offset, "hex")
  offset = body.writeUInt16BE(date.year, offset)
  offset = body.writeUInt8(date.month, offset)
  offset = body.writeUInt8(date.day, offset)
  offset = body.writeUInt8(Math.floor(payload.departureMinuteOfDay / minutesPerHour), offset)
  offset = body.writeUInt8(payload.departureMinuteOfDay % minutesPerHour, offset)
  offset = body.writeUInt32BE(payload.priceFen, offset)
  offset = body.writeUInt8(payload.keyId, offset)
  offset += body.write(payload.bindingTag, offset, "hex")
  for (const text of [payload.trainCode, payload.seatCode, payload.fromStation, payload.toStation]) {
    offset = body.writeUInt8(text.length, offset)
    offset += body.write(text, offset, "ascii")
  }
  offset = body.writeUInt8(payload.coach, offset)
  if (offset !== body.length) throw new Error(`writeSignedBody: wrote ${offset} of ${body.length} bytes`)
  return body
}

/**
 * Signs and encodes a ticket as QR text. Throws on an out-of-range field: callers build payloads
 * from validated orders, so a bad field is a programming mistake, not an expected failure.
 */
export const encodeTicket = (payload: TicketPayload, privateKey: KeyObject): string => {
  const body = signedBodyOf(payload, privateKey, "encodeTicket")
  return ticketText(payload, body, sign(null, body, privateKey))
}

/** The payload's signed body, after the checks every encoding makes. */
const signedBodyOf = (payload: TicketPayload, privateKey: KeyObject, caller: string) => {
  assertValidPayload(payload, caller)
  if (privateKey.type !== "private" || privateKey.asymmetricKeyType !== "ed25519") {
    throw new Error(`${caller}: need an Ed25519 private key, got ${privateKey.type} ${privateKey.asymmetricKeyType ?? "?"}`)
  }
  return writeSignedBody(payload)
}

const ticketText = (payload: TicketPayload, body: Buffer, signature: Uint8Array) => {
  const ticketBytes = Buffer.concat([body, signature])
  // Pair assertion with the capacity accounting the SIM carrier relies on.
  if (ticketBytes.length !== encodedTicketBytes(payload) || ticketBytes.length > maxTicketBytes) {
    throw new Error(`encodeTicket: encoded ${ticketBytes.length} bytes, expected ${encodedTicketBytes(payload)} ≤ ${maxTicketBytes}`)
  }
  return ticketTextPrefix + ticketBytes.toString("base64url")
}

/**
 * `encodeTicket`, with the signature made on libuv's thread pool (Node's asynchronous `crypto.sign`): the
 * Ed25519 signature is most of a ticket's cost, and the server's own thread has every request to serve.
 * Resolves with the same text `encodeTicket` gives; a bad field or key is a defect, as there.
 */
export const signTicket = (payload: TicketPayload, privateKey: KeyObject): Promise<string> =>
  new Promise((resolve, reject) => {
    const body = signedBodyOf(payload, privateKey, "signTicket")
    sign(null, body, privateKey, (error, signature) => {
      if (error) return reject(error)
      try {
        resolve(ticketText(payload, body, signature))
      } catch (defect) {
        reject(defect)
      }
    })
  })

// ---------------------------------------------------------------------------------------------
// Decoding: never throws, whatever a camera or an attacker hands us
// ---------------------------------------------------------------------------------------------

const refuse = (reason: DecodeFailure["reason"], detail: string): DecodeResult => ({
  ok: false,
  failure: { reason, detail }
})

/** Reads forward through the bytes; every read returns undefined past the end instead of throwing. */
class ByteReader {
  private offset = 0
  constructor(private readonly bytes: Uint8Array) {}

  get position(): number {
    return this.offset
  }

  byte(): number | undefined {
    const value = this.bytes[this.offset]
    if (value !== undefined) this.offset += 1
    return value
  }

  uint16(): number | undefined {
    const high = this.byte()
    const low = this.byte()
    return high === undefined || low === undefined ? undefined : high * 0x100 + low
  }

  uint32(): number | undefined {
    const high = this.uint16()
    const low = this.uint16()
    return high === undefined || low === undefined ? undefined : high * 0x1_0000 + low
  }

  hex(length: number): string | undefined {
    if (this.offset + length > this.bytes.length) return undefined
    const slice = this.bytes.subarray(this.offset, this.offset + length)
    this.offset += length
    return Buffer.from(slice).toString("hex")
  }

  /** A length-prefixed ASCII field; undefined when truncated or longer than maxLength. */
  lengthPrefixedAscii(maxLength: number): string | undefined {
    const length = this.byte()
    if (length === undefined || length > maxLength || this.offset + length > this.bytes.length) return undefined
    const slice = this.bytes.subarray(this.offset, this.offset + length)
    this.offset += length
    return Buffer.from(slice).toString("latin1")
  }
}

/** Text → ticket bytes, refusing anything but canonical unpadded base64url of a plausible size. */
const ticketBytesFromText = (text: string): Uint8Array | DecodeFailure => {
  if (typeof text !== "string") return { reason: "format", detail: "not a string" }
  if (!text.startsWith(ticketTextPrefix)) {
    return versionedPrefixPattern.test(text)
      ? { reason: "version", detail: `unsupported prefix ${JSON.stringify(text.slice(0, text.indexOf(":") + 1))}` }
      : { reason: "format", detail: `missing prefix ${ticketTextPrefix}` }
  }
  if (text.length > maxTicketTextChars) return { reason: "format", detail: `text longer than ${maxTicketTextChars} chars` }
  const encoded = text.slice(ticketTextPrefix.length)
  if (!base64UrlPattern.test(encoded)) return { reason: "format", detail: "not base64url" }
  const bytes = Buffer.from(encoded, "base64url")
  // Node's decoder is lenient; demanding the canonical form means one ticket has exactly one text.
  if (bytes.toString("base64url") !== encoded) return { reason: "format", detail: "non-canonical base64url" }
  if (bytes.length < minBodyBytes + signatureBytes || bytes.length > maxTicketBytes) {
    return { reason: "format", detail: `length ${bytes.length} bytes outside ${minBodyBytes + signatureBytes}..${maxTicketBytes}` }
  }
  return new Uint8Array(bytes)
}

type ParsedBody = { readonly payload: TicketPayload } | DecodeFailure

/** Parses the signed part field by field; any out-of-range field or trailing byte is "format". */
const parseSignedBody = (body: Uint8Array): ParsedBody => {
  const reader = new ByteReader(body)
  const magicVersion = reader.byte() ?? 0
  if (magicVersion >> 4 !== magicNibble) return { reason: "format", detail: "bad magic byte" }
  if ((magicVersion & 0x0f) !== formatVersion) return { reason: "version", detail: `unsupported version ${magicVersion & 0x0f}` }
  const kindCode = reader.byte()
  const kind = kindCode === undefined ? undefined : kindOfCode.get(kindCode)
  if (kind === undefined) return { reason: "format", detail: `unknown kind ${kindCode}` }
  const ticketId = reader.hex(ticketIdBytes)
  const year = reader.uint16()
  const month = reader.byte()
  const day = reader.byte()
  const hour = reader.byte()
  const minute = reader.byte()
  const priceFen = reader.uint32()
  const keyId = reader.byte()
  const bindingTag = reader.hex(bindingTagBytes)
  const trainCode = reader.lengthPrefixedAscii(maxTrainCodeChars)
  const seatCode = reader.lengthPrefixedAscii(maxSeatCodeChars)
  const fromStation = reader.lengthPrefixedAscii(stationCodeChars)
  const toStation = reader.lengthPrefixedAscii(stationCodeChars)
  const coach = reader.byte()
  if (
    ticketId === undefined || year === undefined || month === undefined || day === undefined ||
    hour === undefined || minute === undefined || priceFen === undefined || keyId === undefined ||
    bindingTag === undefined || trainCode === undefined || seatCode === undefined ||
    fromStation === undefined || toStation === undefined || coach === undefined
  ) {
    return { reason: "format", detail: "truncated or over-long field" }
  }
  if (reader.position !== body.length) return { reason: "format", detail: `${body.length - reader.position} trailing bytes` }
  if (!isCalendarDate(year, month, day)) return { reason: "format", detail: "invalid service date" }
  // Checked apart from the payload: 00:70 would pass as minute 70 yet is not a canonical time.
  if (hour >= hoursPerDay || minute >= minutesPerHour) return { reason: "format", detail: "invalid departure time" }
  const payload: TicketPayload = {
    ticketId, kind, serviceDate: formatServiceDate({ year, month, day }), departureMinuteOfDay: hour * minutesPerHour + minute,
    priceFen, trainCode, coach, seatCode, fromStation, toStation, bindingTag, keyId
  }
  // Read-path pair of the write-path validation: a field the encoder would refuse is not a ticket.
  const problems = payloadProblems(payload)
  if (problems.length > 0) return { reason: "format", detail: problems.join("; ") }
  return { payload }
}

const isFailure = (value: object): value is DecodeFailure => "reason" in value

/**
 * QR text → verified payload. Works offline: only the gate's public keys are needed. Never throws,
 * so a gate can feed it whatever its camera read.
 */
export const decodeTicket = (text: string, publicKeys: ReadonlyMap<number, KeyObject>): DecodeResult => {
  try {
    const bytes = ticketBytesFromText(text)
    if (isFailure(bytes)) return { ok: false, failure: bytes }
    const signedLength = bytes.length - signatureBytes
    const parsed = parseSignedBody(bytes.subarray(0, signedLength))
    if (isFailure(parsed)) return { ok: false, failure: parsed }
    const publicKey = publicKeys.get(parsed.payload.keyId)
    if (publicKey === undefined) return refuse("unknown-key", `no public key for keyId ${parsed.payload.keyId}`)
    const signatureValid = verify(null, bytes.subarray(0, signedLength), publicKey, bytes.subarray(signedLength))
    return signatureValid ? { ok: true, payload: parsed.payload } : refuse("signature", "Ed25519 signature does not verify")
  } catch (error) {
    // Only reachable with a bad entry in publicKeys (e.g. a non-Ed25519 key): still a refusal, not a crash.
    return refuse("signature", `verification failed: ${error instanceof Error ? error.message : String(error)}`)
  }
}
