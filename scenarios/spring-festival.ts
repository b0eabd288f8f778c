/**
 * 08:00 on-sale of G1 Beijing South → Shanghai Hongqiao on the eve of the Spring Festival: 20,000
 * passengers for 1,000 seats on six stops, each wanting a random segment; then the gates at departure.
 */
import { defineScenario } from "./Scenario.js"

export default defineScenario({
  name: "spring-festival",
  description: "08:00 on-sale of one popular train: 20,000 passengers, 1,000 seats, random segments, gates at departure",
  startAt: "2027-01-28T07:59:00+08:00",
  onSaleAt: "2027-01-28T08:00:00+08:00",
  train: {
    trainCode: "G1",
    serviceDate: "2027-01-28",
    stops: [
      { station: "BJP", name: "Beijing South", departureMinuteOfDay: 9 * 60 },
      { station: "TJP", name: "Tianjin South", departureMinuteOfDay: 9 * 60 + 35 },
      { station: "JNK", name: "Jinan West", departureMinuteOfDay: 10 * 60 + 32 },
      { station: "NJH", name: "Nanjing South", departureMinuteOfDay: 12 * 60 + 40 },
      { station: "SZH", name: "Suzhou North", departureMinuteOfDay: 13 * 60 + 38 },
      { station: "AOH", name: "Shanghai Hongqiao", departureMinuteOfDay: 14 * 60 + 8 }
    ],
    coaches: Array.from({ length: 10 }, (_, index) => ({ coach: index + 1, seatClass: "second" as const, seatCount: 100 })),
    fareFenPerSegment: [5_450, 16_200, 21_800, 9_550, 3_300]
  },
  gatesPerStation: 4,
  passengers: {
    count: 20_000,
    meanArrivalDelayMs: 90_000,
    thinkTimeMs: { min: 500, max: 4_000 },
    networkDelayMs: { min: 5, max: 60 },
    ticketPollIntervalMs: 1_000,
    maxTicketPolls: 30
  },
  checkin: {
    arriveBeforeDepartureMs: { min: 5 * 60_000, max: 60 * 60_000 },
    qrPixelSampleRate: 0.1
  },
  server: {
    // Server CPU time does not advance the virtual clock, so the KDF's cost changes no number of a virtual
    // run; at Node's default (16384, 27 ms a hash here) it would cost minutes of wall time. Real mode can
    // restore a production cost with `--password-cost 16384`.
    passwordHashCostN: 256,
    holdTtlMs: 10 * 60_000
  },
  real: { timeScale: 10, maxPassengersInFlight: 2_000 },
  thresholds: { payment_to_issuance: ["p(99)<500"], invariants: ["violations==0"] }
})
