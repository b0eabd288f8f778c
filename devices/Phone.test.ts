/**
 * The phone's part at the gate and at the seat map (seed 000).
 * At the gate: a camera out of focus (a box blur of 3 camera pixels) cannot read a ticket's 4-px modules; the
 * phone enlarges its code and the same camera reads it, and every unreadable capture and enlargement is in the
 * history. At the seat map: a phone that chooses a seat gets it when it is free, takes any seat of its class
 * when another phone took it meanwhile, or gives up, as its scenario says.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Clock, Effect } from "effect"
import type { Admission } from "../reference/delivery/Checkin/Api.js"
import type { PhoneNumber, StationCode, TicketId } from "../reference/Domain.js"
import { bindingTagFor, encodeTicket, signingKeyFromSeed } from "../reference/delivery/Issuance/TicketCode.js"
import type { TicketPayload } from "../reference/delivery/Issuance/TicketCode.js"
import {
  createRun, freshPhone, freshResidentId, newCustomer, newGate, startTestServer
} from "../reference/testing/TestServer.js"
import type { TestCustomer, TestRun, TestServer } from "../reference/testing/TestServer.js"
import { History } from "../simulator/History.js"
import { directNetwork, instrumentsOf } from "../simulator/Instruments.js"
import { makeClient } from "./Client.js"
import type { ApiClient } from "./Client.js"
import { makeGateScanner, readDisplay } from "./GateScanner.js"
import { HistoryRecorder } from "./Instruments.js"
import type { FaultSchedule } from "./Instruments.js"
import type { Capture, PhoneDisplay } from "./GateScanner.js"
import { maxQrEnlargeAttempts, readAtGate, ticketPollWaitMs } from "./Phone.js"
import { phoneJourney } from "../simulator/journeys/App.js"
import type { Passenger, PhoneEnvironment, QrShower, SeatChoice } from "./Phone.js"
import { defaultMarginModules, renderQr } from "./Qr.js"
import type { HistoryKind } from "./HistoryEvents.js"

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
  const shower: QrShower = { actor: "phone-1", sleepScenario: () => Effect.void }
  const { gate, read } = gateReading()
  const result = Effect.runSync(Effect.either(Effect.flatMap(readAtGate(shower, gate, capture, display),
    (read) => Effect.as(gate.admit(read.text, holder), read))).pipe(Effect.provideService(HistoryRecorder, history)))
  const notes = history.toArray().map((event) => `${event.kind} ${event.outcome} ×${event.detail?.enlargeFactor}`)
  return { result, read, notes }
}

describe("a phone waiting for its ticket", () => {
  test("each poll that finds none doubles the wait, up to the ceiling", () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((poll) => ticketPollWaitMs(poll, 1_000, 4_000)), [1_000, 2_000, 4_000, 4_000, 4_000, 4_000])
    assert.deepEqual([0, 1, 2, 40].map((poll) => ticketPollWaitMs(poll, 300, 1_000)), [300, 600, 1_000, 1_000])
  })

  test("a ceiling equal to the interval keeps every wait the same", () => {
    assert.deepEqual([0, 1, 2, 1_000].map((poll) => ticketPollWaitMs(poll, 1_000, 1_000)), [1_000, 1_000, 1_000, 1_000])
  })
})

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

// ---- at the seat map ----------------------------------------------------------------------------------------

const noFaults: FaultSchedule = { faults: [], active: () => Effect.succeed(undefined), windowOf: () => ({ startMs: 0, endMs: 0 }) }
const boarding = "BJP" as StationCode
const alighting = "TJP" as StationCode

describe("a phone that chooses its seat on the map", () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
  })
  after(() => server.close())

  /**
   * One coach of five seats (01A 01B 01C 01D 01F, windows A and F) on which a rival holds 01F first: the map shows
   * one free window, 01A, and the phone chooses it. `whileThinking` runs once, after the phone read the map. Each
   * test's passenger has its own index (its own idempotency keys) and its own train.
   */
  const journeyOf = async (
    index: number, choice: SeatChoice, whileThinking: (run: TestRun, rival: TestCustomer) => Effect.Effect<void, unknown>
  ) => {
    const run = await server.run(createRun(server.baseUrl, { trainCode: `G70${index}`, stations: [boarding, alighting], seatCount: 5 }))
    const rival = await server.run(newCustomer(server.baseUrl))
    await server.run(rival.client.orders.hold({ payload: { runId: run.runId, fromStation: boarding, toStation: alighting, seat: { coach: 1, seatCode: "01F" } } }))
    const gate = await server.run(newGate(server.baseUrl, `BJP-7${index}`, boarding))
    const gateClient = await server.run(makeClient(server.baseUrl, { "x-device-key": gate.deviceKey }))
    const history = new History()
    let thought = false
    const thinkTime = Effect.suspend(() => {
      if (thought || !history.toArray().some((event) => event.kind === "seat-map")) return Effect.void
      thought = true
      return whileThinking(run, rival).pipe(Effect.orDie)
    })
    const env: PhoneEnvironment = {
      anonymous: await server.run(makeClient(server.baseUrl)),
      runIdOf: () => run.runId, serviceDateOf: () => run.serviceDate,
      sleepScenario: () => Effect.void, scenarioNowMs: Clock.currentTimeMillis, thinkTime,
      gatesAt: () => [makeGateScanner(gateClient, gate.gateId, boarding)],
      cameraAt: () => Effect.succeed({}),
      departureEpochMs: () => 0, ticketPollIntervalMs: 1, maxTicketPollIntervalMs: 1, maxTicketPolls: 3,
      arriveBeforeDepartureMs: { min: 0, max: 0 }, qrPixelSampleRate: 0,
      seatChoice: choice, seatClassOf: (_, coach) => coach === 1 ? "second" : undefined
    }
    const passenger: Passenger = {
      index, phone: freshPhone() as PhoneNumber, residentId: freshResidentId(), trip: { train: 0, fromStation: boarding, toStation: alighting }
    }
    await server.run(phoneJourney(env, passenger).pipe(Effect.provide(instrumentsOf(history, directNetwork, noFaults))))
    const ofPhone = history.toArray().filter((event) => event.actor === `phone-${index}`)
    const line = (kind: HistoryKind) => ofPhone.filter((event) => event.kind === kind).map((event) => ({ outcome: event.outcome, seat: event.detail?.seat }))
    return { ofPhone, line }
  }

  /** The rival holds 01A, the seat the phone chose, while the phone thinks it over. */
  const rivalTakes01A = (run: TestRun, rival: TestCustomer) =>
    rival.client.orders.hold({ payload: { runId: run.runId, fromStation: boarding, toStation: alighting, seat: { coach: 1, seatCode: "01A" } } })

  test("the chosen seat is free: the phone holds it, pays (the ticket in the answer), and is admitted", async () => {
    const { line } = await journeyOf(1, { share: 1, fallbackShare: 1 }, () => Effect.void)
    assert.deepEqual(line("seat-map").map((read) => read.outcome), ["ok"])
    assert.deepEqual(line("hold-seat"), [{ outcome: "ok", seat: "01A" }])
    assert.deepEqual(line("hold"), [])
    assert.deepEqual(line("ticket-received").map((received) => received.outcome), ["ok"])
    assert.deepEqual(line("get-ticket"), [], "the payment's answer carried the ticket: the phone asked for it no more")
    assert.deepEqual(line("scan").map((scan) => scan.outcome), ["ok"])
  })

  test("another phone took it meanwhile: the phone holds any seat of its class, pays, and is admitted", async () => {
    const { line, ofPhone } = await journeyOf(2, { share: 1, fallbackShare: 1 }, rivalTakes01A)
    assert.deepEqual(line("hold-seat"), [{ outcome: "SeatTaken", seat: undefined }])
    const [fallback] = line("hold")
    assert.equal(fallback?.outcome, "ok")
    assert.ok(["01B", "01C", "01D"].includes(String(fallback?.seat)), `a free seat of the class, got ${fallback?.seat}`)
    const hold = ofPhone.find((event) => event.kind === "hold")
    assert.deepEqual([hold?.detail?.seatClass, hold?.detail?.fallbackFrom], ["second", "1/01A"])
    assert.deepEqual(line("scan").map((scan) => scan.outcome), ["ok"])
  })

  test("another phone took it, and this passenger does not settle for another: gives up, holding nothing", async () => {
    const { line } = await journeyOf(3, { share: 1, fallbackShare: 0 }, rivalTakes01A)
    assert.deepEqual(line("hold-seat"), [{ outcome: "SeatTaken", seat: undefined }])
    assert.deepEqual(line("hold"), [])
    assert.deepEqual(line("gave-up").map((gaveUp) => gaveUp.outcome), ["SeatTaken"])
  })

  test("a passenger who does not choose reads no map and takes any seat", async () => {
    const { line } = await journeyOf(4, { share: 0, fallbackShare: 1 }, () => Effect.void)
    assert.deepEqual(line("seat-map"), [])
    assert.deepEqual(line("hold-seat"), [])
    assert.deepEqual(line("hold").map((hold) => hold.outcome), ["ok"])
  })
})
