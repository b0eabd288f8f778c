/**
 * A self-service kiosk (seed 001): a POS with a card reader and PIN pad, a ticket printer and a receipt
 * printer, serving one passenger at a time. It sells walk-up tickets (choose the train and segment, hold,
 * card + PIN, print ticket and receipt), takes the payment of remote bookings (booked in the app or through the
 * call centre with the card that will pay: the booker keys the booking's reference and swipes that card) and
 * prints tickets bought elsewhere (pickup by voucher code, or by phone number + resident ID).
 *
 * Printing follows the server's print jobs: a kiosk prints what `GET /kiosk/print-jobs` says is pending, and
 * acknowledges each job `printed` once both of its sheets are out. Paper out (the operator refills after a
 * delay) and jams (cleared, the sheet retried) are reported as job faults and never lose the job; the kiosk
 * remembers which sheets of a job came out, so a fault on the receipt printer never reprints the ticket. The
 * acknowledgement is idempotent on the server, so a retried one (its answer lost) changes nothing.
 *
 * What the kiosk cannot know is whether paper came out in the instant between cutting a sheet and a crash of
 * the kiosk itself: the server has two job states, not three. This simulation does not crash kiosks.
 */
import { Clock, Effect, Random } from "effect"
import { outcomeOf } from "./HistoryEvents.js"
import type { EventDetail, HistoryKind } from "./HistoryEvents.js"
import { activeFault, overTheNetwork, recordNow, sent } from "./Instruments.js"
import type { Instruments } from "./Instruments.js"
import type { OrderId, PhoneNumber, RunId, ServiceDate, StationCode } from "../reference/Domain.js"
import { heldSeatDetail } from "./HeldSeat.js"
import type { CardPaymentResult, KioskId, PickupRequest, PrintJob, PrintJobId } from "../reference/payments/Payments/Api.js"
import type { CardNumber } from "../reference/ticketing/RemoteBookings/Api.js"
import { CardDeclined } from "../reference/payments/Payments/Errors.js"
import type { ApiClient } from "./Client.js"
import { withLostAnswers } from "./ClientRetries.js"
import { maskedPan } from "./CardReader.js"
import type { BankCard, CardReader, CardRead, ReadMode } from "./CardReader.js"

export type PrintedPart = "ticket" | "receipt"

export interface PrinterSettings {
  readonly paperCapacitySheets: number
  /** the operator comes to refill an empty printer after a delay drawn from this range */
  readonly refillDelayMs: { readonly min: number; readonly max: number }
  readonly jamClearMs: { readonly min: number; readonly max: number }
  /** one sheet, when nothing is wrong */
  readonly printMs: number
}

/**
 * how often a passenger in a kiosk's line looks whether it is their turn: the line is polled on the scenario's
 * clock rather than a semaphore, because a fiber blocked on a semaphore never hands the virtual clock its turn back
 */
export const queuePollMs = 2_000

/** a part that faults this many times in a row is left pending for the attendant's next round */
export const maxPrintAttemptsPerPart = 8

/** What a kiosk needs of the run: the scenario's clock and its printers (its history, network and faults are services). */
export interface KioskEnvironment {
  readonly sleepScenario: (ms: number) => Effect.Effect<void>
  readonly printers: PrinterSettings
}

interface Printer { readonly name: PrintedPart; sheets: number }

type Detail = EventDetail | undefined

