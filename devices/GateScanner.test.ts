/**
 * What the gate's reader gets: a clean capture decodes, glare over a finder pattern really spoils the pixels
 * (jsQR finds no code), glare is applied to a text display too (rendered first), and a SIM carrier's bytes
 * give back the very QR text the server issued.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { ticketTextPrefix } from "../reference/delivery/Issuance/TicketCode.js"
import { readDisplay } from "./GateScanner.js"
import { defaultMarginModules, renderQr } from "./Qr.js"

const ticketBytes = Buffer.from(Array.from({ length: 120 }, (_, index) => (index * 37) % 256))
const qrText = ticketTextPrefix + ticketBytes.toString("base64url")

describe("gate reader", () => {
  const image = renderQr(qrText)
  const modulesAcross = image.width / 4
  // the top-left finder pattern's centre: 3.5 modules in from the quiet zone
  const finderFraction = (defaultMarginModules + 3.5) / modulesAcross
  const glareOnFinder = { centerXFraction: finderFraction, centerYFraction: finderFraction, radiusFraction: 5 / modulesAcross }

  test("a clean capture reads the QR text, from pixels or as text", () => {
    assert.equal(readDisplay({ kind: "pixels", image }), qrText)
    assert.equal(readDisplay({ kind: "text", text: qrText }), qrText)
  })

  test("glare over a finder pattern leaves jsQR nothing to read, whether the screen was sampled as pixels or not", () => {
    assert.equal(readDisplay({ kind: "pixels", image }, { glare: glareOnFinder }), undefined)
    assert.equal(readDisplay({ kind: "text", text: qrText }, { glare: glareOnFinder }), undefined)
    // a speck of glare in the quiet zone's corner is survived
    assert.equal(readDisplay({ kind: "pixels", image }, { glare: { centerXFraction: 0.01, centerYFraction: 0.01, radiusFraction: 0.01 } }), qrText)
  })

  test("a SIM carrier's bytes over RFID/NFC give the issued text; a camera fault does not touch them", () => {
    assert.equal(readDisplay({ kind: "carrier", bytes: Uint8Array.from(ticketBytes) }), qrText)
    assert.equal(readDisplay({ kind: "carrier", bytes: Uint8Array.from(ticketBytes) }, { glare: glareOnFinder }), qrText)
  })
})
