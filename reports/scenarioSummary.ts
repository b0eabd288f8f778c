/**
 * The scenario as a report shows it: its trains and venues, how many passengers and which journeys, how they
 * arrive, the faults and the thresholds, so a reader sees what the numbers are the numbers of.
 */
import { minuteOfDayText } from "../reference/Domain.js"
import type { ScenarioSummary } from "./Report.js"
import { thresholdListOf } from "./thresholds.js"
import type { Scenario } from "../scenarios/Scenario.js"


const routeOf = (train: Scenario["trains"][number]) => {
  const first = train.stops[0]!
  const last = train.stops[train.stops.length - 1]!
  return `${first.station} ${minuteOfDayText(first.departureMinuteOfDay)} → ${last.station} ${minuteOfDayText(last.departureMinuteOfDay)}, ${train.stops.length} stops`
}

const arrivalsOf = (scenario: Scenario) => {
  const load = scenario.load
  if (load !== undefined) {
    const { executor, ...settings } = load
    return `${executor}: ${parametersOf(settings)}`
  }
  const ramp = scenario.passengers.arrivalRamp
  if (ramp !== undefined) return `rising linearly from ${ramp.startAfterOnSaleMs / 1_000} s to ${ramp.endAfterOnSaleMs / 1_000} s after the on-sale`
  return `exponential after the on-sale, mean delay ${scenario.passengers.meanArrivalDelayMs / 1_000} s`
}

/** "responseLossRate 0.02, timeoutMs 5000"; a nested value as JSON */
const parametersOf = (fields: Readonly<Record<string, unknown>>) =>
  Object.entries(fields)
    .map(([name, value]) => `${name} ${typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)}`)
    .join(", ")

const venuesOf = (scenario: Scenario): Array<string> => [
  ...(scenario.cinema === undefined ? [] : [
    `cinema ${scenario.cinema.name} (${scenario.cinema.city}): ${scenario.cinema.halls.length} halls, ${scenario.cinema.showings.length} showings`
  ]),
  ...(scenario.event === undefined ? [] : [
    `event ${scenario.event.definition.title} at ${scenario.event.definition.venue.name}, ${scenario.event.definition.serviceDate} ` +
    `${minuteOfDayText(scenario.event.definition.startMinuteOfDay)}: ${scenario.event.definition.zones.length} zones, group orders of ${scenario.event.groupOrderSize}`
  ])
]

export const scenarioSummaryOf = (scenario: Scenario): ScenarioSummary => ({
  description: scenario.description,
  onSaleAt: scenario.onSaleAt,
  ...(scenario.endAt === undefined ? {} : { endAt: scenario.endAt }),
  passengers: scenario.passengers.count,
  mix: Object.entries(scenario.passengers.mix)
    .filter(([, weight]) => weight !== undefined && weight > 0)
    .map(([journey, weight]) => ({ journey, weight: weight ?? 0 }))
    .sort((left, right) => right.weight - left.weight || (left.journey < right.journey ? -1 : 1)),
  arrivals: arrivalsOf(scenario),
  trains: scenario.trains.map((train) => ({
    trainCode: train.trainCode,
    serviceDate: train.serviceDate,
    route: routeOf(train),
    seats: train.coaches.reduce((sum, coach) => sum + coach.seatCount, 0),
    popularity: train.popularity
  })),
  venues: venuesOf(scenario),
  faults: scenario.faults.map(({ kind, startAfterOnSaleMs, endAfterOnSaleMs, ...parameters }) =>
    ({ kind, startAfterOnSaleMs, endAfterOnSaleMs, parameters: parametersOf(parameters) })),
  thresholds: thresholdListOf(scenario.thresholds).map((threshold) => `${threshold.metric}: ${threshold.source}`),
  server: {
    inventory: scenario.server.inventory, batching: scenario.server.batching, issuance: scenario.server.issuance,
    payment: scenario.server.payment, holdTtlMs: scenario.server.holdTtlMs
  }
})
