/**
 * A train on-sale paid through the third-party gateway while it browns out: 3,000 phones for the 300 seats of
 * G1 pay by gateway (the payer takes 3–10 s on the gateway's page). Between minutes 1 and 6 of the rush the
 * gateway answers 20 s slower and declines one charge in five; between minutes 2 and 8 it loses one
 * notification in five, sends one in ten twice and the rest 5 s late. The server must reconcile: lost
 * notifications are recovered by its poll, duplicates change nothing, a success after the hold expired is
 * refunded — every captured charge ends in one ticket or one refund.
 */
import { defineScenario } from "./Scenario.js"
import springFestival from "./spring-festival.js"

const g1 = springFestival.trains![0]!

// spring-festival's on-sale time, phones (network delay, ticket polls), check-in window, server and real-mode pace
export default defineScenario({
  ...springFestival,
  name: "gateway-brownout",
  description: "08:00 on-sale of G1 paid by gateway: 3,000 phones, 300 seats, a gateway brownout (latency, declines) and lost/duplicated/late notifications in the rush",
  trains: [{ ...g1, coaches: [1, 2, 3].map((coach) => ({ coach, seatClass: "second" as const, seatCount: 100 })) }],
  gatesPerStation: 2,
  passengers: { ...springFestival.passengers, count: 3_000, meanArrivalDelayMs: 120_000, mix: { "app-gateway": 1 } },
  checkin: { ...springFestival.checkin, qrPixelSampleRate: 0.05 },
  gateway: { baseLatencyMs: 3_000, latencyJitterMs: 7_000 },
  thresholds: { payment_to_issuance: ["p(50)<45000", "p(99)<90000"], invariants: ["violations==0"] },
  faults: [
    { kind: "gateway-brownout", startAfterOnSaleMs: 60_000, endAfterOnSaleMs: 6 * 60_000, extraLatencyMs: 20_000, declineRate: 0.2 },
    { kind: "gateway-callbacks", startAfterOnSaleMs: 2 * 60_000, endAfterOnSaleMs: 8 * 60_000, lossRate: 0.2, duplicateRate: 0.1, delayMs: 5_000 }
  ]
})
