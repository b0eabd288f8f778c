/**
 * The store slows down and then the server dies in the middle of the 08:00 rush; it comes back 30 s later. In virtual mode every request in
 * flight is cut off (its transaction rolls back) and the server's memory is dropped; with `--mode real` the
 * server process gets SIGKILL and is started again on the same database. Phones that lose a connection send
 * again after a doubling backoff (payments with the same idempotency key); what was committed must survive:
 * every captured payment ends in one ticket, no seat is sold twice, nothing is charged twice.
 */
import springFestival from "./spring-festival.js"
import { defineScenario } from "./Scenario.js"

export default defineScenario({
  ...springFestival,
  name: "crash-mid-rush",
  description: "spring-festival's on-sale with a slow disk from 20 s to 40 s, the server killed 45 s into the rush and back 30 s later",
  passengers: { ...springFestival.passengers, count: 8_000, meanArrivalDelayMs: 60_000 },
  trains: [springFestival.trains![0]!, springFestival.trains![1]!],
  faults: [
    // the disk slows down first (every commit waits 5 ms: SQLite's one writer at a time queues up behind it) …
    { kind: "slow-store", startAfterOnSaleMs: 20_000, endAfterOnSaleMs: 40_000, delayMs: 5 },
    // … then the server dies, and is back 30 s later on the same store
    { kind: "server-crash", startAfterOnSaleMs: 45_000, endAfterOnSaleMs: 75_000 }
  ],
  // a phone cut off by the crash retries for up to a minute; the slow disk shows in p90
  thresholds: { invariants: ["violations==0"], payment_to_issuance: ["p(99)<10000", "max<60000"] }
})
