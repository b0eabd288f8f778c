/**
 * The `kiosk` and `app-pickup` journeys (seed 001, 004). Both use the stations' kiosks, registered once per
 * run by whichever journey is prepared first: the operator registers each kiosk (its device key), sets the
 * simulated bank's normal latency, and a station attendant goes through each kiosk's print queue now and then.
 * `kiosk`: a walk-up passenger buys at a kiosk of the boarding station with card + PIN, and leaves with the
 * printed ticket and receipt. `app-pickup`: the passenger buys with the app (wallet), then prints the ticket at
 * a kiosk before the train leaves, by voucher code or by phone number + resident ID. `remote-card` (seed 001
 * claim 8): the passenger books in the app or telephones the call centre, giving the passenger's name and the
 * card that will pay; later, at a kiosk of the boarding station, swipes that card (some first swipe another of
 * their cards, which is refused with nothing charged), keys the PIN, and leaves with the ticket and the receipt.
 * Some never come: their bookings expire as unpaid holds.
 * The `bank-slowdown` fault is the bank's: switched on and off through `PUT /admin/bank/conditions`.
 */
import { Clock, Effect, Random } from "effect"
import { makeCardReader, panOf, readModes } from "../../devices/CardReader.js"
import type { BankCard, ReadMode } from "../../devices/CardReader.js"
import { bearer, makeClient, withCredentials } from "../../devices/Client.js"
import type { ApiClient } from "../../devices/Client.js"
import { gaveUpReason, makeKiosk, pickupAtKiosk, remoteCardPayment, walkUpSale } from "../../devices/Kiosk.js"
import type { Kiosk } from "../../devices/Kiosk.js"
import { makeCallCentreAgent } from "../../devices/CallCentreAgent.js"
import type { CallCentreAgent } from "../../devices/CallCentreAgent.js"
import { appPhone, awaitTicket, bookRemoteCard, holdSeat, logIn, payFromWallet, recordTicketReceived, registerCustomer } from "../../devices/Phone.js"
import type { Passenger, PhoneEnvironment, Sending, Trip } from "../../devices/Phone.js"
import type { Fen, PhoneNumber, ServiceDate } from "../../reference/Domain.js"
import type { KioskId } from "../../reference/payments/Payments/Api.js"
import type { AgentId } from "../../reference/ticketing/RemoteBookings/Api.js"
import type { BankConditions } from "../../reference/Simulated/Bank.js"
import type { KioskSetup } from "../../scenarios/Kiosks.js"
import { outcomeOf } from "../../devices/HistoryEvents.js"
import { HistoryRecorder, note, recorded, recordNow } from "../../devices/Instruments.js"
import type { Instruments, Recorder } from "../../devices/Instruments.js"
import type { JourneyContext, JourneyPreparer, PreparedJourney } from "../Journeys.js"
import { scenarioEndMs, weightedIndex } from "../Population.js"
import { departureOf, phoneEnvironment } from "../Setup.js"

/** UnionPay-style BINs of a few issuers the walk-up passengers' cards come from */
const cardBins = ["622202", "621700", "622848", "621661", "622588"]
/** the most lines of reader log kept per run (the newest); enough for a test to read them all */
const maxReaderLogLines = 50_000

/** The card reader logs of a run, by its history: what the readers wrote, for tests that look for a PAN in them. */
export const readerLogOf = new WeakMap<Recorder, Array<string>>()

interface Stations {
  readonly setup: KioskSetup
  readonly kiosksAt: (station: string) => ReadonlyArray<Kiosk>
  readonly admin: ApiClient
  readonly normalBank: BankConditions
  readonly attendants: ReadonlyArray<Effect.Effect<void, unknown, Instruments>>
  /** the call centre's agents (`remote-card`); none when the scenario has no remote bookers */
  readonly agents: ReadonlyArray<CallCentreAgent>
}

const stationsOfRun = new WeakMap<JourneyContext, Stations>()

