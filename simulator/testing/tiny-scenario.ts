/**
 * A scenario file for CLI tests: spring-festival with 200 passengers for one train (G1) with one coach of 40 seats, so
 * `chunyun run` finishes in a few seconds.
 */
import springFestival from "../../scenarios/spring-festival.js"
import { defineScenario } from "../../scenarios/Scenario.js"

export default defineScenario({
  ...springFestival,
  name: "spring-festival-tiny",
  passengers: { ...springFestival.passengers, count: 200 },
  trains: [{ ...springFestival.trains![0]!, coaches: [{ coach: 1, seatClass: "second", seatCount: 40 }] }]
})
