/**
 * A passenger's phone app (seed 000) and what each of its steps sends: search, register, log in, hold a seat for
 * its segment (any seat, or one chosen on the seat map), top up and pay from the wallet with the payment password
 * (idempotency keys, so a retry never charges twice), wait for the ticket, show its QR at a gate (enlarged when the
 * camera cannot read it). The order of the steps, the app journey, is simulator/journeys/App.ts. Every call goes through `call`, which sends it over the run's
 * network and records it in the history (both services: devices/Instruments.ts).
 */
import { Clock, Effect, Random } from "effect"
import type { EventDetail, HistoryKind } from "./HistoryEvents.js"
import { note, overTheNetwork, recorded, recordNow } from "./Instruments.js"
import type { HistoryRecorder, Instruments, NetworkModel } from "./Instruments.js"
import type { SeatMap } from "../reference/ticketing/Catalog/Api.js"
import type { Order } from "../reference/ticketing/Orders/Api.js"
import type { Ticket } from "../reference/delivery/Issuance/Api.js"
import type { Fen, OrderId, PhoneNumber, RunId, ServiceDate, StationCode } from "../reference/Domain.js"
import type { ApiClient } from "./Client.js"
import { captureOfEnlarged, UnreadableCode } from "./GateScanner.js"
import type { Capture, GateScanner, PhoneDisplay } from "./GateScanner.js"
import { enlargeQr, maxEnlargeFactor, renderQr } from "./Qr.js"
import { withLostAnswers, withTransportRetries } from "./ClientRetries.js"
import type { ClientTimedOut } from "./ClientRetries.js"
import { heldSeatDetail } from "./HeldSeat.js"
import type { GatewayPaymentLimits } from "./GatewayPayment.js"
import type { CardNumber } from "../reference/ticketing/RemoteBookings/Api.js"

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

/** How a share of the app's passengers choose their seat (the scenario's `passengers.seatChoice`). */
export interface SeatChoice {
  /** share of the passengers who read the seat map and choose a seat rather than take any seat */
  readonly share: number
  /** share of those whose chosen seat was taken meanwhile who take any seat of its class; the rest give up */
  readonly fallbackShare: number
}

/** What every phone of a run shares; its history, network and faults are services (devices/Instruments.ts). */
export interface PhoneEnvironment {
  readonly anonymous: ApiClient
  readonly runIdOf: (trainIndex: number) => RunId
  readonly serviceDateOf: (trainIndex: number) => ServiceDate
  /** sleep on the scenario's timeline (virtual ms; scaled to wall time in real mode) */
  readonly sleepScenario: (ms: number) => Effect.Effect<void>
  readonly scenarioNowMs: Effect.Effect<number>
  readonly thinkTime: Effect.Effect<void>
  readonly gatesAt: (station: string) => ReadonlyArray<GateScanner>
  /** the camera of gate `gateIndex` of a station now: its faults (glare, blur) for a code shown at its own size */
  readonly cameraAt: (gateIndex: number) => Effect.Effect<Capture>
  readonly departureEpochMs: (trainIndex: number, station: string) => number
  readonly ticketPollIntervalMs: number
  /** the longest wait between two polls for a ticket: each poll that finds none doubles the wait, up to this */
  readonly maxTicketPollIntervalMs: number
  readonly maxTicketPolls: number
  readonly arriveBeforeDepartureMs: { readonly min: number; readonly max: number }
  readonly qrPixelSampleRate: number
  /** absent: every hold takes any seat */
  readonly seatChoice?: SeatChoice
  /** the class of a train's coach, as the app shows it beside the seat map */
  readonly seatClassOf: (trainIndex: number, coach: number) => string | undefined
  /** pay through the third-party gateway with these limits (`app-gateway`) instead of from the wallet */
  readonly gatewayPayment?: GatewayPaymentLimits
}

