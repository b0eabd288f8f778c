/**
 * Branded domain types and the tagged errors every module shares. One place, so a seat ID can never
 * be passed where an order ID is expected, and every expected failure has one HTTP status.
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

// ---- limits (named, unit last) -------------------------------------------------------------
export const maxAmountFen = 100_000_000 // one million yuan: above this a top-up or fare is a typo
export const maxStopsPerTrain = 32 // segment masks live in a 64-bit integer; 31 segments stay exact in JS
export const maxSeatsPerRun = 5_000
export const maxCoachesPerRun = 40

// ---- plain refusals ---------------------------------------------------------------------------
/**
 * What a refused value should have been, in a user's words (`expected 11 digits, starting 13 to 19`), for every
 * way the value can fail (`override`): a decode error names the field and this, never the schema's own type
 * expression with its patterns and brands (reference/operations/RequestGuard.ts formats it).
 */
export const expected = (what: string) => ({ message: () => ({ message: `expected ${what}`, override: true }) })

// ---- money -----------------------------------------------------------------------------------
/**
 * Integer minor units (fen) of one amount: a fare, a journey's price, a fee, a refund, a top-up. Never a float.
 * `Fen.make` is the checked constructor: an amount the server computes becomes a Fen where it is computed, so one
 * outside 0..maxAmountFen fails there, not as an answer that cannot be encoded.
 */
export const Fen = Schema.Int.pipe(Schema.between(0, maxAmountFen), Schema.brand("Fen"))
  .annotations(expected(`a whole number of fen from 0 to ${maxAmountFen}`))
export type Fen = typeof Fen.Type
export const PositiveFen = Schema.Int.pipe(Schema.between(1, maxAmountFen), Schema.brand("Fen"))
  .annotations(expected(`a positive integer (fen), at most ${maxAmountFen}`))
/**
 * A sum of amounts, which one amount's ceiling does not bound: a wallet's balance (refunds are credited past the
 * top-up limit), a journey's price (a sum of segment fares), a group order's fares, a customer's spend, a refund fee
 * and refund, a configured limit. Whole fen from 0.
 */
export const FenTotal = Schema.Int.pipe(Schema.between(0, Number.MAX_SAFE_INTEGER), Schema.brand("FenTotal"))
  .annotations(expected("a whole number of fen from 0"))
export type FenTotal = typeof FenTotal.Type
/**
 * A signed difference of amounts: a change's new price less the old, a wallet statement's money in (+) or out (−), a
 * statistics group's revenue (payments less refunds, which a changed order can take below 0).
 */
export const FenDelta = Schema.Int.pipe(Schema.between(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), Schema.brand("FenDelta"))
  .annotations(expected("a whole number of fen"))
export type FenDelta = typeof FenDelta.Type

// ---- identifiers -----------------------------------------------------------------------------
const hexId = (prefix: string, hexChars: number) =>
  Schema.String.pipe(Schema.pattern(new RegExp(`^${prefix}[0-9a-f]{${hexChars}}$`)))

export const CustomerId = hexId("C", 16).pipe(Schema.brand("CustomerId")).annotations(expected("a customer ID: C and 16 hex digits"))
export type CustomerId = typeof CustomerId.Type
export const OrderId = hexId("O", 16).pipe(Schema.brand("OrderId")).annotations(expected("an order ID: O and 16 hex digits"))
export type OrderId = typeof OrderId.Type
export const TicketId = hexId("", 20).pipe(Schema.brand("TicketId")).annotations(expected("a ticket ID: 20 hex digits"))
export type TicketId = typeof TicketId.Type
export const TransferId = hexId("T", 16).pipe(Schema.brand("TransferId")).annotations(expected("a transfer ID: T and 16 hex digits"))
export type TransferId = typeof TransferId.Type
export const RunId = Schema.String.pipe(Schema.pattern(/^[A-Z][0-9A-Z]{0,7}-\d{8}$/), Schema.brand("RunId"))
  .annotations(expected("a run ID: train code, dash, service date as 8 digits (G1-20270128)"))
export type RunId = typeof RunId.Type
export const GateId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{1,32}$/), Schema.brand("GateId"))
  .annotations(expected("a gate ID: 1 to 32 letters, digits, _ or -"))
export type GateId = typeof GateId.Type

/** Mainland mobile number: 11 digits starting 13–19. */
export const PhoneNumber = Schema.String.pipe(Schema.pattern(/^1[3-9]\d{9}$/), Schema.brand("PhoneNumber"))
  .annotations(expected("11 digits, starting 13 to 19"))
