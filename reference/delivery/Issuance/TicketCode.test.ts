import assert from "node:assert/strict"
import { sign } from "node:crypto"
import type { KeyObject } from "node:crypto"
import { describe, test } from "node:test"
import * as fc from "fast-check"
import {
  bindingTagFor,
  decodeTicket,
  encodedTicketBytes,
  encodeTicket,
  maxTicketBytes,
  publicKeyFromRaw,
  signatureBytes,
  signingKeyFromSeed,
  ticketTextPrefix
} from "./TicketCode.js"
import type { DecodeResult, TicketPayload } from "./TicketCode.js"

const seed = Uint8Array.from({ length: 32 }, (_, index) => index)
const signingKey = signingKeyFromSeed(seed)
const keyId = 3
const publicKeys: ReadonlyMap<number, KeyObject> = new Map([[keyId, publicKeyFromRaw(signingKey.publicKeyRaw)]])
const bindingSalt = new TextEncoder().encode("binding-salt-for-tests")

const realisticPayload: TicketPayload = {
  ticketId: "00112233445566778899",
  kind: "train",
  serviceDate: "2025-01-28",
  departureMinuteOfDay: 7 * 60 + 5,
  priceFen: 55_300,
  trainCode: "G1",
  coach: 5,
  seatCode: "05A",
  fromStation: "BJP",
  toStation: "AOH",
  bindingTag: bindingTagFor("13800138000", bindingSalt),
  keyId
}

/** The longest payload the layout allows: every variable field at its maximum. */
const largestPayload: TicketPayload = {
  ...realisticPayload,
  trainCode: "D3105XYZ",
  seatCode: "123ABC",
  coach: 255,
  priceFen: 0xffff_ffff,
  departureMinuteOfDay: 1439
}

const bytesOf = (text: string): Buffer => Buffer.from(text.slice(ticketTextPrefix.length), "base64url")
const textOf = (bytes: Uint8Array): string => ticketTextPrefix + Buffer.from(bytes).toString("base64url")
const refusalReasons = new Set(["format", "version", "signature", "unknown-key"])

const assertRefused = (result: DecodeResult, context: string): void => {
  assert.equal(result.ok, false, `${context}: accepted`)
  if (!result.ok) assert.ok(refusalReasons.has(result.failure.reason), `${context}: odd reason ${result.failure.reason}`)
}

const reasonOf = (result: DecodeResult): string => (result.ok ? "accepted" : result.failure.reason)