/** What the hold's claim cost, as the server told (only the fields it sent: a plain hold's trace is unchanged). */
export const claimDetail = (held: {
  queuePosition?: number | undefined; queueWaitMs?: number | undefined; claimAttempts?: number | undefined; groupCommitSize?: number | undefined
  displacedHolds?: number | undefined
}) => ({
  ...(held.claimAttempts !== undefined && held.claimAttempts > 1 ? { claimAttempts: held.claimAttempts } : {}),
  ...(held.queuePosition === undefined ? {} : { queuePosition: held.queuePosition }),
  ...(held.queueWaitMs === undefined ? {} : { queueWaitMs: held.queueWaitMs }),
  ...(held.groupCommitSize === undefined ? {} : { groupCommitSize: held.groupCommitSize }),
  ...(held.displacedHolds === undefined ? {} : { displacedHolds: held.displacedHolds })
})

export const passwordOf = (passenger: Passenger) => `pw-${passenger.phone}`
export const paymentPasswordOf = (passenger: Passenger) => String(100_000 + (passenger.index % 900_000))

// ---- the app purchase's steps: the app journey below, the carrier phone (CarrierPhone.ts) and the kiosk pickup
// journey (simulator/journeys/Kiosk.ts) each put them together in their own order ----------------------------

type Detail = EventDetail

/** How a phone's calls go out, and what the history keeps of them. */
export interface Sending {
  /** a request that never reached the server, or whose connection broke (a crashed server), is sent again */
  readonly transportRetries: boolean
  /** a request with an idempotency key whose answer was lost (the client-timeouts fault) is sent again */
  readonly resendLostAnswers: boolean
  /** the history keeps each idempotency key with the transfer its answer made (invariant 8), and the hold's claim cost */
  readonly detailed: boolean
}

/** The app journey's: everything. */
export const appSending: Sending = { transportRetries: true, resendLostAnswers: true, detailed: true }

/** A phone while it buys: its environment, its name in the history, and its calls. */
export interface AppPhone {
  readonly env: PhoneEnvironment
  readonly actor: string
  readonly sending: Sending
  /** one request over the network (`NetworkModel`), recorded in the history */
  readonly call: <A, E, R>(kind: HistoryKind, effect: Effect.Effect<A, E, R>, detailOf?: (value: A) => Detail) =>
    Effect.Effect<A, E, R | HistoryRecorder | NetworkModel>
  /** a request carrying idempotency key `key` (see `Sending`) */
  readonly keyedCall: <A, E, R>(kind: HistoryKind, key: string, effect: Effect.Effect<A, E, R>, detailOf?: (value: A) => Detail) =>
    Effect.Effect<A, E | ClientTimedOut, R | Instruments>
}

export const appPhone = (env: PhoneEnvironment, actor: string, sending: Sending = appSending): AppPhone => {
  const call = <A, E, R>(kind: HistoryKind, effect: Effect.Effect<A, E, R>, detailOf?: (value: A) => Detail) => {
    const send = recorded(actor, kind, overTheNetwork(effect), detailOf)
    return sending.transportRetries ? withTransportRetries(env.sleepScenario, send) : send
  }
  const keyedCall = <A, E, R>(kind: HistoryKind, key: string, effect: Effect.Effect<A, E, R>, detailOf?: (value: A) => Detail) => {
    if (!sending.resendLostAnswers) return call(kind, effect, detailOf)
    // the key and the answer's transfer are recorded (lost or not), so the auditor can count the charges of a key
    if (!sending.detailed) return withLostAnswers(env, actor, kind, call(kind, effect, detailOf), overTheNetwork(effect))
    return withLostAnswers(env, actor, kind, call(kind, effect, (value) => ({ key, ...detailOf?.(value) })), overTheNetwork(effect), {
      key, ...(detailOf ? { detailOf } : {})
    })
  }
  return { env, actor, sending, call, keyedCall }
}

/** Why the search offers no seat on the trip's train (none free, or its sales have closed); undefined when it offers one. */
export const noOfferAtSearch = (phone: AppPhone, trip: Trip) =>
  Effect.map(phone.call("search", phone.env.anonymous.catalog.search({
    urlParams: { from: trip.fromStation, to: trip.toStation, date: phone.env.serviceDateOf(trip.train) }
  })), (offers) => {
    const offer = offers.find((candidate) => candidate.runId === phone.env.runIdOf(trip.train))
    if (offer === undefined || offer.availableSeats === 0) return "no seats at search"
    return offer.onSale ? undefined : "sales closed at search"
  })

