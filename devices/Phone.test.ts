/**
 * The phone's part at the gate (seed 000): a camera out of focus (a box blur of 3 camera pixels) cannot read a
 * ticket's 4-px modules; the phone enlarges its code and the same camera reads it, and every unreadable capture
 * and enlargement is in the history.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Effect } from "effect"
import type { Admission } from "../reference/Checkin/Api.js"
import type { StationCode, TicketId } from "../reference/Domain.js"
import { bindingTagFor, encodeTicket, signingKeyFromSeed } from "../reference/Issuance/TicketCode.js"
import type { TicketPayload } from "../reference/Issuance/TicketCode.js"
import { History } from "../simulator/History.js"
import type { ApiClient } from "./Client.js"
import { makeGateScanner, readDisplay } from "./GateScanner.js"
import type { Capture, PhoneDisplay } from "./GateScanner.js"
import { maxQrEnlargeAttempts, showQrAtGate } from "./Phone.js"
import type { QrShower } from "./Phone.js"
import { defaultMarginModules, renderQr } from "./Qr.js"

// ---- at the gate --------------------------------------------------------------------------------------------

const payload: TicketPayload = {
  ticketId: "a1b2c3d4e5f60718293a", kind: "train", serviceDate: "2027-01-28", departureMinuteOfDay: 10 * 60 + 32, priceFen: 21_800,
  trainCode: "G1", coach: 3, seatCode: "12F", fromStation: "JNK", toStation: "NJH",
  bindingTag: bindingTagFor("13800138000", new TextEncoder().encode("salt")), keyId: 1
}
const ticketText = encodeTicket(payload, signingKeyFromSeed(Uint8Array.from({ length: 32 }, (_, index) => 100 + index)).privateKey)
const holder = "13800138000"

/** A gate whose server admits whatever text its camera read, and keeps the texts. */
const gateReading = () => {
  const read: Array<string> = []
  const server = {
    checkin: {
      scan: ({ payload: scanned }: { payload: { qr: string } }) => Effect.sync((): Admission => {
        read.push(scanned.qr)
        return { ticketId: payload.ticketId as TicketId, admittedAtMs: 0, coach: 3, seatCode: "12F", fromStation: "JNK" as StationCode, toStation: "NJH" as StationCode }
      })
    }
  } as unknown as ApiClient
  return { gate: makeGateScanner(server, "JNK-01", "JNK"), read }
}

const showing = (display: PhoneDisplay, capture: Capture) => {
  const history = new History(Effect.succeed(0))
  const shower: QrShower = { actor: "phone-1", history, scenarioNowMs: Effect.succeed(0), sleepScenario: () => Effect.void }
  const { gate, read } = gateReading()
  const result = Effect.runSync(Effect.either(showQrAtGate(shower, gate, capture, display, holder)))
  const notes = history.events.map((event) => `${event.kind} ${event.outcome} ×${event.detail?.enlargeFactor}`)
  return { result, read, notes }
}

describe("a phone at a gate whose camera cannot read its code", () => {
  const blurred: Capture = { blurRadiusPx: 3 }

  test("a 3-px blur spoils the code at its own size, from pixels or from a screen shown as text", () => {
    assert.equal(readDisplay({ kind: "pixels", image: renderQr(ticketText) }, blurred), undefined)
    assert.equal(readDisplay({ kind: "text", text: ticketText }, blurred), undefined)
  })

  for (const display of [{ kind: "text", text: ticketText }, { kind: "pixels", image: renderQr(ticketText) }] satisfies ReadonlyArray<PhoneDisplay>) {
    test(`the phone enlarges its code ×2 and the same blurred camera reads it (screen sampled as ${display.kind})`, () => {
      const { result, read, notes } = showing(display, blurred)
      assert.equal(result._tag, "Right", "admitted")
      if (result._tag === "Right") assert.equal(result.right.enlargeFactor, 2)
      assert.deepEqual(read, [ticketText], "the server got the ticket's text once")
      assert.deepEqual(notes, ["qr-unreadable UnreadableCode ×1", "qr-enlarged ok ×2"])
    })
  }

  test("glare over a finder pattern: the light stays where it falls on the screen, and the enlarged code is read", () => {
    const modulesAcross = renderQr(ticketText).width / 4
    const finderFraction = (defaultMarginModules + 3.5) / modulesAcross
    const glare: Capture = { glare: { centerXFraction: finderFraction, centerYFraction: finderFraction, radiusFraction: 5 / modulesAcross } }
    const { result, notes } = showing({ kind: "text", text: ticketText }, glare)
    assert.equal(result._tag, "Right")
    assert.deepEqual(notes, ["qr-unreadable UnreadableCode ×1", "qr-enlarged ok ×2"])
  })

  test(`a blur too wide for every size: the phone gives up after ${maxQrEnlargeAttempts} enlargements, each recorded`, () => {
    const { result, read, notes } = showing({ kind: "text", text: ticketText }, { blurRadiusPx: 24 })
    assert.equal(result._tag, "Left")
    if (result._tag === "Left") assert.equal(result.left._tag, "UnreadableCode")
    assert.deepEqual(read, [])
    assert.deepEqual(notes, ["qr-unreadable UnreadableCode ×1", "qr-enlarged ok ×2", "qr-unreadable UnreadableCode ×2", "qr-enlarged ok ×4", "qr-unreadable UnreadableCode ×4"])
  })

  test("a clean camera reads the code as it is: nothing enlarged, nothing recorded", () => {
    const { result, notes } = showing({ kind: "text", text: ticketText }, {})
    assert.equal(result._tag, "Right")
    if (result._tag === "Right") assert.equal(result.right.enlargeFactor, 1)
    assert.deepEqual(notes, [])
  })
})
