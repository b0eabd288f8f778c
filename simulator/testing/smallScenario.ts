/**
 * Small scenarios for tests: the spring-festival on-sale with a few hundred passengers for one train (G1) with one coach,
 * decoded through `Scenario` as a scenario file would be. A virtual run of one takes a few seconds.
 */
import { Schema } from "effect"
import { Scenario } from "../../scenarios/Scenario.js"
import type { ScenarioInput } from "../../scenarios/Scenario.js"
import springFestival from "../../scenarios/spring-festival.js"

export const smallPassengerCount = 300
export const smallSeatCount = 50

/** spring-festival with `smallPassengerCount` passengers and one coach of `smallSeatCount` seats */
export const smallScenarioInput: ScenarioInput = {
  ...springFestival,
  name: "spring-festival-small",
  passengers: { ...springFestival.passengers, count: smallPassengerCount },
  trains: [{ ...springFestival.trains![0]!, coaches: [{ coach: 1, seatClass: "second", seatCount: smallSeatCount }] }]
}

export const smallScenario: Scenario = Schema.decodeUnknownSync(Scenario)(smallScenarioInput)
