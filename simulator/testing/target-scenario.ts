/**
 * A scenario file for `chunyun run --target` tests: its whole timeline fits in seconds at real speed. The on-sale is
 * two seconds after the start; two dozen passengers arrive within seconds for one coach of a train leaving 20 minutes
 * later, and go to the gate as soon as they hold their ticket (they mean to be there an hour early, which has passed).
 * The server it is run against must read the scenario's time: `chunyun serve --clock-start-ms <its startAt>`; the
 * few seconds between the server's start and the run's put the server ahead by as much, far inside the sales close
 * (5 minutes before the departure) and the gate's check-in window (from 2 hours before).
 * A few answers to top-ups and payments are lost and sent again under their keys (one retry costs a second).
 */
import springFestival from "../../scenarios/spring-festival.js"
import { defineScenario } from "../../scenarios/Scenario.js"

export default defineScenario({
  name: "spring-festival-target",
  description: "two dozen passengers for one coach of one train, all within seconds at real speed, a few answers lost",
  startAt: "2027-01-28T07:59:58+08:00",
  onSaleAt: "2027-01-28T08:00:00+08:00",
  trains: [{
    trainCode: "G1",
    serviceDate: "2027-01-28",
    stops: [
      { station: "BJP", name: "Beijing South", departureMinuteOfDay: 8 * 60 + 20 },
      { station: "TJP", name: "Tianjin South", departureMinuteOfDay: 8 * 60 + 55 },
      { station: "JNK", name: "Jinan West", departureMinuteOfDay: 9 * 60 + 52 }
    ],
    coaches: [{ coach: 1, seatClass: "second", seatCount: 8 }],
    fareFenPerSegment: [5_450, 16_200],
    popularity: 1
  }],
  gatesPerStation: 2,
  passengers: {
    count: 24,
    meanArrivalDelayMs: 1_000,
    thinkTimeMs: { min: 50, max: 300 },
    networkDelayMs: { min: 0, max: 0 },
    ticketPollIntervalMs: 500,
    maxTicketPolls: 20,
    seatChoice: { share: 0.3, fallbackShare: 0.8 }
  },
  checkin: { arriveBeforeDepartureMs: { min: 60 * 60_000, max: 90 * 60_000 }, qrPixelSampleRate: 0 },
  server: { ...springFestival.server },
  real: { timeScale: 1, maxPassengersInFlight: 100 },
  thresholds: { invariants: ["violations==0"] },
  faults: [
    { kind: "client-timeouts", startAfterOnSaleMs: 0, endAfterOnSaleMs: 10 * 60_000, responseLossRate: 0.1, timeoutMs: 1_000, backoffMs: 100, maxRetries: 3 }
  ]
})
