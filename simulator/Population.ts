/**
 * Who comes, when, and where to: drawn from the seeded `Random`, so a seed is a population.
 */
import { Effect, Random } from "effect"
import type { PhoneNumber } from "../reference/Domain.js"
import { needsTrain } from "../scenarios/Scenario.js"
import type { JourneyKind, Scenario } from "../scenarios/Scenario.js"
import type { Passenger, Trip } from "../devices/Phone.js"
import { departureOf } from "./Setup.js"
import { makeResidentId } from "../reference/customers/Customers/ResidentId.js"

export interface Arrival { readonly passenger: Passenger; readonly arrivalAtMs: number; readonly journey: JourneyKind }

export const phoneNumberOf = (index: number) => `13${String(index).padStart(9, "0")}` as PhoneNumber

const passengerRegions = ["110105", "310115", "440305", "510107", "330106", "420106", "370102", "610113", "210102", "500103"]
const firstBirthMs = Date.UTC(1946, 0, 1)
const birthDaySpan = 25_000
/** coprime with birthDaySpan, so the first 25,000 passengers have 25,000 different birth dates */
const birthDayStride = 7_919
const msPerDay = 86_400_000

/**
 * A valid resident ID for passenger `index`, a function of the index alone (no draw from `Random`, so the
 * population's other draws stay as they were): ten provinces, birth dates from 1946 to 2014.
 */
export const residentIdOf = (index: number) => {
  const birthMs = firstBirthMs + ((index * birthDayStride) % birthDaySpan) * msPerDay
  const yyyymmdd = new Date(birthMs).toISOString().slice(0, 10).replaceAll("-", "")
  return makeResidentId(passengerRegions[index % passengerRegions.length]!, yyyymmdd, String(index % 1000).padStart(3, "0"))
}

/** A draw from `weights` (relative, ≥ 0, at least one > 0): the index of the chosen entry. One `Random` draw. */
export const weightedIndex = (weights: ReadonlyArray<number>) =>
  Effect.map(Random.next, (uniform) => {
    const total = weights.reduce((sum, weight) => sum + weight, 0)
    let remaining = uniform * total
    for (let index = 0; index < weights.length; index++) {
      remaining -= weights[index]!
      if (remaining < 0 && weights[index]! > 0) return index
    }
    let last = 0
    weights.forEach((weight, index) => { if (weight > 0) last = index })
    return last
  })

/** A random train (by popularity) and a uniform random segment of it; no draw for a choice of one. */
export const drawTrip = (trains: Scenario["trains"]) =>
  Effect.gen(function* () {
    const train = trains.length === 1 ? 0 : yield* weightedIndex(trains.map((candidate) => candidate.popularity))
    const stops = trains[train]!.stops
    const fromIndex = yield* Random.nextIntBetween(0, stops.length - 1)
    const toIndex = yield* Random.nextIntBetween(fromIndex + 1, stops.length)
    const trip: Trip = { train, fromStation: stops[fromIndex]!.station, toStation: stops[toIndex]!.station }
    return trip
  })

/**
 * Arrivals sorted by time: exponential delays after the on-sale (or a linear ramp, `arrivalRamp`); each passenger draws a journey by the mix's
 * weights (no draw when only one journey has weight) and, for a train journey, a train and a segment.
 */
export const population = (scenario: Scenario) =>
  Effect.gen(function* () {
    const onSaleMs = Date.parse(scenario.onSaleAt)
    const kinds = (Object.keys(scenario.passengers.mix) as Array<JourneyKind>)
      .filter((kind) => (scenario.passengers.mix[kind] ?? 0) > 0).sort()
    const weights = kinds.map((kind) => scenario.passengers.mix[kind] ?? 0)
    const arrivals: Array<Arrival> = []
    for (let index = 0; index < scenario.passengers.count; index++) {
      const uniform = yield* Random.next
      const ramp = scenario.passengers.arrivalRamp
      // a linear ramp's density rises as t: its inverse CDF is the square root
      const delayMs = ramp
        ? ramp.startAfterOnSaleMs + Math.floor(Math.sqrt(uniform) * (ramp.endAfterOnSaleMs - ramp.startAfterOnSaleMs))
        : Math.floor(-Math.log(1 - uniform) * scenario.passengers.meanArrivalDelayMs)
      const journey = kinds.length === 1 ? kinds[0]! : kinds[yield* weightedIndex(weights)]!
      const trip = scenario.trains.length > 0 && needsTrain(journey) ? yield* drawTrip(scenario.trains) : undefined
      const passenger: Passenger = { index, phone: phoneNumberOf(index), residentId: residentIdOf(index), ...(trip ? { trip } : {}) }
      arrivals.push({ arrivalAtMs: onSaleMs + delayMs, journey, passenger })
    }
    return arrivals.sort((a, b) => a.arrivalAtMs - b.arrivalAtMs || a.passenger.index - b.passenger.index)
  })

/**
 * The scenario's `endAt` ("when the scenario is over") as the end of arrivals: a passenger due at or after it
 * does not come. Without `endAt` nothing is cut: the scenario ends when its trains have left (`scenarioEndMs`),
 * and who still comes then is what its arrival curve asked for.
 */
export const arrivalsEndMs = (scenario: Scenario): number | undefined =>
  scenario.endAt === undefined ? undefined : Date.parse(scenario.endAt)

/**
 * The arrivals that come, and how many were cut by `endAt` (see `arrivalsEndMs`). The population is drawn in
 * full first, so a cut changes nobody else's draws.
 */
export const arrivalsBeforeEnd = (scenario: Scenario, arrivals: ReadonlyArray<Arrival>) => {
  const endMs = arrivalsEndMs(scenario)
  const arriving = endMs === undefined ? arrivals : arrivals.filter((arrival) => arrival.arrivalAtMs < endMs)
  return { arriving, cut: arrivals.length - arriving.length }
}

/** how long after a train's last boarding departure its gates stay open */
export const gateClosingMarginMs = 10 * 60_000

/** When the scenario is over: `endAt`, or the last boarding departure of its trains plus the gates' closing margin. */
export const scenarioEndMs = (scenario: Scenario) => {
  if (scenario.endAt !== undefined) return Date.parse(scenario.endAt)
  const departures = scenario.trains.flatMap((train, index) => train.stops.slice(0, -1).map((stop) => departureOf(scenario)(index, stop.station)))
  return Math.max(...departures) + gateClosingMarginMs
}
