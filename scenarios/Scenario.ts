/**
 * A scenario is data: who arrives when, what they do, what the server is set to, what must hold.
 * Scenario files default-export a value that `Scenario` decodes; a typo gets an error naming its path.
 */
import { Schema } from "effect"
import { StationCode, TrainCode } from "../reference/Domain.js"
import { SeatClassName } from "../reference/ticketing/Catalog/Api.js"
import { defaultSettings, defaultStoreMaxConnections, maxStoreConnections } from "../reference/Config.js"
import { maxTicketsPerGroupOrder } from "../reference/ticketing/GroupOrders/Api.js"
import { inventoryVariants } from "../reference/Settings/Holds.js"
import { NewEvent } from "../reference/ticketing/Venues/Api.js"
import { GatewayConditionsSchema } from "../reference/payments/Payments/Api.js"
import { CinemaSection } from "./Cinema.js"
import { Fault } from "./Faults.js"
import { Executor } from "../simulator/Executors.js"
import { holdBatchings } from "../reference/ticketing/Inventory/Lanes.js"
import { issuanceVariants } from "../reference/Settings/Issuance.js"
import { KioskSetup } from "./Kiosks.js"
import { ScenarioThresholds } from "../reports/thresholds.js"

const Int = (min: number, max: number) => Schema.Int.pipe(Schema.between(min, max))
const Range = (min: number, max: number) =>
  Schema.Struct({ min: Int(min, max), max: Int(min, max) }).pipe(
    Schema.filter((range) => range.min <= range.max || "min must not exceed max")
  )
const IsoInstant = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?([+-]\d{2}:\d{2}|Z)$/, {
    message: () => "an ISO instant with an offset, e.g. 2027-01-28T08:00:00+08:00"
  })
)

export const Stop = Schema.Struct({
  station: StationCode,
  name: Schema.String,
  departureMinuteOfDay: Int(0, 1439)
})

export const Train = Schema.Struct({
  trainCode: TrainCode,
  serviceDate: Schema.String.pipe(Schema.pattern(/^\d{4}-\d{2}-\d{2}$/)),
  stops: Schema.Array(Stop).pipe(Schema.minItems(2)),
  coaches: Schema.Array(Schema.Struct({
    coach: Int(1, 99),
    seatClass: Schema.Literal("business", "first", "second"),
    seatCount: Int(1, 200)
  })).pipe(Schema.minItems(1)),
  fareFenPerSegment: Schema.Array(Int(0, 10_000_000)),
  /** relative weight of this train among the scenario's trains (default 1) */
  popularity: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1_000_000)), { default: () => 1 })
})
export type Train = typeof Train.Type

/**
 * The SMS channel (seed 002) and SIM carriers (seed 003). A text through the SMS gateway takes
 * `gatewayDelayMs` each way (the `sms-loss` fault loses some and delays the rest more); the gateway pulls
 * the server's outbound texts every `pullIntervalMs` while phones await one, backing off to
 * `maxIdlePullIntervalMs` when idle. A phone with no answer after `replyTimeoutMs` sends its text again, at
 * most `maxSmsResends` times; after paying it waits `ticketNoticeTimeoutMs` for the ticket notice, then
 * texts STATUS every `statusPollIntervalMs`, at most `maxStatusPolls` times.
 */
export const SmsChannel = Schema.Struct({
  gatewayDelayMs: Range(0, 600_000),
  pullIntervalMs: Int(100, 600_000),
  maxIdlePullIntervalMs: Int(100, 3_600_000),
  replyTimeoutMs: Int(1_000, 3_600_000),
  maxSmsResends: Int(0, 20),
  ticketNoticeTimeoutMs: Int(1_000, 3_600_000),
  statusPollIntervalMs: Int(1_000, 3_600_000),
  maxStatusPolls: Int(0, 100),
  /** a carrier phone's SIM reserves this many bytes for tickets (seed 003: 1–2 KB, ~255 B a ticket) */
  carrierCapacityBytes: Range(1, 65_536),
  /** trips a carrier phone buys, one ticket each (more than its slots, so the network ticket box is used) */
  tripsPerCarrierPhone: Range(1, 20)
}).pipe(Schema.filter((sms) => sms.pullIntervalMs <= sms.maxIdlePullIntervalMs || "pullIntervalMs must not exceed maxIdlePullIntervalMs"))
export type SmsChannel = typeof SmsChannel.Type

const Weight = Schema.optional(Schema.Number.pipe(Schema.between(0, 1_000_000)))

/**
 * What the passengers do, by relative weight (each passenger draws one journey): `app` buys a train ticket
 * with the phone app and the wallet (devices/Phone.ts). The journeys are in simulator/Journeys.ts.
 */
