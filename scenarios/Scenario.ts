/**
 * A scenario is data: who arrives when, what they do, what the server is set to, what must hold.
 * Scenario files default-export a value that `Scenario` decodes; a typo gets an error naming its path.
 */
import { Schema } from "effect"
import { inventoryVariants } from "../reference/Inventory.js"
import { holdBatchings } from "../reference/Inventory/Lanes.js"
import { issuanceVariants } from "../reference/Issuance.js"

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

export const Scenario = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(/^[a-z0-9-]+$/)),
  description: Schema.String,
  /** the virtual clock starts here */
  startAt: IsoInstant,
  /** the moment sales open; passengers arrive after it */
  onSaleAt: IsoInstant,
  train: Schema.Struct({
    trainCode: Schema.String.pipe(Schema.pattern(/^[A-Z][0-9A-Z]{0,7}$/)),
    serviceDate: Schema.String.pipe(Schema.pattern(/^\d{4}-\d{2}-\d{2}$/)),
    stops: Schema.Array(Stop).pipe(Schema.minItems(2)),
    coaches: Schema.Array(Schema.Struct({
      coach: Int(1, 99),
      seatClass: Schema.Literal("business", "first", "second"),
      seatCount: Int(1, 200)
    })).pipe(Schema.minItems(1)),
    fareFenPerSegment: Schema.Array(Int(0, 10_000_000))
  }),
  gatesPerStation: Int(1, 64),
  passengers: Schema.Struct({
    count: Int(1, 1_000_000),
    /** arrivals after on-sale are exponential with this mean: most come in the first minutes */
    meanArrivalDelayMs: Int(1, 86_400_000),
    thinkTimeMs: Range(0, 600_000),
    /** one-way network delay of each request in virtual mode */
    networkDelayMs: Range(0, 60_000),
    ticketPollIntervalMs: Int(1, 600_000),
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
    inventory: Schema.optionalWith(Schema.Literal(...inventoryVariants), { default: () => "conditional" as const }),
    /** the waiting queue's bound per run (inventory "queue"); past it a hold is refused with HoldQueueFull */
    maxQueuedHoldsPerRun: Schema.optionalWith(Int(1, 1_000_000), { default: () => 5_000 }),
    /** one transaction per hold, or the holds of a tick in one (reference/Inventory/Lanes.ts); group commit needs real mode */
    batching: Schema.optionalWith(Schema.Literal(...holdBatchings), { default: () => "per-request" as const }),
    groupCommitWindowMs: Schema.optionalWith(Int(0, 1_000), { default: () => 2 }),
    maxHoldsPerGroupCommit: Schema.optionalWith(Int(1, 10_000), { default: () => 64 }),
    /** who issues a paid order's ticket (reference/Issuance.ts) */
    issuance: Schema.optionalWith(Schema.Literal(...issuanceVariants), { default: () => "after-commit" as const }),
    /** the outbox worker's polling interval and batch (the backstop, or the only issuer with issuance "worker") */
    outboxPollIntervalMs: Schema.optionalWith(Int(1, 600_000), { default: () => 1_000 }),
    outboxBatchSize: Schema.optionalWith(Int(1, 10_000), { default: () => 100 }),
    /** how phones pay: the wallet, synchronously, or a third-party gateway whose signed callback settles it */
    payment: Schema.optionalWith(Schema.Literal("wallet", "gateway"), { default: () => "wallet" as const })
  }),
  real: Schema.Struct({
    /** real mode runs the scenario's timeline this many times faster than the wall clock */
    timeScale: Schema.Number.pipe(Schema.between(1, 10_000)),
    /** open model: arrivals beyond this many passengers in flight are dropped and counted */
    maxPassengersInFlight: Int(1, 100_000)
  }),
  /** as in k6: { payment_to_issuance: ["p(99)<500"], invariants: ["violations==0"] } (reports/thresholds.ts) */
  thresholds: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) }), { default: () => ({}) })
})
export type Scenario = typeof Scenario.Type
export type ScenarioInput = typeof Scenario.Encoded

/** Identity with a type, so a scenario file is checked by the compiler as it is written. */
export const defineScenario = (scenario: ScenarioInput): ScenarioInput => scenario