export type PhoneNumber = typeof PhoneNumber.Type
/** Telegraph code of a station, as 12306 uses (BJP Beijing, SHH Shanghai). */
export const StationCode = Schema.String.pipe(Schema.pattern(/^[A-Z]{3}$/), Schema.brand("StationCode"))
  .annotations(expected("a station code: 3 capital letters (BJP)"))
export type StationCode = typeof StationCode.Type
export const TrainCode = Schema.String.pipe(Schema.pattern(/^[A-Z][0-9A-Z]{0,7}$/), Schema.brand("TrainCode"))
  .annotations(expected("a train code: a capital letter, then up to 7 capitals or digits (G1, D311)"))
export type TrainCode = typeof TrainCode.Type
/** the years a service date may fall in: a run in year 0000 or 9999 is a typing error, not a timetable */
export const minServiceDateYear = 2000
export const maxServiceDateYear = 2099
const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()
/** YYYY-MM-DD names a day of the Gregorian calendar (no 30 February) within the service years */
const isServiceDay = (text: string) => {
  const [year = 0, month = 0, day = 0] = text.split("-").map(Number)
  return year >= minServiceDateYear && year <= maxServiceDateYear && day <= daysInMonth(year, month)
}
export const ServiceDate = Schema.String.pipe(
  Schema.pattern(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/),
  Schema.filter(isServiceDay, {
    message: (issue) => `a calendar date in ${minServiceDateYear}..${maxServiceDateYear}, got ${JSON.stringify(issue.actual)}`
  }),
  Schema.brand("ServiceDate")
).annotations(expected(`a calendar date YYYY-MM-DD in ${minServiceDateYear} to ${maxServiceDateYear}`))
export type ServiceDate = typeof ServiceDate.Type
export const MinuteOfDay = Schema.Int.pipe(Schema.between(0, 1439)).annotations(expected("a whole minute of the day, 0 to 1439"))
/** `HH:MM` of a minute of the day (a stop past midnight, 1,500, reads 25:00) */
export const minuteOfDayText = (minuteOfDay: number) =>
  `${String(Math.floor(minuteOfDay / 60)).padStart(2, "0")}:${String(minuteOfDay % 60).padStart(2, "0")}`
export const SeatClass = Schema.Literal("business", "first", "second")
export type SeatClass = typeof SeatClass.Type

export const Password = Schema.String.pipe(Schema.minLength(8), Schema.maxLength(64)).annotations(expected("8 to 64 characters"))
/** Six digits, as Chinese payment passwords are. */
export const PaymentPassword = Schema.String.pipe(Schema.pattern(/^\d{6}$/)).annotations(expected("6 digits"))
export const IdempotencyKey = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_.:-]{8,64}$/))
  .annotations(expected("8 to 64 letters, digits or _ . : -"))

export const OrderState = Schema.Literal("held", "paid", "issued", "expired", "cancelled", "refunded", "changed")
export type OrderState = typeof OrderState.Type

// ---- tagged errors (expected failures) ---------------------------------------------------------