describe("signing keys", () => {
  test("derive the RFC 8032 test vector 1 key and signature from its seed", () => {
    const rfcSeed = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex")
    const key = signingKeyFromSeed(rfcSeed)
    assert.equal(Buffer.from(key.publicKeyRaw).toString("hex"), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    assert.equal(
      sign(null, Buffer.alloc(0), key.privateKey).toString("hex"),
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
  })

  test("the same seed gives the same public key and byte-identical QR text", () => {
    const first = signingKeyFromSeed(seed)
    const second = signingKeyFromSeed(Uint8Array.from(seed))
    assert.deepEqual(first.publicKeyRaw, second.publicKeyRaw)
    assert.equal(first.publicKeyRaw.length, 32)
    assert.equal(encodeTicket(realisticPayload, first.privateKey), encodeTicket(realisticPayload, second.privateKey))
  })

  test("a different seed gives a different key and text", () => {
    const otherSeed = Uint8Array.from(seed, (byte) => byte ^ 0xff)
    const other = signingKeyFromSeed(otherSeed)
    assert.notDeepEqual(other.publicKeyRaw, signingKey.publicKeyRaw)
    assert.notEqual(encodeTicket(realisticPayload, other.privateKey), encodeTicket(realisticPayload, signingKey.privateKey))
  })

  test("wrong key lengths are programming mistakes", () => {
    assert.throws(() => signingKeyFromSeed(new Uint8Array(31)), /32 bytes/)
    assert.throws(() => publicKeyFromRaw(new Uint8Array(33)), /32 bytes/)
  })
})

describe("bindingTagFor", () => {
  test("is the first 8 bytes of HMAC-SHA256 (RFC 4231 test case 2)", () => {
    const tag = bindingTagFor("what do ya want for nothing?", new TextEncoder().encode("Jefe"))
    assert.equal(tag, "5bdcc146bf60754e")
  })

  test("hides the phone number and depends on holder and salt", () => {
    const tag = bindingTagFor("13800138000", bindingSalt)
    assert.match(tag, /^[0-9a-f]{16}$/)
    assert.ok(!tag.includes("13800138000"))
    assert.notEqual(tag, bindingTagFor("13800138001", bindingSalt))
    assert.notEqual(tag, bindingTagFor("13800138000", new TextEncoder().encode("another salt")))
    assert.equal(tag, bindingTagFor("13800138000", bindingSalt))
  })
})

describe("encodeTicket / decodeTicket", () => {
  test("a realistic ticket round-trips", () => {
    const text = encodeTicket(realisticPayload, signingKey.privateKey)
    assert.ok(text.startsWith("CY1:"))
    assert.doesNotMatch(text, /[=+/]/)
    assert.deepEqual(decodeTicket(text, publicKeys), { ok: true, payload: realisticPayload })
  })

  test("the bytes follow the documented layout", () => {
    const bytes = bytesOf(encodeTicket(realisticPayload, signingKey.privateKey))
    assert.equal(bytes[0], 0xc1, "magic/version")
    assert.equal(bytes[1], 1, "kind train")
    assert.equal(bytes.subarray(2, 12).toString("hex"), realisticPayload.ticketId)
    assert.equal(bytes.readUInt16BE(12), 2025)
    assert.deepEqual([...bytes.subarray(14, 18)], [1, 28, 7, 5], "month, day, hour, minute")
    assert.equal(bytes.readUInt32BE(18), 55_300)
    assert.equal(bytes[22], keyId)
    assert.equal(bytes.subarray(23, 31).toString("hex"), realisticPayload.bindingTag)
    assert.equal(bytes.subarray(31, 47).toString("latin1"), "\x02G1\x0305A\x03BJP\x03AOH\x05")
    assert.equal(bytes.length, 47 + signatureBytes)
  })

  test("a cinema ticket is kind 2 and an event ticket kind 3, in the same layout", () => {
    const cinema: TicketPayload = {
      ...realisticPayload, kind: "cinema", trainCode: "F0712", coach: 3, seatCode: "07-12", fromStation: "WDC", toStation: "WDC"
    }
    const event: TicketPayload = { ...cinema, kind: "event", trainCode: "E2027", coach: 12, seatCode: "GA0042", fromStation: "NST", toStation: "NST" }
    for (const [payload, code] of [[cinema, 2], [event, 3]] as const) {
      const text = encodeTicket(payload, signingKey.privateKey)
      const bytes = bytesOf(text)
      assert.equal(bytes[1], code, `kind ${payload.kind}`)
      assert.equal(bytes[bytes.length - signatureBytes - 1], payload.coach, "hall or zone where a train has its coach")
      assert.deepEqual(decodeTicket(text, publicKeys), { ok: true, payload })
    }
  })

  test("a kind byte other than 1, 2, 3 is refused as format even when signed", () => {
    for (const kindCode of [0, 4, 255]) {
      const body = bytesOf(encodeTicket(realisticPayload, signingKey.privateKey)).subarray(0, -signatureBytes)
      body[1] = kindCode
      const resigned = Buffer.concat([body, sign(null, body, signingKey.privateKey)])
      const result = decodeTicket(textOf(resigned), publicKeys)
      assert.equal(result.ok, false)
      if (!result.ok) assert.deepEqual(result.failure, { reason: "format", detail: `unknown kind ${kindCode}` })
    }
  })

  test("realistic and largest tickets fit the 255-byte SIM slot, and the size helper is exact", () => {
    for (const payload of [realisticPayload, largestPayload]) {
      const actualBytes = bytesOf(encodeTicket(payload, signingKey.privateKey)).length
      assert.equal(encodedTicketBytes(payload), actualBytes)
      assert.ok(actualBytes <= maxTicketBytes, `${actualBytes} > ${maxTicketBytes}`)
    }
    assert.equal(encodedTicketBytes(realisticPayload), 111)
  })

  test("flipping any bit pattern of any single byte is refused, never accepted, never thrown", () => {
    const original = bytesOf(encodeTicket(realisticPayload, signingKey.privateKey))
    const signatureStart = original.length - signatureBytes
    for (let index = 0; index < original.length; index++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const mutated = Buffer.from(original)
        mutated[index] = (mutated[index] ?? 0) ^ mask
        const result = decodeTicket(textOf(mutated), publicKeys)
        assertRefused(result, `byte ${index} ^ ${mask}`)
        // Once the fields parse, only the signature stands between a forger and a valid ticket.
        if (index >= signatureStart) assert.equal(reasonOf(result), "signature", `signature byte ${index} ^ ${mask}`)
      }
    }
    const cheaper = Buffer.from(original)
    cheaper.writeUInt32BE(1, 18)
    assert.equal(reasonOf(decodeTicket(textOf(cheaper), publicKeys)), "signature", "price rewritten")
  })

  test("truncated tickets and trailing bytes are refused as format", () => {
    const original = bytesOf(encodeTicket(realisticPayload, signingKey.privateKey))
    for (let length = 0; length < original.length; length++) {
      const result = decodeTicket(textOf(original.subarray(0, length)), publicKeys)
      assertRefused(result, `truncated to ${length}`)
    }
    const longer = decodeTicket(textOf(Buffer.concat([original, Buffer.from([0])])), publicKeys)
    assert.equal(reasonOf(longer), "format", "an extra byte leaves a trailing byte in the body")
    const body = original.subarray(0, original.length - signatureBytes)
    const padded = Buffer.concat([body, Buffer.from([0]), original.subarray(body.length)])
    assert.equal(reasonOf(decodeTicket(textOf(padded), publicKeys)), "format", "a byte between body and signature")
  })

  test("an unknown keyId is refused, and a known keyId with another key fails the signature", () => {
    const unknown = encodeTicket({ ...realisticPayload, keyId: 9 }, signingKey.privateKey)
    const result = decodeTicket(unknown, publicKeys)
    assert.equal(reasonOf(result), "unknown-key")
    const rogueKey = signingKeyFromSeed(new Uint8Array(32).fill(0x42))
    assert.equal(reasonOf(decodeTicket(encodeTicket(realisticPayload, rogueKey.privateKey), publicKeys)), "signature")
    assert.equal(reasonOf(decodeTicket(encodeTicket(realisticPayload, signingKey.privateKey), new Map())), "unknown-key")
  })

  test("prefix and base64url are strict", () => {
    const text = encodeTicket(realisticPayload, signingKey.privateKey)
    const encoded = text.slice(ticketTextPrefix.length)
    assert.equal(reasonOf(decodeTicket("CY2:" + encoded, publicKeys)), "version")
    assert.equal(reasonOf(decodeTicket("cy1:" + encoded, publicKeys)), "format")
    assert.equal(reasonOf(decodeTicket(encoded, publicKeys)), "format")
    assert.equal(reasonOf(decodeTicket(text + "=", publicKeys)), "format", "padding")
    assert.equal(reasonOf(decodeTicket(text + "\n", publicKeys)), "format", "whitespace")
    const standardAlphabet = ticketTextPrefix + bytesOf(text).toString("base64")
    assert.notEqual(standardAlphabet, text, "fixture must contain a base64url-only character")
    assert.equal(reasonOf(decodeTicket(standardAlphabet, publicKeys)), "format")
    // 112 bytes leave 4 unused bits in the last character: setting one must not alias the same ticket.
    const oddLength = encodeTicket({ ...realisticPayload, trainCode: "D31" }, signingKey.privateKey)
    assert.equal(decodeTicket(oddLength, publicKeys).ok, true)
    const lastCharacter = oddLength.at(-1) ?? ""
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    const aliased = oddLength.slice(0, -1) + alphabet[alphabet.indexOf(lastCharacter) ^ 1]
    assert.equal(reasonOf(decodeTicket(aliased, publicKeys)), "format")
  })

  test("a version byte other than 1 is refused as version", () => {
    const bytes = bytesOf(encodeTicket(realisticPayload, signingKey.privateKey))
    bytes[0] = 0xc2
    assert.equal(reasonOf(decodeTicket(textOf(bytes), publicKeys)), "version")
  })

  test("random strings and random bytes never throw and are never accepted", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        assertRefused(decodeTicket(text, publicKeys), JSON.stringify(text))
        assertRefused(decodeTicket(ticketTextPrefix + text, publicKeys), JSON.stringify(text))
      }),
      { numRuns: 2_000 }
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        assertRefused(decodeTicket(textOf(bytes), publicKeys), Buffer.from(bytes).toString("hex"))
      }),
      { numRuns: 2_000 }
    )
  })

  test("random single-byte rewrites of a valid ticket are refused", () => {
    const original = bytesOf(encodeTicket(realisticPayload, signingKey.privateKey))
    fc.assert(
      fc.property(fc.nat(original.length - 1), fc.integer({ min: 1, max: 255 }), (index, delta) => {
        const mutated = Buffer.from(original)
        mutated[index] = ((mutated[index] ?? 0) + delta) % 256
        assertRefused(decodeTicket(textOf(mutated), publicKeys), `byte ${index} + ${delta}`)
      }),
      { numRuns: 1_000 }
    )
  })
})

