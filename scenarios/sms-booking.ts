/**
 * The SMS channel under load (seeds 002, 003): the 08:00 on-sale of two trains where most passengers have
 * no app and book by SMS (BUY, PAY with the payment password, the ticket notice, STATUS when it is late),
 * through an SMS gateway that loses a tenth of the texts both ways and delays the rest for the first ten
 * minutes; a share of app phones keep their tickets on a SIM carrier of 1–1.25 KB (4–5 tickets) and buy
 * three to seven trips, so the network ticket box fills and migrates tickets down as they are used at the gates.
 */
import { defineScenario } from "./Scenario.js"
import springFestival from "./spring-festival.js"

// spring-festival's on-sale time, phones (network delay, ticket polls), check-in window, server and real-mode pace
export default defineScenario({
  ...springFestival,
  name: "sms-booking",
  description: "08:00 on-sale by SMS: 3,000 passengers (75% SMS, 5% with SIM carriers, 20% app), 1,000 seats, 10% of texts lost for 10 min",
  trains: [
    {
      trainCode: "G7",
      serviceDate: "2027-01-28",
      stops: [
        { station: "BJP", name: "Beijing South", departureMinuteOfDay: 10 * 60 },
        { station: "JNK", name: "Jinan West", departureMinuteOfDay: 11 * 60 + 25 },
        { station: "NJH", name: "Nanjing South", departureMinuteOfDay: 13 * 60 + 20 },
        { station: "AOH", name: "Shanghai Hongqiao", departureMinuteOfDay: 14 * 60 + 30 }
      ],
      coaches: Array.from({ length: 6 }, (_, index) => ({ coach: index + 1, seatClass: "second" as const, seatCount: 100 })),
      fareFenPerSegment: [18_450, 21_800, 12_850],
      popularity: 2
    },
    {
      trainCode: "D701",
      serviceDate: "2027-01-28",
      stops: [
        { station: "TJP", name: "Tianjin South", departureMinuteOfDay: 10 * 60 + 30 },
        { station: "JNK", name: "Jinan West", departureMinuteOfDay: 12 * 60 },
        { station: "NJH", name: "Nanjing South", departureMinuteOfDay: 14 * 60 + 50 }
      ],
      coaches: Array.from({ length: 4 }, (_, index) => ({ coach: index + 1, seatClass: "second" as const, seatCount: 100 })),
      fareFenPerSegment: [11_900, 15_300],
      popularity: 1
    }
  ],
  gatesPerStation: 2,
  passengers: {
    ...springFestival.passengers, count: 3_000, meanArrivalDelayMs: 120_000, thinkTimeMs: { min: 2_000, max: 15_000 },
    mix: { sms: 75, carrier: 5, app: 20 }
  },
  checkin: { ...springFestival.checkin, qrPixelSampleRate: 0.05 },
  sms: {
    gatewayDelayMs: { min: 500, max: 4_000 },
    pullIntervalMs: 1_000,
    maxIdlePullIntervalMs: 30_000,
    replyTimeoutMs: 45_000,
    maxSmsResends: 3,
    ticketNoticeTimeoutMs: 90_000,
    statusPollIntervalMs: 45_000,
    maxStatusPolls: 5,
    carrierCapacityBytes: { min: 1_024, max: 1_280 },
    tripsPerCarrierPhone: { min: 3, max: 7 }
  },
  // an SMS booking's payment→notice spans two texts, a gateway pull and, when one is lost, a 45 s timeout
  thresholds: { payment_to_issuance: ["p(50)<60000", "p(99)<300000"], invariants: ["violations==0"] },
  faults: [
    // the 08:00 spike: the SMS centre drops a tenth of the texts both ways and holds the rest up to 20 s more
    { kind: "sms-loss", startAfterOnSaleMs: 0, endAfterOnSaleMs: 10 * 60_000, lossRate: 0.1, maxDelayMs: 20_000 }
  ]
})