const setUpKiosks = (context: JourneyContext, setup: KioskSetup) =>
  Effect.gen(function* () {
    const admin = yield* makeClient(context.baseUrl, { "x-admin-key": context.adminKey })
    const normalBank: BankConditions = { latencyMs: setup.bank.latencyMs, latencyJitterMs: setup.bank.latencyJitterMs, extraLatencyMs: 0, declineRate: 0 }
    yield* admin.paymentsAdmin.setBankConditions({ payload: normalBank })
    const readerLog: Array<string> = []
    readerLogOf.set(yield* HistoryRecorder, readerLog)
    const log = (line: string) => {
      readerLog.push(line)
      if (readerLog.length > maxReaderLogLines) readerLog.shift()
    }
    const boarding = [...new Set(context.scenario.trains.flatMap((train) => train.stops.slice(0, -1).map((stop) => stop.station)))]
    const byStation = new Map<string, Array<Kiosk>>()
    for (const station of setup.stations ?? boarding) {
      const kiosks: Array<Kiosk> = []
      for (let number = 1; number <= setup.perStation; number++) {
        const kioskId = `${station}-K${String(number).padStart(2, "0")}` as KioskId
        const registered = yield* admin.paymentsAdmin.registerKiosk({ payload: { kioskId, station: station } })
        const client = yield* makeClient(context.baseUrl, { "x-device-key": registered.deviceKey })
        const reader = makeCardReader(`reader-${kioskId}`, { readFailureRate: setup.cards.readFailureRate, sleep: context.timing.sleepScenario, log })
        kiosks.push(makeKiosk({ sleepScenario: context.timing.sleepScenario, printers: setup.printers }, kioskId, station, client, reader))
      }
      byStation.set(station, kiosks)
    }
    const endMs = scenarioEndMs(context.scenario)
    const attendant = (kiosk: Kiosk) => Effect.gen(function* () {
      while ((yield* context.timing.scenarioNowMs) + setup.attendantRoundMs <= endMs) {
        yield* context.timing.sleepScenario(setup.attendantRoundMs)
        yield* kiosk.serve(Effect.ignore(kiosk.printPending))
      }
    })
    const agents: Array<CallCentreAgent> = []
    for (let number = 1; number <= (setup.remoteCard?.agents ?? 0); number++) {
      const agentId = `agent-${String(number).padStart(3, "0")}` as AgentId
      const password = agentPasswordOf(number)
      yield* admin.agentsAdmin.putAgent({ path: { agentId }, payload: { password } })
      agents.push(makeCallCentreAgent({ sleepScenario: context.timing.sleepScenario }, agentId, password, yield* makeClient(context.baseUrl)))
    }
    const stations: Stations = {
      setup, admin, normalBank, kiosksAt: (station) => byStation.get(station) ?? [],
      attendants: [...byStation.values()].flat().map(attendant), agents
    }
    return stations
  })

/** The run's kiosks, set up by the first kiosk journey prepared; the attendants start with that journey only. */
const kioskStations = (context: JourneyContext) =>
  Effect.gen(function* () {
    const known = stationsOfRun.get(context)
    if (known) return { stations: known, first: false }
    const setup = context.scenario.kiosks
    if (!setup) return yield* Effect.dieMessage(`scenario ${context.scenario.name} has kiosk journeys but no kiosks`)
    const stations = yield* setUpKiosks(context, setup)
    stationsOfRun.set(context, stations)
    return { stations, first: true }
  })

const preparedWith = (stations: Stations, first: boolean, start: PreparedJourney["start"]): PreparedJourney => ({
  start,
  background: first ? stations.attendants : [],
  faultActions: {
    "bank-slowdown": {
      start: (fault) => stations.admin.paymentsAdmin.setBankConditions({
        payload: { ...stations.normalBank, extraLatencyMs: fault.extraLatencyMs, declineRate: fault.declineRate }
      }),
      end: () => stations.admin.paymentsAdmin.setBankConditions({ payload: stations.normalBank })
    }
  }
})

const pickKiosk = (stations: Stations, station: string) =>
  Effect.gen(function* () {
    const kiosks = stations.kiosksAt(station)
    if (kiosks.length === 0) return undefined
    return kiosks[kiosks.length === 1 ? 0 : yield* Random.nextIntBetween(0, kiosks.length)]
  })

const gaveUp = (actor: string, reason: string) => note(actor, "gave-up", reason)

/** The PAN and PIN of passenger `index`'s card: a function of the index alone (no draw from Random). */
export const cardSecretsOf = (index: number) => ({
  pan: panOf(cardBins[index % cardBins.length]!, index),
  pin: String(100_000 + ((index * 7_919) % 900_000))
})

