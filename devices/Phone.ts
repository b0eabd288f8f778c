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
import { payForOrder } from "./Payment.js"
import type { PaymentMethod } from "./Payment.js"
import { renderQr } from "./Qr.js"

export interface Passenger {
  readonly index: number
  readonly phone: PhoneNumber
  /** GB 11643, valid: registration requires it */
  readonly residentId: string
  readonly fromStation: StationCode
  readonly toStation: StationCode
}

export interface PhoneEnvironment {
  readonly history: History
  readonly anonymous: ApiClient
  readonly runId: RunId
  readonly serviceDate: ServiceDate
  /** sleep on the scenario's timeline (virtual ms; scaled to wall time in real mode) */
  readonly sleepScenario: (ms: number) => Effect.Effect<void>
  readonly scenarioNowMs: Effect.Effect<number>
  /** one-way network delay before a request and after its answer (virtual mode); Effect.void in real mode */
  readonly networkDelay: Effect.Effect<void>
  readonly thinkTime: Effect.Effect<void>
  readonly gatesAt: (station: string) => ReadonlyArray<GateScanner>
  readonly departureEpochMs: (station: string) => number
  readonly ticketPollIntervalMs: number
  readonly maxTicketPolls: number
  readonly arriveBeforeDepartureMs: { readonly min: number; readonly max: number }
  readonly qrPixelSampleRate: number
  /** how this run's phones pay (devices/Payment.ts) */
  readonly payment: PaymentMethod
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
export const phoneJourney = (env: PhoneEnvironment, passenger: Passenger, afterPurchase: Effect.Effect<void> = Effect.void) => {
  const actor = `phone-${passenger.index}`
  const call = <A, E, R>(kind: string, effect: Effect.Effect<A, E, R>, detailOf?: (value: A) => Record<string, string | number | boolean | null>) =>
    recorded(env.history, actor, kind, env.networkDelay.pipe(Effect.zipRight(effect), Effect.zipLeft(env.networkDelay)), detailOf)

  return Effect.gen(function* () {
    const offers = yield* call("search", env.anonymous.catalog.search({
      urlParams: { from: passenger.fromStation, to: passenger.toStation, date: env.serviceDate }
    }))
    const offer = offers.find((candidate) => candidate.runId === env.runId)
    if (!offer || offer.availableSeats === 0) return yield* gaveUp("no seats at search")
    yield* env.thinkTime
    yield* call("register", env.anonymous.customers.register({
      payload: { phone: passenger.phone, password: passwordOf(passenger), paymentPassword: paymentPasswordOf(passenger), residentId: passenger.residentId }
    }))
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
        payload: { runId: env.runId, fromStation: passenger.fromStation, toStation: passenger.toStation }
      }), (held) => ({ orderId: held.orderId, coach: held.coach, seat: held.seatCode, priceFen: held.priceFen, ...claimDetail(held) }))
      yield* env.thinkTime
      const { issued, payStartMs } = yield* payForOrder({
        client, call, method: env.payment, order, passengerIndex: passenger.index, paymentPassword: paymentPasswordOf(passenger)
      })
      const ticket = yield* awaitTicket(client, order.orderId, issued)
      const receivedMs = yield* Clock.currentTimeMillis
      env.history.add({
        atMs: yield* env.scenarioNowMs, actor, kind: "ticket-received", outcome: "ok",
        detail: { orderId: order.orderId, ticketId: ticket.ticketId, paymentToIssuanceMs: receivedMs - payStartMs }
      })
      return ticket.qr
    }).pipe(withCredentials(bearer(token)))
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
      const departureMs = env.departureEpochMs(passenger.fromStation)
      const earlyMs = yield* Random.nextIntBetween(env.arriveBeforeDepartureMs.min, env.arriveBeforeDepartureMs.max + 1)
      const nowMs = yield* env.scenarioNowMs
      yield* env.sleepScenario(Math.max(0, departureMs - earlyMs - nowMs))
      const gates = env.gatesAt(passenger.fromStation)
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
