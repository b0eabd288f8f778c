/**
 * Who comes, when, and where to: drawn from the seeded `Random`, so a seed is a population.
 */
import { Effect, Random } from "effect"
import type { PhoneNumber, StationCode } from "../reference/Domain.js"
import type { Scenario } from "../scenarios/Scenario.js"
import type { Passenger } from "../devices/Phone.js"
import { makeResidentId } from "../reference/Customers/ResidentId.js"

export interface Arrival { readonly passenger: Passenger; readonly arrivalAtMs: number }

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

/** Arrivals sorted by time: exponential delays after the on-sale, uniform random segments. */
export const population = (scenario: Scenario) =>
  Effect.gen(function* () {
    const onSaleMs = Date.parse(scenario.onSaleAt)
    const stops = scenario.train.stops
    const arrivals: Array<Arrival> = []
    for (let index = 0; index < scenario.passengers.count; index++) {
      const uniform = yield* Random.next
      const delayMs = Math.floor(-Math.log(1 - uniform) * scenario.passengers.meanArrivalDelayMs)
      const fromIndex = yield* Random.nextIntBetween(0, stops.length - 1)
      const toIndex = yield* Random.nextIntBetween(fromIndex + 1, stops.length)
      arrivals.push({
        arrivalAtMs: onSaleMs + delayMs,
        passenger: {
          index,
          phone: phoneNumberOf(index),
          residentId: residentIdOf(index),
          fromStation: stops[fromIndex]!.station as StationCode,
          toStation: stops[toIndex]!.station as StationCode
        }
      })
    }
    return arrivals.sort((a, b) => a.arrivalAtMs - b.arrivalAtMs || a.passenger.index - b.passenger.index)
  })

/** When the scenario is over: the last boarding departure plus the gates' closing margin. */
export const scenarioEndMs = (scenario: Scenario, departureEpochMs: (station: string) => number) =>
  Math.max(...scenario.train.stops.slice(0, -1).map((stop) => departureEpochMs(stop.station))) + 10 * 60_000