/** The passenger's bank card: issued at the simulated bank when the passenger first needs it. */
const cardOf = (stations: Stations, passenger: Passenger) =>
  Effect.gen(function* () {
    const { cards } = stations.setup
    const { pan, pin } = cardSecretsOf(passenger.index)
    const poor = cards.poorCardRate > 0 && (yield* Random.next) < cards.poorCardRate
    const issued = yield* stations.admin.paymentsAdmin.issueBankCard({ payload: { pan, pin, balanceFen: (poor ? 100 : cards.balanceFen) as Fen } })
    const weights = readModes.map((mode) => cards.modes[mode] ?? 0)
    const readMode: ReadMode = readModes[yield* weightedIndex(weights)]!
    const card: BankCard = { pan, token: issued.cardToken }
    return { card, pin, readMode }
  })

const walkUpJourney = (context: JourneyContext, stations: Stations) => (passenger: Passenger, afterPurchase: Effect.Effect<void>) => {
  const actor = `walkup-${passenger.index}`
  const { scenario, timing, prepared } = context
  const thinkTime = Effect.flatMap(Random.nextIntBetween(scenario.passengers.thinkTimeMs.min, scenario.passengers.thinkTimeMs.max + 1), timing.sleepScenario)
  return Effect.gen(function* () {
    const trip = passenger.trip
    if (!trip) return yield* Effect.dieMessage(`walk-up passenger ${passenger.index} has no trip`)
    // nobody walks up for a train that has left; one about to leave the kiosk's search shows closed (SalesClosed)
    if ((yield* timing.scenarioNowMs) >= departureOf(scenario)(trip.train, trip.fromStation)) return yield* gaveUp(actor, "train already left")
    const kiosk = yield* pickKiosk(stations, trip.fromStation)
    if (!kiosk) return yield* gaveUp(actor, "no kiosk at station")
    const { card, pin, readMode } = yield* cardOf(stations, passenger)
    const givesPhone = (yield* Random.next) < stations.setup.walkUpPhoneShare
    const sold = yield* kiosk.serve(walkUpSale(kiosk, {
      passengerIndex: passenger.index, runId: prepared.runIds[trip.train]!, serviceDate: scenario.trains[trip.train]!.serviceDate as ServiceDate,
      fromStation: trip.fromStation, toStation: trip.toStation, ...(givesPhone ? { phone: passenger.phone } : {}),
      card, readMode, pin, mistypedPinRate: stations.setup.cards.mistypedPinRate, maxPinAttempts: stations.setup.cards.maxPinAttempts,
      maxIssuerRetries: stations.setup.bank.maxIssuerRetries, issuerRetryAfterMs: stations.setup.bank.issuerRetryAfterMs, thinkTime
    }))
    yield* recordNow({
      actor, kind: "ticket-received", outcome: "ok",
      detail: { orderId: sold.orderId, ticketId: sold.ticketId, paymentToIssuanceMs: sold.paymentToIssuanceMs, kiosk: kiosk.kioskId, jobId: sold.jobId }
    })
  }).pipe(
    Effect.catchAll((error) => gaveUp(actor, gaveUpReason(error))),
    Effect.ensuring(afterPurchase)
  )
}

/** `kiosk`: walk-up card + PIN sales at the boarding station's kiosks */
export const prepareKioskJourney: JourneyPreparer = (context) =>
  Effect.map(kioskStations(context), ({ stations, first }) => preparedWith(stations, first, walkUpJourney(context, stations)))

/**
 * How the pickup journey's phone sends: without the app journey's transport retries and resent lost answers, and
 * without keys and transfers in the history (it was written so, and its trace keeps it so).
 */
const pickupSending: Sending = { transportRetries: false, resendLostAnswers: false, detailed: false }

/**
 * The app purchase of devices/Phone.ts (register, log in, hold, top up, pay from the wallet, await the ticket),
 * without the search, ending with the session and the order instead of a walk to the gate.
 */
const appPurchase = (env: PhoneEnvironment, passenger: Passenger, trip: Trip, actor: string) =>
  Effect.gen(function* () {
    const phone = appPhone(env, actor, pickupSending)
    yield* registerCustomer(phone, passenger)
    yield* env.thinkTime
    const token = yield* logIn(phone, passenger)
    return yield* Effect.gen(function* () {
      const order = yield* holdSeat(phone, trip)
      const payment = yield* payFromWallet(phone, passenger, order)
      // asks for the ticket at once, whatever the payment's answer said
      const ticket = yield* awaitTicket(phone, order.orderId, true)
      yield* recordTicketReceived(phone, { orderId: order.orderId, ticketId: ticket.ticketId, paymentStartMs: payment.startMs })
      return { token, orderId: order.orderId }
    }).pipe(withCredentials(bearer(token)))
  })