export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized", { message: Schema.String }, HttpApiSchema.annotations({ status: 401 })
) {}
export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden", { message: Schema.String }, HttpApiSchema.annotations({ status: 403 })
) {}
export class PhoneAlreadyRegistered extends Schema.TaggedError<PhoneAlreadyRegistered>()(
  "PhoneAlreadyRegistered", { phone: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
export class InvalidCredentials extends Schema.TaggedError<InvalidCredentials>()(
  "InvalidCredentials", {}, HttpApiSchema.annotations({ status: 401 })
) {}
export class PaymentPasswordWrong extends Schema.TaggedError<PaymentPasswordWrong>()(
  "PaymentPasswordWrong", { attemptsLeft: Schema.Number }, HttpApiSchema.annotations({ status: 403 })
) {}
export class PaymentLocked extends Schema.TaggedError<PaymentLocked>()(
  "PaymentLocked", { message: Schema.String }, HttpApiSchema.annotations({ status: 423 })
) {}
export class TrainRunNotFound extends Schema.TaggedError<TrainRunNotFound>()(
  "TrainRunNotFound", { runId: Schema.String }, HttpApiSchema.annotations({ status: 404 })
) {}
export class TrainRunExists extends Schema.TaggedError<TrainRunExists>()(
  "TrainRunExists", { runId: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
export class InvalidSegment extends Schema.TaggedError<InvalidSegment>()(
  "InvalidSegment", { message: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}
export class InvalidCatalog extends Schema.TaggedError<InvalidCatalog>()(
  "InvalidCatalog", { message: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}
/** No seat of the run is free on every segment of the journey. */
export class SoldOut extends Schema.TaggedError<SoldOut>()(
  "SoldOut", { runId: Schema.String, fromStation: Schema.String, toStation: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
/** The chosen seat is held or sold on an overlapping segment. */
export class SeatTaken extends Schema.TaggedError<SeatTaken>()(
  "SeatTaken", { runId: Schema.String, coach: Schema.Number, seatCode: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
/**
 * The order's hold lost its seat: a device whose app was installed earlier held the same seat within the tie
 * window (`seatClaimTieWindowMs`, reference/ticketing/Orders/SeatPriority.ts). The order is cancelled and nothing was
 * charged; choose a seat again. 409: the seat is another order's now.
 */
export class HoldDisplaced extends Schema.TaggedError<HoldDisplaced>()(
  "HoldDisplaced", { orderId: Schema.String, displacedAtMs: Schema.Number }, HttpApiSchema.annotations({ status: 409 })
) {}
/**
 * The run no longer sells: its sales closed `salesCloseBeforeDepartureMs` before the boarding stop's departure
 * (a venue's: before the start). 410: the offer is gone for good, asking again will not help.
 */
export class SalesClosed extends Schema.TaggedError<SalesClosed>()(
  "SalesClosed", { runId: Schema.String, fromStation: Schema.String, closedAtMs: Schema.Number }, HttpApiSchema.annotations({ status: 410 })
) {}
export class OrderNotFound extends Schema.TaggedError<OrderNotFound>()(
  "OrderNotFound", { orderId: Schema.String }, HttpApiSchema.annotations({ status: 404 })
) {}
export class HoldExpired extends Schema.TaggedError<HoldExpired>()(
  "HoldExpired", { orderId: Schema.String, expiredAtMs: Schema.Number }, HttpApiSchema.annotations({ status: 410 })
) {}
export class OrderNotPayable extends Schema.TaggedError<OrderNotPayable>()(
  "OrderNotPayable", { orderId: Schema.String, state: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
export class InsufficientFunds extends Schema.TaggedError<InsufficientFunds>()(
  "InsufficientFunds", { balanceFen: FenTotal, neededFen: FenTotal }, HttpApiSchema.annotations({ status: 402 })
) {}
/** One top-up may bring at most `maxTopUpFen`. */
export class TopUpTooLarge extends Schema.TaggedError<TopUpTooLarge>()(
  "TopUpTooLarge", { amountFen: Fen, maxTopUpFen: FenTotal }, HttpApiSchema.annotations({ status: 422 })
) {}
/** The top-up would take the wallet past `maxWalletBalanceFen`; nothing was credited. */
export class WalletBalanceLimitReached extends Schema.TaggedError<WalletBalanceLimitReached>()(
  "WalletBalanceLimitReached", { balanceFen: FenTotal, amountFen: Fen, maxWalletBalanceFen: FenTotal },
  HttpApiSchema.annotations({ status: 422 })
) {}
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()(
  "IdempotencyKeyReused", { key: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
export class TicketNotIssued extends Schema.TaggedError<TicketNotIssued>()(
  "TicketNotIssued", { orderId: Schema.String, state: Schema.String }, HttpApiSchema.annotations({ status: 404 })
) {}
export class InvalidTicket extends Schema.TaggedError<InvalidTicket>()(
  "InvalidTicket", { reason: Schema.String, detail: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}
export class TicketAlreadyUsed extends Schema.TaggedError<TicketAlreadyUsed>()(
  "TicketAlreadyUsed",
  { ticketId: Schema.String, firstAdmittedAtMs: Schema.Number, firstGateId: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}
export class TicketNotValidHere extends Schema.TaggedError<TicketNotValidHere>()(
  "TicketNotValidHere", { reason: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}
/** The gate boards another train run than the ticket's (same station, another train or day). */
export class TicketForAnotherTrain extends Schema.TaggedError<TicketForAnotherTrain>()(
  "TicketForAnotherTrain",
  { ticketId: Schema.String, ticketTrainCode: Schema.String, ticketServiceDate: Schema.String, gateTrainCode: Schema.String, gateServiceDate: Schema.String },
  HttpApiSchema.annotations({ status: 403 })
) {}
export class BindingMismatch extends Schema.TaggedError<BindingMismatch>()(
  "BindingMismatch", { ticketId: Schema.String }, HttpApiSchema.annotations({ status: 403 })
) {}
