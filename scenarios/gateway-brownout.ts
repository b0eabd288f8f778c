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

export default defineScenario({
  name: "gateway-brownout",
  description: "08:00 on-sale of G1 paid by gateway: 3,000 phones, 300 seats, a gateway brownout (latency, declines) and lost/duplicated/late notifications in the rush",
  startAt: "2027-01-28T07:59:00+08:00",
  onSaleAt: "2027-01-28T08:00:00+08:00",
  trains: [{ ...g1, coaches: [1, 2, 3].map((coach) => ({ coach, seatClass: "second" as const, seatCount: 100 })) }],
  gatesPerStation: 2,
  passengers: {
    count: 3_000,
    meanArrivalDelayMs: 120_000,
    thinkTimeMs: { min: 500, max: 4_000 },
    networkDelayMs: { min: 5, max: 60 },
    ticketPollIntervalMs: 1_000,
    maxTicketPolls: 30,
    mix: { "app-gateway": 1 }
  },
  checkin: { arriveBeforeDepartureMs: { min: 5 * 60_000, max: 60 * 60_000 }, qrPixelSampleRate: 0.05 },
  server: { passwordHashCostN: 256, holdTtlMs: 10 * 60_000 },
  real: { timeScale: 10, maxPassengersInFlight: 2_000 },
  gateway: { baseLatencyMs: 3_000, latencyJitterMs: 7_000 },
  thresholds: { payment_to_issuance: ["p(50)<45000", "p(99)<90000"], invariants: ["violations==0"] },
  faults: [
    { kind: "gateway-brownout", startAfterOnSaleMs: 60_000, endAfterOnSaleMs: 6 * 60_000, extraLatencyMs: 20_000, declineRate: 0.2 },
    { kind: "gateway-callbacks", startAfterOnSaleMs: 2 * 60_000, endAfterOnSaleMs: 8 * 60_000, lossRate: 0.2, duplicateRate: 0.1, delayMs: 5_000 }
  ]
})