const appPickupJourney = (context: JourneyContext, stations: Stations, env: PhoneEnvironment) => (passenger: Passenger, afterPurchase: Effect.Effect<void>) => {
  const actor = `phone-${passenger.index}`
  const { timing } = context
  return Effect.gen(function* () {
    const trip = passenger.trip
    if (!trip) return yield* Effect.dieMessage(`app-pickup passenger ${passenger.index} has no trip`)
    const bought = yield* appPurchase(env, passenger, trip, actor).pipe(Effect.ensuring(afterPurchase))
    const byVoucher = (yield* Random.next) < stations.setup.pickupByVoucherShare
    const voucher = byVoucher
      ? yield* recorded(actor, "get-voucher", env.anonymous.delivery.getVoucher({ path: { orderId: bought.orderId } }).pipe(withCredentials(bearer(bought.token))))
      : undefined
    const earlyMs = yield* Random.nextIntBetween(stations.setup.pickupBeforeDepartureMs.min, stations.setup.pickupBeforeDepartureMs.max + 1)
    const nowMs = yield* timing.scenarioNowMs
    yield* timing.sleepScenario(Math.max(0, env.departureEpochMs(trip.train, trip.fromStation) - earlyMs - nowMs))
    if ((yield* timing.scenarioNowMs) >= env.departureEpochMs(trip.train, trip.fromStation)) return yield* gaveUp(actor, "train already left")
    const kiosk = yield* pickKiosk(stations, trip.fromStation)
    if (!kiosk) return yield* gaveUp(actor, "no kiosk at station")
    const startMs = yield* Clock.currentTimeMillis
    const jobs = yield* kiosk.serve(pickupAtKiosk(kiosk, voucher
      ? { voucherCode: voucher.display }
      : { phone: passenger.phone as PhoneNumber, residentId: passenger.residentId }, voucher ? "voucher" : "phone"))
    const atKioskMs = (yield* Clock.currentTimeMillis) - startMs
    yield* recordNow({
      actor, kind: "ticket-picked-up", outcome: "ok",
      detail: { orderId: bought.orderId, jobs: jobs.length, by: voucher ? "voucher" : "phone", kiosk: kiosk.kioskId, atKioskMs }
    })
  }).pipe(Effect.catchAll((error) => gaveUp(actor, gaveUpReason(error) === "UnknownError" ? outcomeOf(error) : gaveUpReason(error))))
}

/** `app-pickup`: buy in the app, print the ticket at a kiosk of the boarding station before the train leaves */
export const prepareAppPickupJourney: JourneyPreparer = (context) =>
  Effect.gen(function* () {
    const { stations, first } = yield* kioskStations(context)
    const env = yield* phoneEnvironment(context.scenario, context.prepared, context.baseUrl, context.timing, context.faults)
    return preparedWith(stations, first, appPickupJourney(context, stations, env))
  })

/** an agent's password, as the operator set it: a function of the agent's number alone */
export const agentPasswordOf = (number: number) => `agent-password-${String(number).padStart(3, "0")}`
/** a remote booker comes to the kiosk no later than this before the train leaves */
export const latestKioskVisitBeforeDepartureMs = 10 * 60_000
/** the other card some remote bookers swipe first: another account number, at another issuer */
export const otherCardAccountOffset = 500_000_000

const drawMs = (range: { readonly min: number; readonly max: number }) => Random.nextIntBetween(range.min, range.max + 1)

/** The booking, in the app (register, log in, book) or by a call to the call centre (an agent books for the caller). */
const bookRemotely = (
  context: JourneyContext, stations: Stations, env: PhoneEnvironment, passenger: Passenger, trip: Trip, booking: { passengerName: string; cardNumber: string }
) =>
  Effect.gen(function* () {
    const remote = stations.setup.remoteCard
    if (!remote || stations.agents.length === 0) return yield* Effect.dieMessage("the remote-card journey needs kiosks.remoteCard")
    if ((yield* Random.next) < remote.callCentreShare) {
      const agent = stations.agents[passenger.index % stations.agents.length]!
      return yield* agent.serve(({ book }) => Effect.gen(function* () {
        yield* context.timing.sleepScenario(yield* drawMs(remote.callMs))
        const booked = yield* book({
          passengerIndex: passenger.index, callerPhone: passenger.phone, runId: context.prepared.runIds[trip.train]!,
          fromStation: trip.fromStation, toStation: trip.toStation, ...booking
        })
        return { orderId: booked.orderId, by: "call-centre" as const }
      }))
    }
    const phone = appPhone(env, `phone-${passenger.index}`, pickupSending)
    yield* registerCustomer(phone, passenger)
    yield* env.thinkTime
    const token = yield* logIn(phone, passenger)
    const booked = yield* bookRemoteCard(phone, trip, booking).pipe(withCredentials(bearer(token)))
    return { orderId: booked.orderId, by: "app" as const }
  })

