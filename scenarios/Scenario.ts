/**
 * A scenario is data: who arrives when, what they do, what the server is set to, what must hold.
 * Scenario files default-export a value that `Scenario` decodes; a typo gets an error naming its path.
 */
import { Schema } from "effect"
import { inventoryVariants } from "../reference/Inventory.js"
import { Fault } from "./Faults.js"
import { KioskSetup } from "./Kiosks.js"

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
  station: Schema.String.pipe(Schema.pattern(/^[A-Z]{3}$/)),
  name: Schema.String,
  departureMinuteOfDay: Int(0, 1439)
})

export const Train = Schema.Struct({
  trainCode: Schema.String.pipe(Schema.pattern(/^[A-Z][0-9A-Z]{0,7}$/)),
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

const Weight = Schema.optional(Schema.Number.pipe(Schema.between(0, 1_000_000)))

/**
 * What the passengers do, by relative weight (each passenger draws one journey): `app` buys a train ticket
 * with the phone app and the wallet (devices/Phone.ts). The journeys are in simulator/Journeys.ts.
 */
export const JourneyMix = Schema.Struct({
  app: Weight,
  /** walk-up at a station's kiosk: card + PIN, ticket and receipt printed (devices/Kiosk.ts) */
  kiosk: Weight,
  /** buy in the app, then print the ticket at a kiosk by voucher or phone + ID */
  "app-pickup": Weight
}).pipe(Schema.filter((mix) => Object.values(mix).some((weight) => (weight ?? 0) > 0) || "give at least one journey a weight above 0"))
export type JourneyKind = keyof typeof JourneyMix.Type

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
    thinkTimeMs: Range(0, 600_000),
    /** one-way network delay of each request in virtual mode */
    networkDelayMs: Range(0, 60_000),
    ticketPollIntervalMs: Int(1, 600_000),
    /** which journeys the passengers take, by weight; default: all use the app */
    mix: Schema.optionalWith(JourneyMix, { exact: true, default: () => ({ app: 1 }) }),
    maxTicketPolls: Int(0, 1_000)
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
    /** how a hold takes a seat (reference/Inventory.ts); "unsafe" also needs --unsafe on the command line */
    inventory: Schema.optionalWith(Schema.Literal(...inventoryVariants), { default: () => "conditional" as const })
  }),
  real: Schema.Struct({
    /** real mode runs the scenario's timeline this many times faster than the wall clock */
    timeScale: Schema.Number.pipe(Schema.between(1, 10_000)),
    /** open model: arrivals beyond this many passengers in flight are dropped and counted */
    maxPassengersInFlight: Int(1, 100_000)
  }),
  /** as in k6: { payment_to_issuance: ["p(99)<500"], invariants: ["violations==0"] } (reports/thresholds.ts) */
  thresholds: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) }), { default: () => ({}) }),
  /** the stations' self-service kiosks (scenarios/Kiosks.ts), for the kiosk and app-pickup journeys */
  kiosks: Schema.optional(KioskSetup),
  /** faults scheduled on the scenario's timeline (scenarios/Faults.ts) */
  faults: Schema.optionalWith(Schema.Array(Fault), { exact: true, default: () => [] })
})

/** journeys that buy a train ticket need a train */
const trainJourneys: ReadonlyArray<JourneyKind> = ["app", "kiosk", "app-pickup"]
const kioskJourneys: ReadonlyArray<JourneyKind> = ["kiosk", "app-pickup"]
export const needsTrain = (kind: JourneyKind) => trainJourneys.includes(kind)

export const Scenario = ScenarioFields.pipe(Schema.filter((scenario) => {
  const issues: Array<Schema.FilterIssue> = []
  const wanted = trainJourneys.filter((kind) => (scenario.passengers.mix[kind] ?? 0) > 0)
  if (wanted.length > 0 && scenario.trains.length === 0) issues.push({ path: ["trains"], message: `journeys ${wanted.join(", ")} need at least one train` })
  const atKiosks = kioskJourneys.filter((kind) => (scenario.passengers.mix[kind] ?? 0) > 0)
  if (atKiosks.length > 0 && scenario.kiosks === undefined) issues.push({ path: ["kiosks"], message: `journeys ${atKiosks.join(", ")} need kiosks` })
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
export type ScenarioInput = typeof Scenario.Encoded

/** Identity with a type, so a scenario file is checked by the compiler as it is written. */
export const defineScenario = (scenario: ScenarioInput): ScenarioInput => scenario