/** A kiosk device: its client carries the kiosk's device key; `serve` runs a passenger's session alone at it. */
export const makeKiosk = (env: KioskEnvironment, kioskId: KioskId, station: StationCode, client: ApiClient, reader: CardReader) => {
  const actor = `kiosk-${kioskId}`
  /** the passengers in line (by ticket number, first come first served) and whether someone is at the kiosk */
  const line: Array<number> = []
  let nextInLine = 0
  let busy = false
  const takeTurn = Effect.gen(function* () {
    const ticket = nextInLine++
    line.push(ticket)
    while (busy || line[0] !== ticket) yield* env.sleepScenario(queuePollMs)
    line.shift()
    busy = true
  })
  const printers: Record<PrintedPart, Printer> = {
    ticket: { name: "ticket", sheets: env.printers.paperCapacitySheets },
    receipt: { name: "receipt", sheets: env.printers.paperCapacitySheets }
  }
  /** the kiosk's memory of what came out of its printers, by job */
  const partsOut = new Map<PrintJobId, Set<PrintedPart>>()
  const acknowledged = new Set<PrintJobId>()

  const call = <A, E, R>(kind: HistoryKind, effect: Effect.Effect<A, E, R>, detailOf?: (value: A) => Detail) =>
    sent(actor, kind, effect, detailOf)
  /** an idempotent call whose answer may be lost (client-timeouts): sent again, never doubled */
  const retriedCall = <A, E, R>(kind: HistoryKind, effect: Effect.Effect<A, E, R>, detailOf?: (value: A) => Detail) =>
    withLostAnswers(env, actor, kind, call(kind, effect, detailOf), overTheNetwork(effect))
  const note = (kind: HistoryKind, detail: Detail, durationMs?: number) =>
    recordNow({ actor, kind, outcome: "ok", ...(durationMs === undefined ? {} : { durationMs }), ...(detail ? { detail } : {}) })
  const drawMs = (range: { readonly min: number; readonly max: number }) => Random.nextIntBetween(range.min, range.max + 1)

  /** One sheet of one job on one printer, through paper-outs and jams; false when it gave up for now. */
  const printPart = (printer: Printer, job: PrintJob) =>
    Effect.gen(function* () {
      for (let attempt = 1; attempt <= maxPrintAttemptsPerPart; attempt++) {
        const fault = yield* activeFault("printer")
        const draw = fault === undefined ? 1 : yield* Random.next
        const outcome = printer.sheets === 0 || draw < (fault?.paperOutRate ?? 0) ? "paper-out"
          : draw < (fault?.paperOutRate ?? 0) + (fault?.jamRate ?? 0) ? "jam" : "printed"
        if (outcome === "printed") {
          const printMs = env.printers.printMs + (fault?.slowPrintMs ?? 0)
          yield* env.sleepScenario(printMs)
          printer.sheets -= 1
          yield* note("print", { jobId: job.jobId, orderId: job.orderId, part: printer.name, jobKind: job.kind, slow: fault !== undefined && fault.slowPrintMs > 0 }, printMs)
          return true
        }
        yield* call("print-fault", client.kiosk.printFault({ path: { jobId: job.jobId }, payload: { fault: outcome } }),
          (state) => ({ jobId: state.jobId, fault: outcome, printer: printer.name, faults: state.faults }))
        if (outcome === "jam") {
          // the jammed sheet is torn out: nothing usable came out, and it is gone from the roll
          printer.sheets = Math.max(0, printer.sheets - 1)
          yield* env.sleepScenario(yield* drawMs(env.printers.jamClearMs))
        } else {
          yield* env.sleepScenario(yield* drawMs(env.printers.refillDelayMs))
          printer.sheets = env.printers.paperCapacitySheets
          yield* note("paper-refilled", { printer: printer.name })
        }
      }
      return false
    })

  /** Both sheets of a job, each once, then the one acknowledgement; true once the job is printed. */
  const printJob = (job: PrintJob) =>
    Effect.gen(function* () {
      if (acknowledged.has(job.jobId)) return true
      const out = partsOut.get(job.jobId) ?? new Set<PrintedPart>()
      partsOut.set(job.jobId, out)
      for (const part of ["ticket", "receipt"] as const) {
        if (out.has(part)) continue
        if (!(yield* printPart(printers[part], job))) return false
        out.add(part)
      }
      yield* retriedCall("print-ack", client.kiosk.printed({ path: { jobId: job.jobId } }), (state) => ({ jobId: state.jobId, state: state.state }))
      acknowledged.add(job.jobId)
      return true
    })

  /** Everything pending for this kiosk, oldest first: a job an earlier session left behind is printed too. */
  const printPending = Effect.gen(function* () {
    const jobs = yield* call("print-jobs", client.kiosk.printJobs(), (pending) => ({ pending: pending.length }))
    for (const job of jobs) if (!(yield* printJob(job))) return
  })

  /** Print until the jobs wanted are out, at most `maxRounds` fetches of the queue. */
  const printUntilOut = (wanted: ReadonlyArray<PrintJobId>, maxRounds: number) =>
    Effect.gen(function* () {
      for (let round = 0; round < maxRounds; round++) {
        yield* printPending
        if (wanted.every((jobId) => acknowledged.has(jobId))) return true
      }
      return false
    })

  return {
    kioskId, station, actor, client, reader, call, retriedCall, note, printUntilOut, printPending, sleepScenario: env.sleepScenario,
    /** one passenger at a time: the others queue behind */
    serve: <A, E, R>(session: Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(takeTurn, () => session, () => Effect.sync(() => { busy = false })),
    printedParts: (jobId: PrintJobId) => [...(partsOut.get(jobId) ?? [])]
  }
}
export type Kiosk = ReturnType<typeof makeKiosk>

/** how many times the kiosk goes through its queue before telling the passenger to see staff */
export const maxPrintRoundsPerSession = 4

/** A passenger paying at the kiosk: the card, how it is presented, the PIN and how the passenger keys it. */
export interface CardHolder {
  readonly passengerIndex: number
  readonly card: BankCard
  readonly readMode: ReadMode
  readonly pin: string
  /** share of PIN entries the passenger mistypes */
  readonly mistypedPinRate: number
  readonly maxPinAttempts: number
  /** a bank that could not decide (brownout) is asked again after a pause, at most this many times */
  readonly maxIssuerRetries: number
  readonly issuerRetryAfterMs: number
}

export interface WalkUp extends CardHolder {
  readonly runId: RunId
  readonly serviceDate: ServiceDate
  readonly fromStation: StationCode
  readonly toStation: StationCode
  /** given at the kiosk so the ticket is in the app too; absent: anonymous */
  readonly phone?: PhoneNumber
  /** choosing on the touch screen */
  readonly thinkTime: Effect.Effect<void>
}

export interface RemoteCardVisit extends CardHolder {
  /** the booking's reference, as the app or the call centre gave it */
  readonly orderId: OrderId
  /** another card of the booker's, presented first by mistake: refused before the bank, nothing charged */
  readonly wrongCard?: BankCard
}

export class KioskGaveUp {
  readonly _tag = "KioskGaveUp"
  constructor(readonly reason: string) {}
}

/** A wrong PIN of the same length as the right one (a slip of one digit). */
const mistyped = (pin: string) => pin.slice(0, -1) + String((Number(pin.at(-1)) + 1) % 10)

/** What a kiosk's card payment answers (the walk-up and the remote booking's endpoints alike). */
type CardPaid = CardPaymentResult

/**
 * Card + PIN at the kiosk, asking again after a wrong PIN or an issuer that could not decide. `send` makes one
 * payment request with the PIN block keyed for attempt `attempt` (each attempt its own idempotency key).
 */
const withPinAttempts = <E extends { readonly _tag: string }>(
  kiosk: Kiosk, holder: CardHolder, read: CardRead, send: (pinBlock: string, attempt: number) => Effect.Effect<CardPaid, E, Instruments>
) =>
  Effect.gen(function* () {
    let pinAttempts = 0
    let issuerRetries = 0
    for (let attempt = 1; ; attempt++) {
      const slipped = holder.mistypedPinRate > 0 && (yield* Random.next) < holder.mistypedPinRate
      const pinBlock = yield* read.pinBlock(slipped ? mistyped(holder.pin) : holder.pin)
      pinAttempts++
      const paid = yield* Effect.either(send(pinBlock, attempt))
      if (paid._tag === "Right") return paid.right
      const error = paid.left
      if (!(error instanceof CardDeclined)) return yield* Effect.fail(error)
      if (error.reason === "wrong-pin" && pinAttempts < holder.maxPinAttempts) continue
      if (error.reason === "issuer-unavailable" && issuerRetries < holder.maxIssuerRetries) {
        issuerRetries++
        yield* kiosk.sleepScenario(holder.issuerRetryAfterMs)
        continue
      }
      return yield* Effect.fail(new KioskGaveUp(`declined: ${error.reason}`))
    }
  })

const paidDetail = (read: CardRead) => (result: CardPaid) =>
  ({ orderId: result.orderId, state: result.state, card: maskedPan(result.cardBin, result.cardLast4), mode: read.mode })

/** A walk-up sale's card + PIN. */
const payByCard = (kiosk: Kiosk, walkUp: WalkUp, orderId: OrderId, read: CardRead) =>
  withPinAttempts(kiosk, walkUp, read, (pinBlock, attempt) => kiosk.retriedCall("pay", kiosk.client.kiosk.payByCard({
    path: { orderId }, headers: { "idempotency-key": `kiosk-pay-${walkUp.passengerIndex}-${attempt}` },
    payload: { cardToken: read.cardToken, pinBlock }
  }), paidDetail(read)))

/**
 * A walk-up sale (seed 001 steps a–d): the kiosk shows the trains, the passenger picks one and a segment,
 * the kiosk holds a seat, reads the card and the PIN, pays, and prints the ticket and the receipt. Returns
 * the ticket in hand with the time from the payment's start to the printed ticket.
 */
export const walkUpSale = (kiosk: Kiosk, walkUp: WalkUp) =>
  Effect.gen(function* () {
    const offers = yield* kiosk.call("search", kiosk.client.catalog.search({
      urlParams: { from: walkUp.fromStation, to: walkUp.toStation, date: walkUp.serviceDate }
    }))
    const offer = offers.find((candidate) => candidate.runId === walkUp.runId)
    if (!offer || offer.availableSeats === 0) return yield* Effect.fail(new KioskGaveUp("no seats at search"))
    if (!offer.onSale) return yield* Effect.fail(new KioskGaveUp("sales closed at search"))
    yield* walkUp.thinkTime
    const order = yield* kiosk.call("hold", kiosk.client.kiosk.holdWalkUp({
      payload: { runId: walkUp.runId, fromStation: walkUp.fromStation, toStation: walkUp.toStation, ...(walkUp.phone ? { passengerPhone: walkUp.phone } : {}) }
    }), (held) => ({
      orderId: held.orderId, coach: held.coach, seat: held.seatCode, priceFen: held.priceFen, ...heldSeatDetail(held), passenger: walkUp.passengerIndex
    }))
    const read = yield* kiosk.reader.read(walkUp.card, walkUp.readMode)
    yield* kiosk.note("card-read", { mode: read.mode, card: maskedPan(read.bin, read.last4), passenger: walkUp.passengerIndex })
    const payStartMs = yield* Clock.currentTimeMillis
    const paid = yield* payByCard(kiosk, walkUp, order.orderId, read)
    if (!(yield* kiosk.printUntilOut([paid.printJobId], maxPrintRoundsPerSession))) return yield* Effect.fail(new KioskGaveUp("print-failed"))
    const inHandMs = yield* Clock.currentTimeMillis
    return { orderId: paid.orderId, ticketId: paid.ticketId, jobId: paid.printJobId, paymentToIssuanceMs: inHandMs - payStartMs }
  })

/** A remote booking's card + PIN: the card number goes with it, for the server to match against the booking. */
const payRemoteBooking = (kiosk: Kiosk, holder: CardHolder, orderId: OrderId, read: CardRead, keyPrefix: string) =>
  withPinAttempts(kiosk, holder, read, (pinBlock, attempt) => kiosk.retriedCall("pay-remote", kiosk.client.kiosk.payRemoteBooking({
    path: { orderId }, headers: { "idempotency-key": `${keyPrefix}-${holder.passengerIndex}-${attempt}` },
    payload: { cardToken: read.cardToken, cardNumber: read.remoteBookingCardNumber() as CardNumber, pinBlock }
  }), paidDetail(read)))

/**
 * A remote booking paid at the kiosk (seed 001 claim 8, steps c–d): the booker keys the booking's reference, the
 * kiosk shows the booking (train, price, the booked card's BIN and last four), the booker swipes a card and keys the
 * PIN; the server sends the payment to the bank only for the booked card. A wrong card first is refused
 * (`CardNotBooked`), the booker then presents the right one; the ticket and the payment's receipt are printed.
 */
export const remoteCardPayment = (kiosk: Kiosk, visit: RemoteCardVisit) =>
  Effect.gen(function* () {
    const booking = yield* kiosk.call("remote-booking", kiosk.client.kiosk.getRemoteBooking({ path: { orderId: visit.orderId } }),
      (shown) => ({ orderId: shown.orderId, state: shown.state, priceFen: shown.priceFen, card: maskedPan(shown.cardBin, shown.cardLast4), passenger: visit.passengerIndex }))
    if (booking.state !== "held") return yield* Effect.fail(new KioskGaveUp(`booking ${booking.state}`))
    if (visit.wrongCard) {
      const wrong = yield* kiosk.reader.read(visit.wrongCard, visit.readMode)
      yield* kiosk.note("card-read", { mode: wrong.mode, card: maskedPan(wrong.bin, wrong.last4), passenger: visit.passengerIndex })
      const refused = yield* Effect.either(payRemoteBooking(kiosk, { ...visit, card: visit.wrongCard, mistypedPinRate: 0 }, visit.orderId, wrong, "kiosk-remote-other"))
      // the audit names such a payment (remote-card-paid-by-booked-card); the booker walks away with it
      if (refused._tag === "Right") return yield* Effect.fail(new KioskGaveUp("paid by a card not booked"))
      if (refused.left._tag !== "CardNotBooked") return yield* Effect.fail(refused.left)
    }
    const read = yield* kiosk.reader.read(visit.card, visit.readMode)
    yield* kiosk.note("card-read", { mode: read.mode, card: maskedPan(read.bin, read.last4), passenger: visit.passengerIndex })
    const payStartMs = yield* Clock.currentTimeMillis
    const paid = yield* payRemoteBooking(kiosk, visit, visit.orderId, read, "kiosk-remote")
    if (!(yield* kiosk.printUntilOut([paid.printJobId], maxPrintRoundsPerSession))) return yield* Effect.fail(new KioskGaveUp("print-failed"))
    const inHandMs = yield* Clock.currentTimeMillis
    return { orderId: paid.orderId, ticketId: paid.ticketId, jobId: paid.printJobId, paymentToIssuanceMs: inHandMs - payStartMs }
  })

/** A pickup: the kiosk queues the passenger's tickets to print and prints them. */
export const pickupAtKiosk = (kiosk: Kiosk, request: PickupRequest, how: "voucher" | "phone") =>
  Effect.gen(function* () {
    const queue = "voucherCode" in request
      ? kiosk.client.kiosk.pickup({ payload: { voucherCode: request.voucherCode } })
      : kiosk.client.kiosk.pickup({ payload: { phone: request.phone, residentId: request.residentId } })
    const jobs = yield* kiosk.call("pickup", queue, (queued) => ({ jobs: queued.length, by: how }))
    if (!(yield* kiosk.printUntilOut(jobs.map((job) => job.jobId), maxPrintRoundsPerSession))) return yield* Effect.fail(new KioskGaveUp("print-failed"))
    return jobs
  })

export const gaveUpReason = (error: unknown) => error instanceof KioskGaveUp ? error.reason : outcomeOf(error)
