/**
 * A day of the national rush: 1,000,000 passengers come to buy over the hours after the 08:00 on-sale (half of them
 * in the first 42 minutes, fewer each hour after) for three trains lengthened to sixteen coaches: 4,800 seats, sold
 * segment by segment. Most find the train they want sold out at the search and leave; the rest hold, pay, and are
 * checked at the gates. Its size is the point: it is the run that shows the harness holds a million passengers in
 * bounded memory (the history moves to a file as it grows; a passenger exists from its arrival to its end).
 * Try a smaller crowd first: `npx chunyun run scenarios/national-rush.ts --passengers 100000`.
 */
import springFestival from "./spring-festival.js"
import { defineScenario } from "./Scenario.js"

/** coaches of every train: second class, 100 seats each */
const coachesPerTrain = 16

export default defineScenario({
  ...springFestival,
  name: "national-rush",
  description: "a million passengers over the hours after the 08:00 on-sale, three trains of sixteen coaches (4,800 seats)",
  trains: springFestival.trains!.map((train) => ({
    ...train,
    coaches: Array.from({ length: coachesPerTrain }, (_, index) => ({ coach: index + 1, seatClass: "second" as const, seatCount: 100 }))
  })),
  passengers: { ...springFestival.passengers, count: 1_000_000, meanArrivalDelayMs: 3_600_000 },
  // the gates' blurred cameras belong to spring-festival's story; here only lost answers in the first hour
  faults: [springFestival.faults![0]!],
  thresholds: { invariants: ["violations==0"] }
})
