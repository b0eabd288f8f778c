/**
 * A passenger's phone (seed 000): search, register, log in, hold a seat for its segment, top up and pay
 * from the wallet with the payment password (idempotency keys, so a retry never charges twice), wait for
 * the ticket, then show its QR at a gate of the boarding station. Every call goes through `call`, which
 * adds the network delay of virtual mode and records the call in the history.
 */
import { Clock, Effect, Random } from "effect"
import type { History } from "../simulator/History.js"
import { outcomeOf, recorded } from "../simulator/History.js"
import type { PhoneNumber, RunId, ServiceDate, StationCode } from "../reference/Domain.js"
import { bearer, withCredentials } from "./Client.js"
import type { ApiClient } from "./Client.js"
import type { GateScanner, PhoneDisplay } from "./GateScanner.js"
import { renderQr } from "./Qr.js"
import { withLostAnswers, withTransportRetries } from "./ClientRetries.js"
import { payByGateway } from "./GatewayPayment.js"
import type { GatewayPayer, GatewayPaymentLimits } from "./GatewayPayment.js"
import type { FaultSchedule } from "../simulator/FaultSchedule.js"

/** a train journey: which of the scenario's trains, from where to where */
export interface Trip {
  readonly train: number
  readonly fromStation: StationCode
  readonly toStation: StationCode
}

export interface Passenger {
  readonly index: number
  readonly phone: PhoneNumber
  /** GB 11643, valid: registration requires it */
  readonly residentId: string
  /** present for the journeys that buy a train ticket */
  readonly trip?: Trip
}

export interface PhoneEnvironment {
  readonly history: History
  readonly anonymous: ApiClient
  readonly faults: FaultSchedule
  readonly runIdOf: (trainIndex: number) => RunId
  readonly serviceDateOf: (trainIndex: number) => ServiceDate
  /** sleep on the scenario's timeline (virtual ms; scaled to wall time in real mode) */
  readonly sleepScenario: (ms: number) => Effect.Effect<void>
  readonly scenarioNowMs: Effect.Effect<number>
  /** one-way network delay before a request and after its answer (virtual mode); Effect.void in real mode */
  readonly networkDelay: Effect.Effect<void>
  readonly thinkTime: Effect.Effect<void>
  readonly gatesAt: (station: string) => ReadonlyArray<GateScanner>
  readonly departureEpochMs: (trainIndex: number, station: string) => number
  readonly ticketPollIntervalMs: number
  readonly maxTicketPolls: number
  readonly arriveBeforeDepartureMs: { readonly min: number; readonly max: number }
  readonly qrPixelSampleRate: number
  /** pay through the third-party gateway with these limits (`app-gateway`) instead of from the wallet */
  readonly gatewayPayment?: GatewayPaymentLimits
}

/** What the hold's claim cost, as the server told (only the fields it sent: a plain hold's trace is unchanged). */
const claimDetail = (held: { queuePosition?: number | undefined; queueWaitMs?: number | undefined; claimAttempts?: number | undefined; groupCommitSize?: number | undefined }) => ({
  ...(held.claimAttempts !== undefined && held.claimAttempts > 1 ? { claimAttempts: held.claimAttempts } : {}),
  ...(held.queuePosition === undefined ? {} : { queuePosition: held.queuePosition }),
  ...(held.queueWaitMs === undefined ? {} : { queueWaitMs: held.queueWaitMs }),
  ...(held.groupCommitSize === undefined ? {} : { groupCommitSize: held.groupCommitSize })
})

export const passwordOf = (passenger: Passenger) => `pw-${passenger.phone}`
export const paymentPasswordOf = (passenger: Passenger) => String(100_000 + (passenger.index % 900_000))

/**
 * `afterPurchase` runs once the ticket is in hand (or the purchase gave up), before the walk to the
 * gate: real mode frees the passenger's in-flight slot there, as a k6 iteration frees its VU.
 */
