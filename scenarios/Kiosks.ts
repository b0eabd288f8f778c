/**
 * The stations' self-service kiosks of a scenario (seed 001): how many, their printers, the cards the walk-up
 * passengers carry and the bank behind them, and the remote bookers paying at them. One optional field of a
 * scenario (`kiosks`), needed by the `kiosk`, `app-pickup` and `remote-card` journeys.
 */
import { Schema } from "effect"
import { StationCode } from "../reference/Domain.js"

const Int = (min: number, max: number) => Schema.Int.pipe(Schema.between(min, max))
const Rate = Schema.Number.pipe(Schema.between(0, 1))
const Range = (min: number, max: number) =>
  Schema.Struct({ min: Int(min, max), max: Int(min, max) }).pipe(
    Schema.filter((range) => range.min <= range.max || "min must not exceed max")
  )
const Weight = Schema.optional(Schema.Number.pipe(Schema.between(0, 1_000_000)))

export const KioskSetup = Schema.Struct({
  /** kiosks at each station that has them */
  perStation: Int(1, 64),
  /** stations with kiosks; default: every boarding station of the scenario's trains */
  stations: Schema.optional(Schema.Array(StationCode).pipe(Schema.minItems(1))),
  printers: Schema.Struct({
    /** sheets on a full roll, each printer (a ticket or a receipt is one sheet) */
    paperCapacitySheets: Int(1, 100_000),
    /** an empty printer waits this long for the operator to refill it */
    refillDelayMs: Range(0, 3_600_000),
    jamClearMs: Range(0, 3_600_000),
    printMs: Int(0, 600_000)
  }),
  cards: Schema.Struct({
    /** how the passengers present their cards, by relative weight */
    modes: Schema.Struct({ chip: Weight, contactless: Weight, magstripe: Weight }).pipe(
      Schema.filter((modes) => Object.values(modes).some((weight) => (weight ?? 0) > 0) || "give at least one read mode a weight above 0")),
    /** share of reads that fail and are read again (a bad swipe, a dirty chip) */
    readFailureRate: Rate,
    /** share of PIN entries mistyped (one wrong digit); the bank declines them as wrong-pin */
    mistypedPinRate: Rate,
    maxPinAttempts: Int(1, 5),
    balanceFen: Int(0, 100_000_000),
    /** share of cards without enough money for a ticket: declined as insufficient-funds */
    poorCardRate: Rate
  }),
  /** the card-issuing bank's answer time when nothing is wrong (the `bank-slowdown` fault adds to it) */
  bank: Schema.Struct({
    latencyMs: Int(0, 600_000),
    latencyJitterMs: Int(0, 600_000),
    /** a passenger whose bank could not decide (brownout) tries again after this pause, at most `maxIssuerRetries` times */
    issuerRetryAfterMs: Int(0, 600_000),
    maxIssuerRetries: Int(0, 10)
  }),
  /** share of walk-up passengers who give their phone number (the ticket is then in their app too) */
  walkUpPhoneShare: Rate,
  /** share of app-ticket pickups by voucher code; the others by phone number + resident ID */
  pickupByVoucherShare: Rate,
  /** app-ticket buyers come to the kiosk this long before their train leaves */
  pickupBeforeDepartureMs: Range(0, 86_400_000),
  /** the station attendant goes through each kiosk's pending print jobs this often */
  attendantRoundMs: Int(1_000, 3_600_000),
  /** remote bookings paid by card at the kiosks (the `remote-card` journey), booked in the app or through the call centre */
  remoteCard: Schema.optional(Schema.Struct({
    /** share of remote bookers who telephone the call centre; the others book in the app */
    callCentreShare: Rate,
    /** the call centre's agents, each taking one call at a time */
    agents: Int(1, 1_000),
    /** how long a call takes before the agent books (the caller gives the trip, the name, the card number) */
    callMs: Range(0, 3_600_000),
    /** the booker reaches a kiosk this long after booking (never later than a few minutes before departure) */
    kioskAfterBookingMs: Range(0, 86_400_000),
    /** share of bookers who never come to pay: their bookings expire as unpaid holds */
    noShowRate: Rate,
    /** share of bookers who first swipe another of their cards (refused, nothing charged), then the booked one */
    wrongCardRate: Rate
  }))
})
export type KioskSetup = typeof KioskSetup.Type
