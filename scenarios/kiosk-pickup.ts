/**
 * A morning at the kiosks of three stations (seeds 001, 004): walk-up passengers buy with a bank card + PIN
 * (chip, contactless or a swipe; some mistype the PIN, some cards are short of money) and leave with a printed
 * ticket and receipt; app buyers come before their train to print the ticket by voucher code or by phone
 * number + resident ID; remote bookers book in the app or through the call centre with the card that will pay,
 * then pay by swiping that card at a kiosk (a few swipe another card first, a few never come). From 06:30 the printers run out of paper, jam and print slowly for two hours (and the
 * rolls run out on their own); from 07:00 the card-issuing bank slows down and browns out for half an hour;
 * for a quarter of an hour a few kiosk answers are lost and sent again.
 */
import { defineScenario } from "./Scenario.js"
import springFestival from "./spring-festival.js"

const minute = 60_000

// spring-festival's phones (network delay, ticket polls), check-in window and server, at a slower morning's pace
export default defineScenario({
  ...springFestival,
  name: "kiosk-pickup",
  description: "Kiosks at three stations: card + PIN walk-up sales, app-ticket pickups and remote bookings paid by the booked card; printers out of paper, jammed and slow; a bank slowdown",
  startAt: "2027-01-28T05:59:00+08:00",
  onSaleAt: "2027-01-28T06:00:00+08:00",
  endAt: "2027-01-28T13:00:00+08:00",
  trains: [
    {
      trainCode: "G101",
      serviceDate: "2027-01-28",
      stops: [
        { station: "BJP", name: "Beijing South", departureMinuteOfDay: 9 * 60 + 30 },
        { station: "TJP", name: "Tianjin South", departureMinuteOfDay: 10 * 60 + 5 },
        { station: "JNK", name: "Jinan West", departureMinuteOfDay: 11 * 60 + 2 },
        { station: "NJH", name: "Nanjing South", departureMinuteOfDay: 13 * 60 + 10 }
      ],
      coaches: Array.from({ length: 8 }, (_, index) => ({ coach: index + 1, seatClass: "second" as const, seatCount: 90 })),
      fareFenPerSegment: [5_450, 16_200, 21_800],
      popularity: 3
    },
    {
      trainCode: "D705",
      serviceDate: "2027-01-28",
      stops: [
        { station: "TJP", name: "Tianjin South", departureMinuteOfDay: 10 * 60 + 40 },
        { station: "JNK", name: "Jinan West", departureMinuteOfDay: 12 * 60 + 5 },
        { station: "NJH", name: "Nanjing South", departureMinuteOfDay: 14 * 60 + 55 }
      ],
      coaches: Array.from({ length: 4 }, (_, index) => ({ coach: index + 1, seatClass: "second" as const, seatCount: 100 })),
      fareFenPerSegment: [11_900, 15_300],
      popularity: 2
    }
  ],
  gatesPerStation: 1,
  passengers: {
    ...springFestival.passengers, count: 3_000, meanArrivalDelayMs: 100 * minute, thinkTimeMs: { min: 3_000, max: 20_000 },
    mix: { kiosk: 3, "app-pickup": 2, "remote-card": 2 }
  },
  checkin: { ...springFestival.checkin, qrPixelSampleRate: 0 },
  real: { ...springFestival.real, timeScale: 20 },
  kiosks: {
    perStation: 4,
    printers: { paperCapacitySheets: 120, refillDelayMs: { min: 1 * minute, max: 4 * minute }, jamClearMs: { min: 20_000, max: 60_000 }, printMs: 1_500 },
    cards: {
      modes: { chip: 5, contactless: 4, magstripe: 1 },
      readFailureRate: 0.04,
      mistypedPinRate: 0.05,
      maxPinAttempts: 3,
      balanceFen: 200_000,
      poorCardRate: 0.02
    },
    bank: { latencyMs: 400, latencyJitterMs: 800, issuerRetryAfterMs: 10_000, maxIssuerRetries: 2 },
    walkUpPhoneShare: 0.4,
    pickupByVoucherShare: 0.6,
    pickupBeforeDepartureMs: { min: 15 * minute, max: 90 * minute },
    attendantRoundMs: 10 * minute,
    remoteCard: {
      callCentreShare: 0.4,
      agents: 4,
      callMs: { min: 60_000, max: 4 * minute },
      kioskAfterBookingMs: { min: 10 * minute, max: 90 * minute },
      noShowRate: 0.05,
      wrongCardRate: 0.05
    }
  },
  thresholds: {
    payment_to_issuance: ["p(50)<15000", "p(99)<300000"],
    invariants: ["violations==0"]
  },
  faults: [
    { kind: "printer", startAfterOnSaleMs: 30 * minute, endAfterOnSaleMs: 150 * minute, paperOutRate: 0.02, jamRate: 0.04, slowPrintMs: 4_000 },
    { kind: "bank-slowdown", startAfterOnSaleMs: 60 * minute, endAfterOnSaleMs: 90 * minute, extraLatencyMs: 8_000, declineRate: 0.15 },
    { kind: "client-timeouts", startAfterOnSaleMs: 100 * minute, endAfterOnSaleMs: 115 * minute, responseLossRate: 0.03, timeoutMs: 5_000, backoffMs: 500, maxRetries: 3 }
  ]
})