const remoteCardJourney = (context: JourneyContext, stations: Stations, env: PhoneEnvironment) => (passenger: Passenger, afterPurchase: Effect.Effect<void>) => {
  const actor = `remote-${passenger.index}`
  const { timing, scenario } = context
  return Effect.gen(function* () {
    const trip = passenger.trip
    const remote = stations.setup.remoteCard
    if (!trip || !remote) return yield* Effect.dieMessage(`remote-card passenger ${passenger.index} has no trip or no remote-card setup`)
    const departureMs = departureOf(scenario)(trip.train, trip.fromStation)
    if ((yield* timing.scenarioNowMs) >= departureMs) return yield* gaveUp(actor, "train already left")
    const { card, pin, readMode } = yield* cardOf(stations, passenger)
    const booking = yield* bookRemotely(context, stations, env, passenger, trip, { passengerName: `Passenger ${passenger.index}`, cardNumber: card.pan }).pipe(
      Effect.ensuring(afterPurchase))
    yield* note(actor, "remote-booked", "ok", { orderId: booking.orderId, by: booking.by })
    if ((yield* Random.next) < remote.noShowRate) {
      yield* note(actor, "remote-no-show", "ok", { orderId: booking.orderId })
      return
    }
    const latestMs = departureMs - latestKioskVisitBeforeDepartureMs - (yield* timing.scenarioNowMs)
    yield* timing.sleepScenario(Math.max(0, Math.min(yield* drawMs(remote.kioskAfterBookingMs), latestMs)))
    if ((yield* timing.scenarioNowMs) >= departureMs) return yield* gaveUp(actor, "train already left")
    const kiosk = yield* pickKiosk(stations, trip.fromStation)
    if (!kiosk) return yield* gaveUp(actor, "no kiosk at station")
    const wrongCard = (yield* Random.next) < remote.wrongCardRate ? yield* otherCardOf(stations, passenger, pin) : undefined
    const sold = yield* kiosk.serve(remoteCardPayment(kiosk, {
      passengerIndex: passenger.index, orderId: booking.orderId, card, readMode, pin, ...(wrongCard ? { wrongCard } : {}),
      mistypedPinRate: stations.setup.cards.mistypedPinRate, maxPinAttempts: stations.setup.cards.maxPinAttempts,
      maxIssuerRetries: stations.setup.bank.maxIssuerRetries, issuerRetryAfterMs: stations.setup.bank.issuerRetryAfterMs
    }))
    yield* recordNow({
      actor, kind: "ticket-received", outcome: "ok",
      detail: { orderId: sold.orderId, ticketId: sold.ticketId, paymentToIssuanceMs: sold.paymentToIssuanceMs, kiosk: kiosk.kioskId, jobId: sold.jobId, remote: booking.by }
    })
  }).pipe(Effect.catchAll((error) => gaveUp(actor, gaveUpReason(error))))
}

/** Another card of the passenger's, at the simulated bank: what a booker who swipes the wrong card swipes first. */
const otherCardOf = (stations: Stations, passenger: Passenger, pin: string) =>
  Effect.gen(function* () {
    const pan = panOf(cardBins[(passenger.index + 1) % cardBins.length]!, passenger.index + otherCardAccountOffset)
    const issued = yield* stations.admin.paymentsAdmin.issueBankCard({ payload: { pan, pin, balanceFen: stations.setup.cards.balanceFen as Fen } })
    const card: BankCard = { pan, token: issued.cardToken }
    return card
  })

/** `remote-card`: book in the app or through the call centre with the paying card, pay by swiping it at a kiosk */
export const prepareRemoteCardJourney: JourneyPreparer = (context) =>
  Effect.gen(function* () {
    const { stations, first } = yield* kioskStations(context)
    const env = yield* phoneEnvironment(context.scenario, context.prepared, context.baseUrl, context.timing, context.faults)
    return preparedWith(stations, first, remoteCardJourney(context, stations, env))
  })