const validPayload: fc.Arbitrary<TicketPayload> = fc.record({
  ticketId: fc.uint8Array({ minLength: 10, maxLength: 10 }).map((bytes) => Buffer.from(bytes).toString("hex")),
  kind: fc.constantFrom("train" as const, "cinema" as const, "event" as const),
  serviceDate: fc
    .tuple(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }))
    .map(([year, month, day]) => `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`),
  departureMinuteOfDay: fc.integer({ min: 0, max: 1439 }),
  priceFen: fc.integer({ min: 0, max: 0xffff_ffff }),
  trainCode: fc.stringMatching(/^[\x21-\x7e]{1,8}$/),
  coach: fc.integer({ min: 1, max: 255 }),
  seatCode: fc.stringMatching(/^[\x21-\x7e]{1,6}$/),
  fromStation: fc.stringMatching(/^[A-Z]{3}$/),
  toStation: fc.stringMatching(/^[A-Z]{3}$/),
  bindingTag: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((bytes) => Buffer.from(bytes).toString("hex")),
  keyId: fc.constant(keyId)
})

describe("every valid payload", () => {
  test("round-trips and fits the SIM slot", () => {
    fc.assert(
      fc.property(validPayload, (payload) => {
        const text = encodeTicket(payload, signingKey.privateKey)
        // fc.record builds null-prototype objects; strict deepEqual compares prototypes too.
        assert.deepEqual(decodeTicket(text, publicKeys), { ok: true, payload: { ...payload } })
        assert.equal(bytesOf(text).length, encodedTicketBytes(payload))
        assert.ok(encodedTicketBytes(payload) <= maxTicketBytes)
      }),
      { numRuns: 500 }
    )
  })

  test("leap days are dates, 29 February of a common year is not", () => {
    const leapDay = { ...realisticPayload, serviceDate: "2024-02-29" }
    assert.deepEqual(decodeTicket(encodeTicket(leapDay, signingKey.privateKey), publicKeys), { ok: true, payload: leapDay })
    assert.throws(() => encodeTicket({ ...realisticPayload, serviceDate: "2025-02-29" }, signingKey.privateKey), /serviceDate/)
  })
})

