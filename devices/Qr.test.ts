import assert from "node:assert/strict"
import { describe, test } from "node:test"
import QRCode from "qrcode"
import {
  bindingTagFor,
  decodeTicket,
  encodeTicket,
  publicKeyFromRaw,
  signingKeyFromSeed
} from "../reference/delivery/Issuance/TicketCode.js"
import type { TicketPayload } from "../reference/delivery/Issuance/TicketCode.js"
import { applyBlur, applyGlare, decodeQr, enlargeQr, renderQr } from "./Qr.js"
import type { PixelImage } from "./Qr.js"

const signingKey = signingKeyFromSeed(Uint8Array.from({ length: 32 }, (_, index) => 200 - index))
const keyId = 1
const payload: TicketPayload = {
  ticketId: "a1b2c3d4e5f60718293a",
  kind: "train",
  serviceDate: "2025-01-28",
  departureMinuteOfDay: 14 * 60 + 30,
  priceFen: 62_350,
  trainCode: "G1",
  coach: 8,
  seatCode: "12F",
  fromStation: "BJP",
  toStation: "AOH",
  bindingTag: bindingTagFor("13800138000", new TextEncoder().encode("salt")),
  keyId
}
const ticketText = encodeTicket(payload, signingKey.privateKey)
const ticketImage = renderQr(ticketText)
const moduleCount = QRCode.create(ticketText, { errorCorrectionLevel: "M" }).modules.size

const pixelAt = (image: PixelImage, x: number, y: number): ReadonlyArray<number> => {
  const offset = (y * image.width + x) * 4
  return [...image.rgba.subarray(offset, offset + 4)]
}
const whitePixel = [255, 255, 255, 255]
const blackPixel = [0, 0, 0, 255]
const countGreyPixels = (image: PixelImage): number => {
  let grey = 0
  for (let offset = 0; offset < image.rgba.length; offset += 4) {
    const red = image.rgba[offset] ?? 0
    if (red !== 0 && red !== 255) grey++
  }
  return grey
}

describe("renderQr / decodeQr", () => {
  test("ticket text → pixels → the exact text, which still verifies", () => {
    assert.equal(decodeQr(ticketImage), ticketText)
    const publicKeys = new Map([[keyId, publicKeyFromRaw(signingKey.publicKeyRaw)]])
    assert.deepEqual(decodeTicket(decodeQr(ticketImage) ?? "", publicKeys), { ok: true, payload })
  })

  test("defaults: 4 px modules, 4-module white quiet zone, pure black and white", () => {
    const expectedSizePx = (moduleCount + 2 * 4) * 4
    assert.equal(ticketImage.width, expectedSizePx)
    assert.equal(ticketImage.height, expectedSizePx)
    assert.equal(ticketImage.rgba.length, expectedSizePx * expectedSizePx * 4)
    assert.ok(ticketImage.rgba instanceof Uint8ClampedArray)
    assert.deepEqual(pixelAt(ticketImage, 15, 15), whitePixel, "quiet zone")
    assert.deepEqual(pixelAt(ticketImage, 16, 16), blackPixel, "top-left finder pattern corner")
    assert.equal(countGreyPixels(ticketImage), 0)
  })

  test("options change the geometry and still decode", () => {
    const image = renderQr(ticketText, { moduleSizePx: 3, marginModules: 2 })
    assert.equal(image.width, (moduleCount + 4) * 3)
    assert.deepEqual(pixelAt(image, 6, 6), blackPixel)
    assert.equal(decodeQr(image), ticketText)
  })

  test("the same text renders byte-identical pixels", () => {
    assert.deepEqual(renderQr(ticketText).rgba, ticketImage.rgba)
  })

  test("a blank image decodes to nothing", () => {
    const blank = { width: 64, height: 64, rgba: new Uint8ClampedArray(64 * 64 * 4).fill(255) }
    assert.equal(decodeQr(blank), undefined)
  })

  test("bad options and malformed images are programming mistakes", () => {
    assert.throws(() => renderQr(ticketText, { moduleSizePx: 0 }), /moduleSizePx/)
    assert.throws(() => renderQr(ticketText, { marginModules: 1.5 }), /marginModules/)
    assert.throws(() => decodeQr({ width: 10, height: 10, rgba: new Uint8ClampedArray(10) }), /rgba/)
  })
})

