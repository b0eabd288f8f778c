/**
 * Who comes, when, and where to: drawn from the seeded `Random`, so a seed is a population.
 */
import { Effect, Random } from "effect"
import type { PhoneNumber, StationCode } from "../reference/Domain.js"
import type { Scenario } from "../scenarios/Scenario.js"
import type { Passenger } from "../devices/Phone.js"

export interface Arrival { readonly passenger: Passenger; readonly arrivalAtMs: number }

export const phoneNumberOf = (index: number) => `13${String(index).padStart(9, "0")}` as PhoneNumber

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