describe("encodeTicket refuses out-of-range fields", () => {
  const invalidFields: ReadonlyArray<readonly [string, Partial<Record<keyof TicketPayload, unknown>>]> = [
    ["ticketId", { ticketId: "0011223344556677889" }],
    ["ticketId", { ticketId: "AABBCCDDEEFF00112233" }],
    ["ticketId", { ticketId: "0011223344556677889z" }],
    ["kind", { kind: "bus" }],
    ["kind", { kind: "constructor" }],
    ["serviceDate", { serviceDate: "2025-13-01" }],
    ["serviceDate", { serviceDate: "2025-1-28" }],
    ["serviceDate", { serviceDate: "0000-01-01" }],
    ["departureMinuteOfDay", { departureMinuteOfDay: 1440 }],
    ["departureMinuteOfDay", { departureMinuteOfDay: -1 }],
    ["departureMinuteOfDay", { departureMinuteOfDay: 1.5 }],
    ["priceFen", { priceFen: 2 ** 32 }],
    ["priceFen", { priceFen: -1 }],
    ["priceFen", { priceFen: 0.1 }],
    ["trainCode", { trainCode: "" }],
    ["trainCode", { trainCode: "G123456789" }],
    ["trainCode", { trainCode: "G 1" }],
    ["trainCode", { trainCode: "高1" }],
    ["coach", { coach: 0 }],
    ["coach", { coach: 256 }],
    ["seatCode", { seatCode: "1234567" }],
    ["fromStation", { fromStation: "bjp" }],
    ["toStation", { toStation: "AOHX" }],
    ["bindingTag", { bindingTag: "00112233" }],
    ["keyId", { keyId: 256 }]
  ]
  for (const [field, change] of invalidFields) {
    test(`${field} ${JSON.stringify(change)}`, () => {
      const payload = { ...realisticPayload, ...change } as TicketPayload
      assert.throws(() => encodeTicket(payload, signingKey.privateKey), new RegExp(`encodeTicket: invalid payload: ${field}`))
      assert.throws(() => encodedTicketBytes(payload), new RegExp(field))
    })
  }

  test("a public key cannot sign", () => {
    assert.throws(() => encodeTicket(realisticPayload, publicKeyFromRaw(signingKey.publicKeyRaw)), /Ed25519 private key/)
  })
})