export const JourneyMix = Schema.Struct({
  app: Weight,
  /** `fan`: holds an event ticket bought before the gates open and walks to a gate (simulator/journeys/Fan.ts) */
  fan: Weight,
  /** the app journey paying through the third-party gateway (devices/GatewayPayment.ts) */
  "app-gateway": Weight,
  /** a cinema-goer's phone: anonymous device (or a registered customer), seat map, chosen seat, gateway, voucher, hall gate */
  cinema: Weight,
  /** a phone without the app books by SMS through the SMS gateway (simulator/journeys/SmsPhone.ts) */
  sms: Weight,
  /** an app phone with a SIM ticket carrier buys several trips (simulator/journeys/CarrierPhone.ts) */
  carrier: Weight,
  /** walk-up at a station's kiosk: card + PIN, ticket and receipt printed (devices/Kiosk.ts) */
  kiosk: Weight,
  /** buy in the app, then print the ticket at a kiosk by voucher or phone + ID */
  "app-pickup": Weight,
  /** book in the app or through the call centre with the card that will pay, then pay by swiping it at a kiosk */
  "remote-card": Weight
}).pipe(Schema.filter((mix) => Object.values(mix).some((weight) => (weight ?? 0) > 0) || "give at least one journey a weight above 0"))
export type JourneyKind = keyof typeof JourneyMix.Type

const Rate = Schema.Number.pipe(Schema.between(0, 1))

/**
 * An event whose fans hold tickets before the gates open (the `fan` journey): an organiser buys them in group
 * orders of `groupOrderSize` (POST /group-orders) while the scenario sets up, and passes each fan its QR.
 */
export const EventSection = Schema.Struct({
  /** the event as the operator creates it (POST /admin/events); its venue's gates are `gatesPerStation` */
  definition: NewEvent,
  /** the class every fan's ticket is bought in */
  seatClass: SeatClassName,
  groupOrderSize: Int(1, maxTicketsPerGroupOrder),
  /** fans whose ticket is on their phone's SIM carrier, read at the gate over RFID/NFC instead of the QR */
  carrierShare: Rate,
  /** fans who also pass a screenshot of their QR to a friend, who tries it at another gate after them */
  screenshotShare: Rate,
  screenshotDelayMs: Range(0, 3_600_000),
  /** a fan whose code the camera could not read shows it again after this, at most `maxPresentations` times in all */
  representDelayMs: Range(0, 60_000),
  maxPresentations: Int(1, 10),
  /** how long the reader takes: a camera frame, an RFID/NFC exchange */
  cameraReadMs: Int(0, 10_000),
  rfidReadMs: Int(0, 10_000)
})
export type EventSection = typeof EventSection.Type