export const registerCustomer = (phone: AppPhone, passenger: Passenger) =>
  phone.call("register", phone.env.anonymous.customers.register({
    payload: { phone: passenger.phone, password: passwordOf(passenger), paymentPassword: paymentPasswordOf(passenger), residentId: passenger.residentId }
  })).pipe(
    // a registration whose answer a crash cut off may have been stored: the phone goes on to log in
    Effect.catchTag("PhoneAlreadyRegistered", () => Effect.void)
  )

/** The session token; every step after it runs with the token on its requests (`withCredentials(bearer(token))`). */
export const logIn = (phone: AppPhone, passenger: Passenger) =>
  Effect.map(phone.call("login", phone.env.anonymous.customers.login({ payload: { phone: passenger.phone, password: passwordOf(passenger) } })),
    (session) => session.token)

/** What the history keeps of a hold's answer. */
const heldDetail = (phone: AppPhone) => (held: Order) => ({
  orderId: held.orderId, coach: held.coach, seat: held.seatCode, priceFen: held.priceFen, ...heldSeatDetail(held),
  ...(phone.sending.detailed ? claimDetail(held) : {})
})

export const holdSeat = (phone: AppPhone, trip: Trip) =>
  phone.call("hold", phone.env.anonymous.orders.hold({
    payload: { runId: phone.env.runIdOf(trip.train), fromStation: trip.fromStation, toStation: trip.toStation }
  }), heldDetail(phone))

/** A seat on a train: its coach and its code in the coach ("05A"). */
export interface TrainSeat {
  readonly coach: number
  readonly seatCode: string
}

/** the window seats of a train row, in every class: A and F (second A B C | D F, first A C | D F, business A C | F) */
const windowSeatLetters: ReadonlyArray<string> = ["A", "F"]

/** The seats the map shows free for its journey, coach by coach, front to back, left to right. */
export const freeSeatsOnMap = (map: SeatMap): Array<TrainSeat> => {
  const free: Array<TrainSeat> = []
  for (const section of map.sections) {
    for (const row of section.rows) {
      // one seat code per cell that is not a gap
      let seatIndex = 0
      for (const cell of row.cells) {
        if (cell === map.legend.gap) continue
        const seatCode = row.seatCodes[seatIndex++]
        if (cell === map.legend.free && seatCode !== undefined) free.push({ coach: section.section, seatCode })
      }
    }
  }
  return free
}

/** The passenger's pick on the map: a free window seat when there is one, else any free seat (one Random draw); undefined when none is free. */
export const chooseSeatOnMap = (map: SeatMap) =>
  Effect.gen(function* () {
    const free = freeSeatsOnMap(map)
    const windows = free.filter((seat) => windowSeatLetters.includes(seat.seatCode.slice(-1)))
    const choices = windows.length > 0 ? windows : free
    if (choices.length === 0) return undefined
    return choices[yield* Random.nextIntBetween(0, choices.length)]
  })

/** The seat map of the journey showed no free seat: the passenger gives up (counted as sold out). */
export class NoSeatOnMap {
  readonly _tag = "NoSeatOnMap"
}

/**
 * Read the journey's seat map, choose a seat, and hold it (`hold-seat`). When another phone took it meanwhile
 * (`SeatTaken`), `fallbackShare` of the passengers hold any seat of its class (`hold` with `seatClass`; `SoldOut`
 * when the class has none left) and the rest give up with `SeatTaken`.
 */
export const holdChosenSeat = (phone: AppPhone, trip: Trip, choice: SeatChoice) =>
  Effect.gen(function* () {
    const { env } = phone
    const journey = { runId: env.runIdOf(trip.train), fromStation: trip.fromStation, toStation: trip.toStation }
    const map = yield* phone.call("seat-map", env.anonymous.catalog.seatMap({
      path: { runId: journey.runId }, urlParams: { from: trip.fromStation, to: trip.toStation, thumbnail: false }
    }), (read) => ({ free: read.counts.free }))
    const seat = yield* chooseSeatOnMap(map)
    if (seat === undefined) return yield* Effect.fail(new NoSeatOnMap())
    yield* env.thinkTime
    return yield* phone.call("hold-seat", env.anonymous.orders.hold({ payload: { ...journey, seat } }), heldDetail(phone)).pipe(
      Effect.catchTag("SeatTaken", (taken) => Effect.gen(function* () {
        const seatClass = env.seatClassOf(trip.train, seat.coach)
        if (seatClass === undefined || (yield* Random.next) >= choice.fallbackShare) return yield* Effect.fail(taken)
        return yield* phone.call("hold", env.anonymous.orders.hold({ payload: { ...journey, seatClass } }), (held) => ({
          ...heldDetail(phone)(held), seatClass, fallbackFrom: `${seat.coach}/${seat.seatCode}`
        }))
      }))
    )
  })

