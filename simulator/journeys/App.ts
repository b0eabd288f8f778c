/**
 * `app`: a passenger's phone app from search to gate (seed 000). It searches, registers, logs in, holds a seat
 * (any seat, or one chosen on the seat map), pays from the wallet or through the gateway, waits for the ticket and
 * shows its QR at a gate of the boarding station. What each step sends is the phone's (devices/Phone.ts); this
 * module is the order of the steps and when the passenger gives up.
 */
import { Effect, Random } from "effect"
import { outcomeOf } from "../../devices/HistoryEvents.js"
import { note } from "../../devices/Instruments.js"
import type { OrderId } from "../../reference/Domain.js"
import { bearer, withCredentials } from "../../devices/Client.js"
import type { ApiClient } from "../../devices/Client.js"
import type { PhoneDisplay } from "../../devices/GateScanner.js"
import { payByGateway } from "../../devices/GatewayPayment.js"
import type { GatewayPayer, GatewayPaymentLimits } from "../../devices/GatewayPayment.js"
import {
  appPhone, awaitTicket, holdChosenSeat, holdSeat, logIn, noOfferAtSearch, payFromWallet, readAtGate, recordTicketReceived, registerCustomer
} from "../../devices/Phone.js"
import type { Passenger, PhoneEnvironment, QrShower, Trip } from "../../devices/Phone.js"
import { renderQr } from "../../devices/Qr.js"
import type { JourneyPreparer } from "../Journeys.js"
import { phoneEnvironment } from "../Setup.js"

/** `app`: register, log in, hold a seat, top up, pay from the wallet, await the ticket, show its QR at the gate */
export const prepareAppJourney: JourneyPreparer = (context) =>
  Effect.map(
    phoneEnvironment(context.scenario, context.prepared, context.baseUrl, context.timing, context.faults),
    (environment) => ({ start: (passenger, afterPurchase) => phoneJourney(environment, passenger, afterPurchase) })
  )

/**
 * `afterPurchase` runs once the ticket is in hand (or the purchase gave up), before the walk to the
 * gate: real mode frees the passenger's in-flight slot there, as a k6 iteration frees its VU.
 */
export const phoneJourney = (env: PhoneEnvironment, passenger: Passenger, afterPurchase: Effect.Effect<void> = Effect.void) =>
  passenger.trip
    ? trainJourney(env, passenger, passenger.trip, afterPurchase)
    : Effect.dieMessage(`passenger ${passenger.index} has no train trip: the app journey needs one`)

const trainJourney = (env: PhoneEnvironment, passenger: Passenger, trip: Trip, afterPurchase: Effect.Effect<void>) => {
  const phone = appPhone(env, `phone-${passenger.index}`)
  const { actor, call } = phone

  return Effect.gen(function* () {
    const noOffer = yield* noOfferAtSearch(phone, trip)
    if (noOffer) return yield* gaveUp(noOffer)
    yield* env.thinkTime
    yield* registerCustomer(phone, passenger)
    yield* env.thinkTime
    return yield* signedIn(yield* logIn(phone, passenger))
  }).pipe(
    Effect.catchAll((error) => Effect.as(gaveUp(outcomeOf(error)), undefined)),
    Effect.ensuring(afterPurchase),
    Effect.flatMap((qr) => qr === undefined ? Effect.void : goToGate(qr).pipe(
      Effect.catchAll((error) => gaveUp(outcomeOf(error)))
    ))
  )

  /** Everything after login runs with the session token on every request. */
  function signedIn(token: string) {
    return Effect.gen(function* () {
      // drawn only when the scenario has seat choice: a scenario without it keeps its trace
      const choice = env.seatChoice !== undefined && (yield* Random.next) < env.seatChoice.share ? env.seatChoice : undefined
      const order = yield* (choice ? holdChosenSeat(phone, trip, choice) : holdSeat(phone, trip))
      yield* env.thinkTime
      const payment = env.gatewayPayment
        ? yield* gatewayPaid(env.anonymous, order.orderId, env.gatewayPayment)
        : yield* payFromWallet(phone, passenger, order)
      const ticket = yield* awaitTicket(phone, order.orderId, payment.issued, payment.ticket)
      yield* recordTicketReceived(phone, { orderId: order.orderId, ticketId: ticket.ticketId, paymentStartMs: payment.startMs })
      return ticket.qr
    }).pipe(withCredentials(bearer(token)))
  }

  /** Pay through the gateway (GatewayPayment.ts); a payment given up (declined, no answer) ends the purchase. */
  function gatewayPaid(client: ApiClient, orderId: OrderId, limits: GatewayPaymentLimits) {
    return Effect.gen(function* () {
      const payer: GatewayPayer = { actor, client, call, sleepScenario: env.sleepScenario }
      const outcome = yield* payByGateway(payer, orderId, `gw-${String(passenger.index).padStart(8, "0")}`, limits)
      if (outcome._tag === "GaveUp") return yield* Effect.fail({ _tag: `GatewayGaveUp:${outcome.reason}` as const })
      return { startMs: outcome.paymentStartMs, issued: true, ticket: undefined }
    })
  }

  function gaveUp(reason: string) {
    return note(actor, "gave-up", reason)
  }

  function goToGate(qr: string) {
    return Effect.gen(function* () {
      const departureMs = env.departureEpochMs(trip.train, trip.fromStation)
      const earlyMs = yield* Random.nextIntBetween(env.arriveBeforeDepartureMs.min, env.arriveBeforeDepartureMs.max + 1)
      const nowMs = yield* env.scenarioNowMs
      yield* env.sleepScenario(Math.max(0, departureMs - earlyMs - nowMs))
      const gates = env.gatesAt(trip.fromStation)
      const gateIndex = yield* Random.nextIntBetween(0, gates.length)
      const gate = gates[gateIndex]
      if (!gate) return yield* Effect.fail({ _tag: "NoGateAtStation" as const })
      const sampled = (yield* Random.next) < env.qrPixelSampleRate
      const display: PhoneDisplay = sampled ? { kind: "pixels", image: renderQr(qr) } : { kind: "text", text: qr }
      const capture = yield* env.cameraAt(gateIndex)
      const shower: QrShower = { actor, sleepScenario: env.sleepScenario }
      // the camera reads (re-presentations included) before the gate's request goes out: the scan's latency is the admission's
      const read = yield* readAtGate(shower, gate, capture, display)
      yield* call("scan", gate.admit(read.text, passenger.phone), (admission) => ({
        ticketId: admission.ticketId, gate: gate.gateId, pixels: sampled, ...(read.enlargeFactor > 1 ? { enlargeFactor: read.enlargeFactor } : {})
      }))
    })
  }
}
