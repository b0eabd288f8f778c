/**
 * A premiere's seats go on sale at 10:00 (seed 004): 1,500 phones for the 352 seats of two halls, most on an
 * anonymous device ID, most wanting the hot seats in the middle rows, so many choose the same seat from the
 * same map: the first hold wins, the others get `SeatTaken`, read the map again and choose again (at most
 * five times) — unless two holds of a seat tie (within the server's `seatClaimTieWindowMs`): most anonymous phones
 * send their app's install time in their device ID, and in a tie the earlier-installed phone takes the seat, the
 * other learns it when it pays (`HoldDisplaced`) and chooses again. They pay through the gateway, which loses a notification now and then during the rush (the
 * server's poll recovers it), take the pickup voucher and enter the hall by QR in the evening.
 */
import { defineScenario } from "./Scenario.js"

/** a hall's row: seats either side of a central aisle */
const row = (seatsPerSide: number, letter = "S") => `${letter.repeat(seatsPerSide)}..${letter.repeat(seatsPerSide)}`

export default defineScenario({
  name: "cinema-premiere",
  description: "10:00 on-sale of a premiere: 1,500 phones (60 % anonymous devices) for 352 chosen seats in two halls, hot middle rows, gateway payments, voucher and QR at the hall",
  startAt: "2027-02-12T09:59:00+08:00",
  onSaleAt: "2027-02-12T10:00:00+08:00",
  endAt: "2027-02-12T22:30:00+08:00",
  gatesPerStation: 4,
  passengers: {
    count: 1_500,
    meanArrivalDelayMs: 60_000,
    thinkTimeMs: { min: 500, max: 3_000 },
    networkDelayMs: { min: 5, max: 60 },
    ticketPollIntervalMs: 1_000,
    maxTicketPolls: 30,
    mix: { cinema: 1 }
  },
  checkin: { arriveBeforeDepartureMs: { min: 5 * 60_000, max: 30 * 60_000 }, qrPixelSampleRate: 0.1 },
  server: { passwordHashCostN: 256, holdTtlMs: 5 * 60_000 },
  real: { timeScale: 10, maxPassengersInFlight: 2_000 },
  cinema: {
    code: "WDA",
    name: "Wanda CBD",
    city: "Beijing",
    halls: [
      // 12 rows of 20 with the back two VIP: 240 seats
      { hall: 1, name: "IMAX", rows: [...Array.from({ length: 10 }, () => row(10)), row(10, "V"), row(10, "V")] },
      { hall: 2, name: "Hall 2", rows: Array.from({ length: 8 }, () => row(7)) }
    ],
    showings: [
      { showingCode: "P1930", hall: 1, serviceDate: "2027-02-12", startMinuteOfDay: 19 * 60 + 30, film: { title: "The Wandering Earth III", durationMinutes: 150 },
        fares: [{ seatClass: "standard", fareFen: 8_000 }, { seatClass: "vip", fareFen: 12_000 }], popularity: 3 },
      { showingCode: "P2000", hall: 2, serviceDate: "2027-02-12", startMinuteOfDay: 20 * 60, film: { title: "The Wandering Earth III", durationMinutes: 150 },
        fares: [{ seatClass: "standard", fareFen: 6_000 }], popularity: 1 }
    ],
    anonymousShare: 0.6,
    installTimeShare: 0.8,
    hotSeatShare: 0.7,
    seatChoiceWidth: 4,
    maxSeatAttempts: 5,
    arriveBeforeStartMs: { min: 5 * 60_000, max: 25 * 60_000 }
  },
  gateway: { baseLatencyMs: 2_000, latencyJitterMs: 6_000 },
  thresholds: { payment_to_issuance: ["p(50)<15000", "p(99)<120000"], invariants: ["violations==0"] },
  faults: [
    { kind: "gateway-callbacks", startAfterOnSaleMs: 0, endAfterOnSaleMs: 5 * 60_000, lossRate: 0.05, duplicateRate: 0.05, delayMs: 0 }
  ]
})
