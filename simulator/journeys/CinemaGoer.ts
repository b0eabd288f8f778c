/**
 * A cinema-goer's phone (seed 004): the app stays anonymous (it registers its device ID: machine number, MAC,
 * model, brand, CRC-64 check code) or signs in as a registered customer; it lists the showings, reads the seat
 * map, chooses a seat (the hot ones: middle rows, near the centre), holds it — `SeatTaken` when another phone
 * was first: read the map again and choose again, at most `maxSeatAttempts` times — pays through the gateway,
 * fetches the ticket and its pickup voucher, and shows the QR at the hall's gate.
 */
import { Clock, Effect, Random } from "effect"
import { asciiBytes, encodeDeviceId } from "../../reference/customers/Customers/DeviceId.js"
import type { OrderId, RunId, ServiceDate } from "../../reference/Domain.js"
import type { SeatMap } from "../../reference/ticketing/Catalog/Api.js"
import type { CinemaSection } from "../../scenarios/Cinema.js"
import { outcomeOf } from "../../devices/HistoryEvents.js"
import type { EventDetail, HistoryKind } from "../../devices/HistoryEvents.js"
import { note as noteNow, sent } from "../../devices/Instruments.js"
import { bearer, withCredentials } from "../../devices/Client.js"
import type { ApiClient } from "../../devices/Client.js"
import type { GateScanner, PhoneDisplay } from "../../devices/GateScanner.js"
import { payByGateway } from "../../devices/GatewayPayment.js"
import type { GatewayPayer, GatewayPaymentLimits, GatewayPaymentOutcome } from "../../devices/GatewayPayment.js"
import type { Passenger } from "../../devices/Phone.js"
import { claimDetail, passwordOf, paymentPasswordOf, ticketPollWaitMs } from "../../devices/Phone.js"
import { heldSeatDetail } from "../../devices/HeldSeat.js"
import { renderQr } from "../../devices/Qr.js"

export interface CinemaShowingOnSale {
  readonly runId: RunId
  readonly hall: number
  readonly serviceDate: ServiceDate
  readonly popularity: number
  /** when the showing starts (epoch ms) */
  readonly startEpochMs: number
}

/** What every cinema goer of a run shares; its history and network are services (devices/Instruments.ts). */
export interface CinemaEnvironment {
  readonly anonymous: ApiClient
  readonly cinema: CinemaSection
  readonly showings: ReadonlyArray<CinemaShowingOnSale>
  readonly gates: ReadonlyArray<GateScanner>
  readonly sleepScenario: (ms: number) => Effect.Effect<void>
  readonly scenarioNowMs: Effect.Effect<number>
  readonly thinkTime: Effect.Effect<void>
  readonly gatewayLimits: GatewayPaymentLimits
  readonly ticketPollIntervalMs: number
  /** the longest wait between two polls for a ticket (devices/Phone.ts `ticketPollWaitMs`) */
  readonly maxTicketPollIntervalMs: number
  readonly maxTicketPolls: number
  readonly qrPixelSampleRate: number
  /** a weighted draw (one Random draw): the index of the chosen weight */
  readonly weightedIndex: (weights: ReadonlyArray<number>) => Effect.Effect<number>
}

const deviceModels = [["P40", "Huawei"], ["Mi 10", "Xiaomi"], ["Reno4", "OPPO"], ["X50", "vivo"], ["iPhone12", "Apple"]] as const

/**
 * The goer's phone's device ID: a machine number and a MAC of its own, a model and brand, the app's install time
 * when the phone sends one ("HH:MM:SS"; it ranks the phone in a tie for a seat), the check code.
 */
export const deviceIdOf = (index: number, installTime?: string) => {
  const machineNumber = Buffer.alloc(8)
  machineNumber.writeBigUInt64BE(0x4e43000000000000n + BigInt(index))
  const mac = Buffer.alloc(6)
  mac.writeUIntBE(0x3c22fb000000 + index, 0, 6)
  const [model, brand] = deviceModels[index % deviceModels.length]!
  return encodeDeviceId({ machineNumber, mac, model: asciiBytes(model), brand: asciiBytes(brand), ...(installTime === undefined ? {} : { installTime }) })
}

const secondsPerDay = 86_400
const twoDigits = (value: number) => String(value).padStart(2, "0")
/** "HH:MM:SS" of a second of the day */
export const timeOfDayOf = (secondOfDay: number) =>
  `${twoDigits(Math.floor(secondOfDay / 3_600))}:${twoDigits(Math.floor(secondOfDay / 60) % 60)}:${twoDigits(secondOfDay % 60)}`

/** The install time the phone's app sends: one in `installTimeShare` of phones send one, at a time of day drawn from Random. */
const drawInstallTime = (installTimeShare: number) =>
  Effect.gen(function* () {
    // no draw when no phone sends one: a cinema without install times keeps the random sequence it had
    if (installTimeShare <= 0) return undefined
    if ((yield* Random.next) >= installTimeShare) return undefined
    return timeOfDayOf(yield* Random.nextIntBetween(0, secondsPerDay))
  })