const ScenarioFields = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(/^[a-z0-9-]+$/)),
  description: Schema.String,
  /** the virtual clock starts here */
  startAt: IsoInstant,
  /** the moment sales open; passengers arrive after it */
  onSaleAt: IsoInstant,
  /** the trains on sale (seed 000); a passenger of a train journey picks one by `popularity` */
  trains: Schema.optionalWith(Schema.Array(Train), { exact: true, default: () => [] }),
  /** when the scenario is over; without it, the last boarding departure of its trains plus `gateClosingMarginMs` */
  endAt: Schema.optional(IsoInstant),
  gatesPerStation: Int(1, 64),
  passengers: Schema.Struct({
    count: Int(1, 1_000_000),
    /** arrivals after on-sale are exponential with this mean: most come in the first minutes */
    meanArrivalDelayMs: Int(1, 86_400_000),
    /**
     * instead: arrivals rise linearly from the ramp's start to its end (ms after the on-sale), as fans reach a
     * stadium's gates, more of them as kick-off nears (k6's ramping-arrival-rate from 0 to a peak)
     */
    arrivalRamp: Schema.optional(Schema.Struct({ startAfterOnSaleMs: Int(0, 86_400_000), endAfterOnSaleMs: Int(1, 86_400_000) }).pipe(
      Schema.filter((ramp) => ramp.startAfterOnSaleMs < ramp.endAfterOnSaleMs || "startAfterOnSaleMs must be before endAfterOnSaleMs"))),
    thinkTimeMs: Range(0, 600_000),
    /** one-way network delay of each request in virtual mode */
    networkDelayMs: Range(0, 60_000),
    /** a phone waiting for its ticket asks again this long after its first poll that found none */
    ticketPollIntervalMs: Int(1, 600_000),
    /**
     * each poll that finds no ticket doubles the wait before the next, up to this (exponential backoff); absent: every
     * wait is `ticketPollIntervalMs`
     */
    maxTicketPollIntervalMs: Schema.optional(Int(1, 3_600_000)),
    /** which journeys the passengers take, by weight; default: all use the app */
    mix: Schema.optionalWith(JourneyMix, { exact: true, default: () => ({ app: 1 }) }),
    maxTicketPolls: Int(0, 1_000),
    /**
     * App passengers (`app`, `app-gateway`) who read the train's seat map and choose a seat (a window seat when one
     * is free) rather than take any seat: `share` of them. When the chosen seat was taken meanwhile, `fallbackShare`
     * of those hold any seat of its class and the rest give up. Absent: every hold takes any seat.
     */
    seatChoice: Schema.optional(Schema.Struct({ share: Rate, fallbackShare: Rate }))
  }),
  checkin: Schema.Struct({
    /** passengers reach the gate this long before their train leaves their station */
    arriveBeforeDepartureMs: Range(0, 7_200_000),
    /** share of admissions whose QR is rendered to pixels and decoded by the gate (≈7 ms each) */
    qrPixelSampleRate: Schema.Number.pipe(Schema.between(0, 1))
  }),
  server: Schema.Struct({
    passwordHashCostN: Schema.Int.pipe(Schema.between(256, 1_048_576), Schema.filter((n) => (n & (n - 1)) === 0 || "must be a power of two")),
    holdTtlMs: Int(1_000, 3_600_000),
    /** how a hold takes a seat (reference/ticketing/Inventory.ts); "unsafe" also needs --unsafe on the command line */
    inventory: Schema.optionalWith(Schema.Literal(...inventoryVariants), { default: () => "conditional" as const }),
    /** the waiting queue's bound per run (inventory "queue"); past it a hold is refused with HoldQueueFull */
    maxQueuedHoldsPerRun: Schema.optionalWith(Int(1, 1_000_000), { default: () => 5_000 }),
    /** one transaction per hold, or the holds of a tick in one (reference/ticketing/Inventory/Lanes.ts); group commit needs real mode */
    batching: Schema.optionalWith(Schema.Literal(...holdBatchings), { default: () => "per-request" as const }),
    groupCommitWindowMs: Schema.optionalWith(Int(0, 1_000), { default: () => 2 }),
    maxHoldsPerGroupCommit: Schema.optionalWith(Int(1, 10_000), { default: () => 64 }),
    /** a chosen seat's hold this soon after another's ties with it: the earlier-installed device wins (reference/ticketing/Orders/SeatPriority.ts); 0: first hold wins */
    seatClaimTieWindowMs: Schema.optionalWith(Int(0, 60_000), { default: () => defaultSettings.seatClaimTieWindowMs }),
    /** who issues a paid order's ticket (reference/delivery/Issuance.ts) */
    issuance: Schema.optionalWith(Schema.Literal(...issuanceVariants), { default: () => "inline" as const }),
    /** the outbox worker's polling interval and batch (the backstop, or the only issuer with issuance "worker") */
    outboxPollIntervalMs: Schema.optionalWith(Int(1, 600_000), { default: () => 1_000 }),
    outboxBatchSize: Schema.optionalWith(Int(1, 10_000), { default: () => 100 }),
    /** how phones pay: the wallet, synchronously, or a third-party gateway whose signed callback settles it */
    payment: Schema.optionalWith(Schema.Literal("wallet", "gateway"), { default: () => "wallet" as const }),
    /** PostgreSQL connections per server process (pg's default pool is 10); a SQLite store has one connection */
    storeMaxConnections: Schema.optionalWith(Int(1, maxStoreConnections), { default: () => defaultStoreMaxConnections })
  }),
  real: Schema.Struct({
    /** real mode runs the scenario's timeline this many times faster than the wall clock */
    timeScale: Schema.Number.pipe(Schema.between(1, 10_000)),
    /** open model: arrivals beyond this many passengers in flight are dropped and counted */
    maxPassengersInFlight: Int(1, 100_000)
  }),
  /**
   * How passengers start, as a k6 executor (simulator/Executors.ts), from the on-sale: iteration n is passenger n.
   * Absent: the arrival curve above (exponential delays), with `real.maxPassengersInFlight`.
   */
  load: Schema.optional(Executor),
  /** as in k6: { payment_to_issuance: ["p(99)<500"], invariants: ["violations==0"] } (reports/thresholds.ts) */
  thresholds: Schema.optionalWith(ScenarioThresholds, { exact: true, default: () => ({}) }),
  /** the cinema on sale (seed 004): its halls and showings; the `cinema` journey buys seats of them */
  cinema: Schema.optional(CinemaSection),
  /** the simulated payment gateway's conditions outside fault windows (reference/Simulated/Gateway.ts) */
  gateway: Schema.optional(Schema.partialWith(GatewayConditionsSchema, { exact: true })),
  /** the SMS channel and SIM carriers of the `sms` and `carrier` journeys (seeds 002, 003); defaults in simulator/journeys/SmsSettings.ts */
  sms: Schema.optional(SmsChannel),
  /** the stations' self-service kiosks (scenarios/Kiosks.ts), for the kiosk and app-pickup journeys */
  kiosks: Schema.optional(KioskSetup),
  /** faults scheduled on the scenario's timeline (scenarios/Faults.ts) */
  faults: Schema.optionalWith(Schema.Array(Fault), { exact: true, default: () => [] }),
  /** an event and its fans (the `fan` journey) */
  event: Schema.optional(EventSection)
})