describe("enlargeQr", () => {
  test("×2 doubles every pixel (nearest neighbour) and still decodes", () => {
    const enlarged = enlargeQr(ticketImage, 2)
    assert.equal(enlarged.width, ticketImage.width * 2)
    assert.equal(enlarged.height, ticketImage.height * 2)
    for (let y = 0; y < enlarged.height; y += 7) {
      for (let x = 0; x < enlarged.width; x += 5) {
        assert.deepEqual(pixelAt(enlarged, x, y), pixelAt(ticketImage, Math.floor(x / 2), Math.floor(y / 2)), `(${x}, ${y})`)
      }
    }
    assert.equal(decodeQr(enlarged), ticketText)
  })

  test("×1 is a copy; factors outside 1..8 are refused", () => {
    assert.deepEqual(enlargeQr(ticketImage, 1), ticketImage)
    assert.throws(() => enlargeQr(ticketImage, 0), /factor/)
    assert.throws(() => enlargeQr(ticketImage, 9), /factor/)
    assert.throws(() => enlargeQr(ticketImage, 1.5), /factor/)
  })
})

describe("camera faults", () => {
  const center = { centerX: ticketImage.width / 2, centerY: ticketImage.height / 2 }

  test("heavy glare over the centre third of the code makes decoding fail", () => {
    // The disc circumscribes the central square a third of the image wide (half-diagonal w/3·√2/2).
    const radiusPx = (ticketImage.width / 3) * (Math.SQRT2 / 2)
    const glared = applyGlare(ticketImage, { ...center, radiusPx })
    assert.deepEqual(pixelAt(glared, Math.floor(center.centerX), Math.floor(center.centerY)), whitePixel)
    assert.equal(decodeQr(glared), undefined)
  })

  test("a small glare spot is corrected by error correction", () => {
    const glared = applyGlare(ticketImage, { ...center, radiusPx: ticketImage.width / 20 })
    assert.notDeepEqual(glared.rgba, ticketImage.rgba, "the spot must whiten some dark modules")
    assert.equal(decodeQr(glared), ticketText)
  })

  test("glare washes only the disc and leaves the input untouched", () => {
    const before = new Uint8ClampedArray(ticketImage.rgba)
    const glared = applyGlare(ticketImage, { centerX: 16, centerY: 16, radiusPx: 4 })
    assert.deepEqual(ticketImage.rgba, before)
    assert.deepEqual(pixelAt(glared, 16, 16), whitePixel, "inside")
    assert.deepEqual(pixelAt(glared, 22, 16), blackPixel, "outside (finder pattern edge)")
    assert.throws(() => applyGlare(ticketImage, { ...center, radiusPx: -1 }), /radius/)
  })

  test("light blur greys the edges but still decodes", () => {
    const blurred = applyBlur(ticketImage, 1)
    assert.ok(countGreyPixels(blurred) > 1_000, "blur must soften module edges")
    assert.equal(decodeQr(blurred), ticketText)
  })

  test("heavy blur fails, and enlarging the code first lets the same blur through", () => {
    assert.equal(decodeQr(applyBlur(ticketImage, 3)), undefined)
    assert.equal(decodeQr(applyBlur(enlargeQr(ticketImage, 2), 3)), ticketText)
  })

  test("blur radius 0 is the identity; out-of-range radii are refused", () => {
    assert.deepEqual(applyBlur(ticketImage, 0), ticketImage)
    assert.throws(() => applyBlur(ticketImage, -1), /radiusPx/)
    assert.throws(() => applyBlur(ticketImage, 33), /radiusPx/)
  })
})
