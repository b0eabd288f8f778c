/**
 * 08:00 on-sale on the eve of the Spring Festival: 20,000 passengers for 1,000 seats on three trains between
 * Beijing and Shanghai (G1 with six stops, G3 with four, D311 from Tianjin), each wanting a random segment of
 * a train picked by its popularity; a share of them choose their seat on the seat map, and take any seat of its
 * class when another phone was first. Then the gates at departure: a few phones lose an answer and retry, and
 * half the cameras at the gates go out of focus for an hour, so the phones there enlarge their codes.
 */
import { defineScenario } from "./Scenario.js"

export default defineScenario({
  name: "spring-festival",
  description: "08:00 on-sale of three trains: 20,000 passengers, 1,000 seats, random segments, seats chosen on the map, lost answers retried, blurred gate cameras",
  startAt: "2027-01-28T07:59:00+08:00",
  onSaleAt: "2027-01-28T08:00:00+08:00",
  trains: [
    {
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
      coaches: Array.from({ length: 6 }, (_, index) => ({ coach: index + 1, seatClass: "second" as const, seatCount: 100 })),
      fareFenPerSegment: [5_450, 16_200, 21_800, 9_550, 3_300],
      popularity: 3
    },
    {
      trainCode: "G3",
      serviceDate: "2027-01-28",
      stops: [
        { station: "BJP", name: "Beijing South", departureMinuteOfDay: 9 * 60 + 20 },
        { station: "JNK", name: "Jinan West", departureMinuteOfDay: 10 * 60 + 45 },
        { station: "NJH", name: "Nanjing South", departureMinuteOfDay: 12 * 60 + 50 },
        { station: "AOH", name: "Shanghai Hongqiao", departureMinuteOfDay: 14 * 60 + 5 }
      ],
      coaches: [
        { coach: 1, seatClass: "business", seatCount: 20 },
        { coach: 2, seatClass: "first", seatCount: 60 },
        { coach: 3, seatClass: "second", seatCount: 100 },
        { coach: 4, seatClass: "second", seatCount: 100 }
      ],
      fareFenPerSegment: [21_650, 31_350, 12_850],
      popularity: 2
    },
    {
      trainCode: "D311",
      serviceDate: "2027-01-28",
      stops: [
        { station: "TJP", name: "Tianjin South", departureMinuteOfDay: 8 * 60 + 50 },
        { station: "JNK", name: "Jinan West", departureMinuteOfDay: 10 * 60 + 20 },
        { station: "NJH", name: "Nanjing South", departureMinuteOfDay: 13 * 60 + 10 },
        { station: "SZH", name: "Suzhou North", departureMinuteOfDay: 14 * 60 + 25 }
      ],
      coaches: [{ coach: 1, seatClass: "second", seatCount: 120 }],
      fareFenPerSegment: [11_900, 15_300, 6_200],
      popularity: 1
    }
  ],
  gatesPerStation: 4,
  passengers: {
    count: 20_000,
    meanArrivalDelayMs: 90_000,
    thinkTimeMs: { min: 500, max: 4_000 },
    networkDelayMs: { min: 5, max: 60 },
    // a phone whose payment's answer has no ticket asks after 1 s, then backs off: 2 s, then every 4 s
    ticketPollIntervalMs: 1_000,
    maxTicketPollIntervalMs: 4_000,
    maxTicketPolls: 30,
    // three in ten pick a seat on the map (a window if one is free); most who lose it to a faster phone take any seat of its class
    seatChoice: { share: 0.3, fallbackShare: 0.8 }
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
  thresholds: { payment_to_issuance: ["p(99)<500"], invariants: ["violations==0"] },
  faults: [
    // the 08:00 spike: 0.5 % of answers to top-ups and payments never reach the phone, which retries with the same key
    { kind: "client-timeouts", startAfterOnSaleMs: 0, endAfterOnSaleMs: 10 * 60_000, responseLossRate: 0.005, timeoutMs: 5_000, backoffMs: 500, maxRetries: 3 },
    // 10:00–11:00, while Jinan West boards: half of every station's gate cameras blur by 3 px, more than a ticket's 4-px
    // modules survive; a code enlarged ×2 reads through the same blur (seed 42: 126 phones, two of them needed ×4)
    { kind: "camera-blur", startAfterOnSaleMs: 2 * 3_600_000, endAfterOnSaleMs: 3 * 3_600_000, blurRadiusPx: 3, cameraShare: 0.5 }
  ]
})