/**
 * A remote booking in the app (seed 001 claim 8, step a): the seat is held for the passenger named, to be paid at a
 * kiosk with the card whose number is given here; the history shows the card's BIN and last four only.
 */
export const bookRemoteCard = (phone: AppPhone, trip: Trip, booking: { passengerName: string; cardNumber: string }) =>
  phone.call("book-remote", phone.env.anonymous.remoteBookings.bookRemoteCard({
    payload: {
      runId: phone.env.runIdOf(trip.train), fromStation: trip.fromStation, toStation: trip.toStation,
      passengerName: booking.passengerName, cardNumber: booking.cardNumber as CardNumber
    }
  }), (booked) => ({
    orderId: booked.orderId, coach: booked.coach, seat: booked.seatCode, priceFen: booked.priceFen, ...heldSeatDetail(booked),
    card: `${booked.cardBin}******${booked.cardLast4}`
  }))

/** The idempotency key of one of the passenger's requests; `purchase` tells apart the purchases of a phone that makes several. */
export const purchaseKey = (what: "topup" | "pay", passenger: Passenger, purchase?: number) =>
  `${what}-${String(passenger.index).padStart(8, "0")}${purchase === undefined ? "" : `-${purchase}`}`

/**
 * Top up the fare and pay from the wallet; both with idempotency keys, so a lost answer is sent again safely.
 * `startMs` is when the payment began (payment→issuance starts there); `issued` whether its answer named the ticket;
 * `ticket` the ticket itself when the answer carried it.
 */
export const payFromWallet = (phone: AppPhone, passenger: Passenger, order: { orderId: OrderId; priceFen: number }, purchase?: number) =>
  Effect.gen(function* () {
    const client = phone.env.anonymous
    const topUpKey = purchaseKey("topup", passenger, purchase)
    yield* phone.keyedCall("top-up", topUpKey, client.accounts.topUp({
      headers: { "idempotency-key": topUpKey }, payload: { amountFen: order.priceFen as Fen }
    }), phone.sending.detailed ? (topUp) => ({ transferId: topUp.transferId }) : undefined)
    const startMs = yield* Clock.currentTimeMillis
    const payKey = purchaseKey("pay", passenger, purchase)
    const payment = yield* phone.keyedCall("pay", payKey, client.accounts.pay({
      path: { orderId: order.orderId }, headers: { "idempotency-key": payKey },
      payload: { paymentPassword: paymentPasswordOf(passenger) }
    }), (paid) => ({ orderId: paid.orderId, state: paid.state, ...(phone.sending.detailed ? { transferId: paid.transferId } : {}) }))
    return { startMs, issued: payment.ticketId !== null, ticket: payment.ticket }
  })

/**
 * How long a phone waits before poll `poll + 1` for a ticket (poll 0 is the first): `intervalMs`, doubled after each
 * poll that found none, never more than `maxIntervalMs`. A phone that backs off leaves a busy server's capacity to the
 * work that issues tickets; with `maxIntervalMs` equal to `intervalMs` every wait is the same.
 */
export const ticketPollWaitMs = (poll: number, intervalMs: number, maxIntervalMs: number): number =>
  Math.max(intervalMs, Math.min(maxIntervalMs, intervalMs * 2 ** Math.min(poll, 30)))

/**
 * The order's ticket: `inAnswer` when the payment's answer carried it (no request), else asked for until it is
 * issued: at once when `issued`, then after `ticketPollWaitMs`, at most `maxTicketPolls` times.
 */