interface FreeSeat { readonly seatCode: string; readonly hotness: number }

/** Free seats of the hall on the map, hottest first: middle seated rows, near the centre column. */
export const freeSeatsByHotness = (map: SeatMap, hall: number): Array<FreeSeat> => {
  const section = map.sections.find((candidate) => candidate.section === hall)
  if (!section) return []
  const seated = section.rows.filter((row) => row.seatCodes.length > 0)
  const middleRow = (seated.length - 1) / 2
  const seats: Array<FreeSeat & { order: number }> = []
  seated.forEach((row, rowIndex) => {
    const middleColumn = (row.cells.length - 1) / 2
    let seatIndex = 0
    ;[...row.cells].forEach((cell, column) => {
      if (cell === map.legend.gap) return
      const seatCode = row.seatCodes[seatIndex++]
      if (cell !== map.legend.free || seatCode === undefined) return
      seats.push({ seatCode, hotness: -(2 * Math.abs(rowIndex - middleRow) + Math.abs(column - middleColumn)), order: seats.length })
    })
  })
  return seats.sort((a, b) => b.hotness - a.hotness || a.order - b.order).map(({ seatCode, hotness }) => ({ seatCode, hotness }))
}

export const cinemaJourney = (env: CinemaEnvironment, passenger: Passenger, afterPurchase: Effect.Effect<void> = Effect.void) => {
  const actor = `cinema-${passenger.index}`
  const call = <A, E, R>(kind: HistoryKind, effect: Effect.Effect<A, E, R>, detailOf?: (value: A) => EventDetail) =>
    sent(actor, kind, effect, detailOf)
  const note = (kind: HistoryKind, outcome: string, detail?: EventDetail) => noteNow(actor, kind, outcome, detail)

  return Effect.gen(function* () {
    const showingIndex = yield* env.weightedIndex(env.showings.map((showing) => showing.popularity))
    const showing = env.showings[showingIndex]!
    const offers = yield* call("showings", env.anonymous.venues.listShowings({ urlParams: { date: showing.serviceDate, venue: env.cinema.code } }))
    const offer = offers.find((candidate) => candidate.runId === showing.runId)
    if (!offer || offer.availableSeats === 0) return yield* Effect.as(note("gave-up", "no seats at search"), undefined)
    if (!offer.onSale) return yield* Effect.as(note("gave-up", "sales closed at search"), undefined)
    yield* env.thinkTime
    const anonymous = (yield* Random.next) < env.cinema.anonymousShare
    const signedIn = yield* signIn(anonymous)
    const bought = yield* purchase(showing, anonymous).pipe(withCredentials(bearer(signedIn.token)))
    return bought ? { showing, qr: bought.qr, holder: signedIn.holder } : undefined
  }).pipe(
    Effect.catchAll((error) => Effect.as(note("gave-up", outcomeOf(error)), undefined)),
    Effect.ensuring(afterPurchase),
    Effect.flatMap((bought) => bought === undefined ? Effect.void : toTheGate(bought.showing, bought.qr, bought.holder).pipe(
      Effect.catchAll((error) => note("gave-up", outcomeOf(error)))
    ))
  )

  /** An anonymous device registers its ID (the session comes with it); a customer registers and logs in. */
  function signIn(anonymous: boolean) {
    return Effect.gen(function* () {
      if (anonymous) {
        const deviceId = deviceIdOf(passenger.index, yield* drawInstallTime(env.cinema.installTimeShare))
        const session = yield* call("register-device", env.anonymous.customers.registerDevice({ payload: { deviceId, paymentPassword: paymentPasswordOf(passenger) } }))
        return { token: session.token, holder: deviceId }
      }
      yield* call("register", env.anonymous.customers.register({
        payload: { phone: passenger.phone, password: passwordOf(passenger), paymentPassword: paymentPasswordOf(passenger), residentId: passenger.residentId }
      }))
      const session = yield* call("login", env.anonymous.customers.login({ payload: { phone: passenger.phone, password: passwordOf(passenger) } }))
      return { token: session.token, holder: passenger.phone as string }
    })
  }

  /**
   * Hold a seat and pay for it. A hold that loses its seat to a tie (`HoldDisplaced` when paying: a phone installed
   * earlier chose the same seat at the same moment) sends the goer back to the map, as `SeatTaken` does; both count
   * against `maxSeatAttempts`.
   */
  function purchase(showing: CinemaShowingOnSale, anonymous: boolean) {
    const client = env.anonymous
    return Effect.gen(function* () {
      const payer: GatewayPayer = { actor, client, call, sleepScenario: env.sleepScenario }
      const wantsHotSeat = (yield* Random.next) < env.cinema.hotSeatShare
      let firstAttempt = 1
      for (;;) {
        const held = yield* holdChosenSeat(client, showing, wantsHotSeat, firstAttempt)
        if (!held) return undefined
        const { order } = held
        yield* env.thinkTime
        // each order pays under keys of its own: a key names one request body, and the next order is another
        const keyPrefix = `cinema-${String(passenger.index).padStart(8, "0")}${held.attempt === 1 ? "" : `-${held.attempt}`}`
        const paid = yield* payByGateway(payer, order.orderId, keyPrefix, env.gatewayLimits).pipe(
          Effect.catchTag("HoldDisplaced", () => Effect.succeed(undefined)))
        if (paid === undefined) {
          firstAttempt = held.attempt + 1
          continue
        }
        return yield* afterPayment(client, order, paid, anonymous)
      }
    })
  }

  function afterPayment(client: ApiClient, order: { orderId: OrderId; seatCode: string }, paid: GatewayPaymentOutcome, anonymous: boolean) {
    return Effect.gen(function* () {
      if (paid._tag === "GaveUp") return yield* Effect.as(note("gave-up", `GatewayGaveUp:${paid.reason}`), undefined)
      const ticket = yield* awaitTicket(client, order.orderId)
      const receivedMs = yield* Clock.currentTimeMillis
      yield* note("ticket-received", "ok", {
        orderId: order.orderId, ticketId: ticket.ticketId, paymentToIssuanceMs: receivedMs - paid.paymentStartMs, anonymous, seat: order.seatCode
      })
      yield* call("voucher", client.delivery.getVoucher({ path: { orderId: order.orderId } }), (voucher) => ({ ticketId: voucher.ticketId, code: voucher.display }))
      return { qr: ticket.qr }
    })
  }

  /** Read the map, choose, hold; a seat another phone took first sends the goer back to the map. The order and its attempt. */
  function holdChosenSeat(client: ApiClient, showing: CinemaShowingOnSale, wantsHotSeat: boolean, firstAttempt: number) {
    return Effect.gen(function* () {
      for (let attempt = firstAttempt; attempt <= env.cinema.maxSeatAttempts; attempt++) {
        const map = yield* call("seat-map", client.catalog.seatMap({ path: { runId: showing.runId }, urlParams: { thumbnail: false } }), (read) => ({ free: read.counts.free }))
        const free = freeSeatsByHotness(map, showing.hall)
        if (free.length === 0) return yield* Effect.as(note("gave-up", "SoldOut"), undefined)
        const choices = wantsHotSeat ? free.slice(0, env.cinema.seatChoiceWidth) : free
        const seat = choices[yield* Random.nextIntBetween(0, choices.length)]!
        yield* env.thinkTime
        const held = yield* call("hold-seat", client.orders.hold({
          payload: { runId: showing.runId, fromStation: env.cinema.code, toStation: env.cinema.code, seat: { coach: showing.hall, seatCode: seat.seatCode } }
        }), (order) => ({
          orderId: order.orderId, seat: order.seatCode, attempt, hot: wantsHotSeat, coach: order.coach, ...heldSeatDetail(order), ...claimDetail(order)
        })).pipe(
          Effect.catchTag("SeatTaken", () => Effect.succeed(undefined))
        )
        if (held) return { order: held, attempt }
      }
      return yield* Effect.as(note("gave-up", "MaxSeatAttempts"), undefined)
    })
  }

  function awaitTicket(client: ApiClient, orderId: OrderId) {
    return Effect.gen(function* () {
      for (let poll = 0; ; poll++) {
        const ticket = yield* call("get-ticket", client.issuance.getTicket({ path: { orderId } })).pipe(
          Effect.catchTag("TicketNotIssued", () => Effect.succeed(undefined)))
        if (ticket) return ticket
        if (poll >= env.maxTicketPolls) return yield* Effect.fail({ _tag: "TicketNeverArrived" as const })
        yield* env.sleepScenario(ticketPollWaitMs(poll, env.ticketPollIntervalMs, env.maxTicketPollIntervalMs))
      }
    })
  }

  function toTheGate(showing: CinemaShowingOnSale, qr: string, holder: string) {
    return Effect.gen(function* () {
      const earlyMs = yield* Random.nextIntBetween(env.cinema.arriveBeforeStartMs.min, env.cinema.arriveBeforeStartMs.max + 1)
      yield* env.sleepScenario(Math.max(0, showing.startEpochMs - earlyMs - (yield* env.scenarioNowMs)))
      const gate = env.gates[yield* Random.nextIntBetween(0, env.gates.length)]
      if (!gate) return yield* Effect.fail({ _tag: "NoGateAtCinema" as const })
      const sampled = (yield* Random.next) < env.qrPixelSampleRate
      const display: PhoneDisplay = sampled ? { kind: "pixels", image: renderQr(qr) } : { kind: "text", text: qr }
      yield* call("scan", gate.scan(display, holder), (admission) => ({ ticketId: admission.ticketId, gate: gate.gateId, pixels: sampled }))
    })
  }
}