export const phoneJourney = (env: PhoneEnvironment, passenger: Passenger, afterPurchase: Effect.Effect<void> = Effect.void) =>
  passenger.trip
    ? trainJourney(env, passenger, passenger.trip, afterPurchase)
    : Effect.dieMessage(`passenger ${passenger.index} has no train trip: the app journey needs one`)

const trainJourney = (env: PhoneEnvironment, passenger: Passenger, trip: Trip, afterPurchase: Effect.Effect<void>) => {
  const actor = `phone-${passenger.index}`
  const overTheNetwork = <A, E, R>(effect: Effect.Effect<A, E, R>) => env.networkDelay.pipe(Effect.zipRight(effect), Effect.zipLeft(env.networkDelay))
  const call = <A, E, R>(kind: string, effect: Effect.Effect<A, E, R>, detailOf?: (value: A) => Record<string, string | number | boolean | null>) =>
    withTransportRetries(env.sleepScenario, recorded(env.history, actor, kind, overTheNetwork(effect), detailOf))
  /**
   * A call with an idempotency key: its answer may be lost (client-timeouts fault) and it is sent again. The key
   * and the answer's transfer are recorded (lost or not), so the auditor can count the charges of a key.
   */
  const retriedCall = <A, E, R>(kind: string, key: string, effect: Effect.Effect<A, E, R>, detailOf: (value: A) => Record<string, string | number | boolean | null>) =>
    withLostAnswers(env, actor, kind, call(kind, effect, (value) => ({ key, ...detailOf(value) })), overTheNetwork(effect), { key, detailOf })
  const runId = env.runIdOf(trip.train)

  return Effect.gen(function* () {
    const offers = yield* call("search", env.anonymous.catalog.search({
      urlParams: { from: trip.fromStation, to: trip.toStation, date: env.serviceDateOf(trip.train) }
    }))
    const offer = offers.find((candidate) => candidate.runId === runId)
    if (!offer || offer.availableSeats === 0) return yield* gaveUp("no seats at search")
    yield* env.thinkTime
    yield* call("register", env.anonymous.customers.register({
      payload: { phone: passenger.phone, password: passwordOf(passenger), paymentPassword: paymentPasswordOf(passenger), residentId: passenger.residentId }
    })).pipe(
      // a registration whose answer a crash cut off may have been stored: the phone goes on to log in
      Effect.catchTag("PhoneAlreadyRegistered", () => Effect.void)
    )
    yield* env.thinkTime
    const session = yield* call("login", env.anonymous.customers.login({ payload: { phone: passenger.phone, password: passwordOf(passenger) } }))
    return yield* signedIn(session.token)
  }).pipe(
    Effect.catchAll((error) => Effect.as(gaveUp(outcomeOf(error)), undefined)),
    Effect.ensuring(afterPurchase),
    Effect.flatMap((qr) => qr === undefined ? Effect.void : goToGate(qr).pipe(
      Effect.catchAll((error) => gaveUp(outcomeOf(error)))
    ))
  )

  /** Everything after login runs with the session token on every request. */
  function signedIn(token: string) {
    const client = env.anonymous
    return Effect.gen(function* () {
      const order = yield* call("hold", client.orders.hold({
        payload: { runId, fromStation: trip.fromStation, toStation: trip.toStation }
      }), (held) => ({ orderId: held.orderId, coach: held.coach, seat: held.seatCode, priceFen: held.priceFen, ...claimDetail(held) }))
      yield* env.thinkTime
      const payment = env.gatewayPayment
        ? yield* gatewayPaid(client, order.orderId, env.gatewayPayment)
        : yield* walletPaid(order)
      const ticket = yield* awaitTicket(client, order.orderId, payment.issued)
      const receivedMs = yield* Clock.currentTimeMillis
      env.history.add({
        atMs: yield* env.scenarioNowMs, actor, kind: "ticket-received", outcome: "ok",
        detail: { orderId: order.orderId, ticketId: ticket.ticketId, paymentToIssuanceMs: receivedMs - payment.startMs }
      })
      return ticket.qr
    }).pipe(withCredentials(bearer(token)))
  }

  /** Top up the fare and pay from the wallet; both with idempotency keys, so a lost answer is sent again safely. */
  function walletPaid(order: { orderId: Parameters<ApiClient["accounts"]["pay"]>[0]["path"]["orderId"]; priceFen: number }) {
    const client = env.anonymous
    return Effect.gen(function* () {
      const topUpKey = `topup-${String(passenger.index).padStart(8, "0")}`
      yield* retriedCall("top-up", topUpKey, client.accounts.topUp({
        headers: { "idempotency-key": topUpKey }, payload: { amountFen: order.priceFen as never }
      }), (topUp) => ({ transferId: topUp.transferId }))
      const startMs = yield* Clock.currentTimeMillis
      const payKey = `pay-${String(passenger.index).padStart(8, "0")}`
      const payment = yield* retriedCall("pay", payKey, client.accounts.pay({
        path: { orderId: order.orderId }, headers: { "idempotency-key": payKey },
        payload: { paymentPassword: paymentPasswordOf(passenger) }
      }), (paid) => ({ orderId: paid.orderId, state: paid.state, transferId: paid.transferId }))
      return { startMs, issued: payment.ticketId !== null }
    })
  }

  /** Pay through the gateway (GatewayPayment.ts); a payment given up (declined, no answer) ends the purchase. */
  function gatewayPaid(client: ApiClient, orderId: Parameters<ApiClient["accounts"]["pay"]>[0]["path"]["orderId"], limits: GatewayPaymentLimits) {
    return Effect.gen(function* () {
      const payer: GatewayPayer = { actor, client, history: env.history, call, sleepScenario: env.sleepScenario, scenarioNowMs: env.scenarioNowMs }
      const outcome = yield* payByGateway(payer, orderId, `gw-${String(passenger.index).padStart(8, "0")}`, limits)
      if (outcome._tag === "GaveUp") return yield* Effect.fail({ _tag: `GatewayGaveUp:${outcome.reason}` as const })
      return { startMs: outcome.paymentStartMs, issued: true }
    })
  }

  function gaveUp(reason: string) {
    return Effect.flatMap(env.scenarioNowMs, (atMs) =>
      Effect.sync(() => env.history.add({ atMs, actor, kind: "gave-up", outcome: reason })))
  }

  function awaitTicket(client: ApiClient, orderId: Parameters<ApiClient["issuance"]["getTicket"]>[0]["path"]["orderId"], issued: boolean) {
    return Effect.gen(function* () {
      for (let poll = 0; ; poll++) {
        if (issued || poll > 0) {
          const ticket = yield* call("get-ticket", client.issuance.getTicket({ path: { orderId } })).pipe(
            Effect.catchTag("TicketNotIssued", () => Effect.succeed(undefined))
          )
          if (ticket) return ticket
        }
        if (poll >= env.maxTicketPolls) return yield* Effect.fail({ _tag: "TicketNeverArrived" as const })
        yield* env.sleepScenario(env.ticketPollIntervalMs)
      }
    })
  }

  function goToGate(qr: string) {
    return Effect.gen(function* () {
      const departureMs = env.departureEpochMs(trip.train, trip.fromStation)
      const earlyMs = yield* Random.nextIntBetween(env.arriveBeforeDepartureMs.min, env.arriveBeforeDepartureMs.max + 1)
      const nowMs = yield* env.scenarioNowMs
      yield* env.sleepScenario(Math.max(0, departureMs - earlyMs - nowMs))
      const gates = env.gatesAt(trip.fromStation)
      const gate = gates[yield* Random.nextIntBetween(0, gates.length)]
      if (!gate) return yield* Effect.fail({ _tag: "NoGateAtStation" as const })
      const sampled = (yield* Random.next) < env.qrPixelSampleRate
      const display: PhoneDisplay = sampled ? { kind: "pixels", image: renderQr(qr) } : { kind: "text", text: qr }
      yield* call("scan", gate.scan(display, passenger.phone), (admission) => ({
        ticketId: admission.ticketId, gate: gate.gateId, pixels: sampled
      }))
    })
  }
}