/** journeys that buy a train ticket need a train */
const trainJourneys: ReadonlyArray<JourneyKind> = ["app", "app-gateway", "sms", "carrier", "kiosk", "app-pickup", "remote-card"]
const kioskJourneys: ReadonlyArray<JourneyKind> = ["kiosk", "app-pickup", "remote-card"]
export const needsTrain = (kind: JourneyKind) => trainJourneys.includes(kind)

export const Scenario = ScenarioFields.pipe(Schema.filter((scenario) => {
  const issues: Array<Schema.FilterIssue> = []
  const wanted = trainJourneys.filter((kind) => (scenario.passengers.mix[kind] ?? 0) > 0)
  if (wanted.length > 0 && scenario.trains.length === 0) issues.push({ path: ["trains"], message: `journeys ${wanted.join(", ")} need at least one train` })
  if ((scenario.passengers.mix.fan ?? 0) > 0 && scenario.event === undefined) issues.push({ path: ["event"], message: "the fan journey needs an event" })
  if (scenario.event && scenario.passengers.count > scenario.event.definition.zones
    .filter((zone) => zone.seatClass === scenario.event!.seatClass)
    .reduce((sum, zone) => sum + (zone.standingCapacity ?? zone.rows?.join("").replace(/[^S]/g, "").length ?? 0), 0)) {
    issues.push({ path: ["event", "seatClass"], message: `the zones of class ${scenario.event.seatClass} have fewer places than the ${scenario.passengers.count} fans` })
  }
  if ((scenario.passengers.mix.cinema ?? 0) > 0 && scenario.cinema === undefined) issues.push({ path: ["cinema"], message: "the cinema journey needs a cinema" })
  const atKiosks = kioskJourneys.filter((kind) => (scenario.passengers.mix[kind] ?? 0) > 0)
  if (atKiosks.length > 0 && scenario.kiosks === undefined) issues.push({ path: ["kiosks"], message: `journeys ${atKiosks.join(", ")} need kiosks` })
  if ((scenario.passengers.mix["remote-card"] ?? 0) > 0 && scenario.kiosks !== undefined && scenario.kiosks.remoteCard === undefined) {
    issues.push({ path: ["kiosks", "remoteCard"], message: "the remote-card journey needs kiosks.remoteCard (its call centre and bookers)" })
  }
  const { ticketPollIntervalMs, maxTicketPollIntervalMs } = scenario.passengers
  if (maxTicketPollIntervalMs !== undefined && maxTicketPollIntervalMs < ticketPollIntervalMs) {
    issues.push({ path: ["passengers", "maxTicketPollIntervalMs"], message: `must be at least ticketPollIntervalMs (${ticketPollIntervalMs}), got ${maxTicketPollIntervalMs}` })
  }
  if (scenario.trains.length === 0 && scenario.endAt === undefined) issues.push({ path: ["endAt"], message: "a scenario without trains must say when it ends (endAt)" })
  scenario.trains.forEach((train, index) => {
    if (train.fareFenPerSegment.length !== train.stops.length - 1) {
      issues.push({ path: ["trains", index, "fareFenPerSegment"], message: `expected ${train.stops.length - 1} fares (one per segment), got ${train.fareFenPerSegment.length}` })
    }
  })
  const codes = scenario.trains.map((train) => `${train.trainCode}/${train.serviceDate}`)
  codes.forEach((code, index) => { if (codes.indexOf(code) !== index) issues.push({ path: ["trains", index, "trainCode"], message: `${code} appears twice` }) })
  return issues
}))
export type Scenario = typeof Scenario.Type

/** The longest wait between a phone's polls for its ticket: `ticketPollIntervalMs` when the scenario sets no backoff. */
export const maxTicketPollIntervalMsOf = (scenario: Scenario): number =>
  scenario.passengers.maxTicketPollIntervalMs ?? scenario.passengers.ticketPollIntervalMs
export type ScenarioInput = typeof Scenario.Encoded

/** Identity with a type, so a scenario file is checked by the compiler as it is written. */
export const defineScenario = (scenario: ScenarioInput): ScenarioInput => scenario