export const awaitTicket = (phone: AppPhone, orderId: OrderId, issued: boolean, inAnswer?: Ticket) =>
  Effect.gen(function* () {
    if (inAnswer !== undefined) return inAnswer
    for (let poll = 0; ; poll++) {
      if (issued || poll > 0) {
        const ticket = yield* phone.call("get-ticket", phone.env.anonymous.issuance.getTicket({ path: { orderId } })).pipe(
          Effect.catchTag("TicketNotIssued", () => Effect.succeed(undefined))
        )
        if (ticket) return ticket
      }
      if (poll >= phone.env.maxTicketPolls) return yield* Effect.fail({ _tag: "TicketNeverArrived" as const })
      yield* phone.env.sleepScenario(ticketPollWaitMs(poll, phone.env.ticketPollIntervalMs, phone.env.maxTicketPollIntervalMs))
    }
  })

/** The ticket is in hand: recorded with the time from the payment's start. */
export const recordTicketReceived = (phone: AppPhone, received: { orderId: OrderId; ticketId: string; paymentStartMs: number }, extra: Detail = {}) =>
  Effect.gen(function* () {
    const receivedMs = yield* Clock.currentTimeMillis
    yield* recordNow({
      actor: phone.actor, kind: "ticket-received", outcome: "ok",
      detail: { orderId: received.orderId, ticketId: received.ticketId, paymentToIssuanceMs: receivedMs - received.paymentStartMs, ...extra }
    })
  })

// ---- at the gate -----------------------------------------------------------------------------------------------

/** The phone enlarges its code at most this many times at one gate; past it the passenger gives up on that camera. */
export const maxQrEnlargeAttempts = 2
/** Each enlargement doubles the code's size (×2, then ×4): a ticket's code, ~230 px at its own size, fits a 1,080-px-wide screen at ×4. */
export const qrEnlargeFactorPerAttempt = 2
/** the passenger pinches the code larger and holds the phone up to the camera again */
export const qrEnlargeDelayMs = 2_000

/** What the phone shows at `factor` times its code's own size (a screen shown as text is rendered first). */
const enlargedDisplay = (display: PhoneDisplay, factor: number): PhoneDisplay => {
  if (display.kind === "carrier" || factor === 1) return display
  const image = display.kind === "pixels" ? display.image : renderQr(display.text)
  return { kind: "pixels", image: enlargeQr(image, factor) }
}

/** Who shows the code (its name in the history), and the scenario's clock it pauses on. */
export interface QrShower {
  readonly actor: string
  readonly sleepScenario: (ms: number) => Effect.Effect<void>
}

/**
 * Show the code to the camera of `gate`, whose faults are `capture` (for the code at its own size), until its
 * reader reads it: when it cannot (glare, blur), the phone enlarges the code and shows it again, at most
 * `maxQrEnlargeAttempts` times. Every unreadable capture is recorded (`qr-unreadable`) and every enlargement
 * (`qr-enlarged`), with the factor the code was shown at; `UnreadableCode` when even the largest was not read.
 * The text read and the factor it was read at come back; the gate then asks the server to admit it.
 */
export const readAtGate = (shower: QrShower, gate: GateScanner, capture: Capture, display: PhoneDisplay) =>
  Effect.gen(function* () {
    const noteCapture = (kind: "qr-unreadable" | "qr-enlarged", outcome: string, enlargeFactor: number) =>
      note(shower.actor, kind, outcome, { gate: gate.gateId, enlargeFactor })
    const factorOf = (attempt: number) => Math.min(maxEnlargeFactor, qrEnlargeFactorPerAttempt ** attempt)
    // a damaged capture is decoded from pixels: a screen shown as text is rendered once, not at every attempt
    const damaged = capture.glare !== undefined || capture.blurRadiusPx !== undefined
    const shown: PhoneDisplay = damaged && display.kind === "text" ? { kind: "pixels", image: renderQr(display.text) } : display
    for (let attempt = 0; ; attempt++) {
      const text = gate.read(enlargedDisplay(shown, factorOf(attempt)), captureOfEnlarged(capture, factorOf(attempt)))
      if (text !== undefined) return { text, enlargeFactor: factorOf(attempt) }
      yield* noteCapture("qr-unreadable", "UnreadableCode", factorOf(attempt))
      if (attempt >= maxQrEnlargeAttempts) return yield* Effect.fail(new UnreadableCode())
      yield* shower.sleepScenario(qrEnlargeDelayMs)
      yield* noteCapture("qr-enlarged", "ok", factorOf(attempt + 1))
    }
  })
