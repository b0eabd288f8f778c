/**
 * A small scenario with every journey kind, for the tests of the k6 export: one train of three stations, a cinema
 * of one small hall, an event, kiosks with a call centre, the SMS channel, and the faults the operator switches.
 * Its times are set so that a run driven through its exported script waits little: the gates are open from the
 * on-sale (a passenger's time at the gate is already past when its ticket is in hand) and sales close well after.
 */
import { Schema } from "effect"
import { Scenario } from "../../scenarios/Scenario.js"
import type { ScenarioInput } from "../../scenarios/Scenario.js"

const minute = 60_000
const date = "2027-01-28"

export const everyJourneyScenarioInput: ScenarioInput = {
  name: "every-journey",
  description: "every journey kind, a few passengers each",
  startAt: `${date}T08:29:00+08:00`,
  onSaleAt: `${date}T08:30:00+08:00`,
  endAt: `${date}T10:10:00+08:00`,
  trains: [{
    trainCode: "G9", serviceDate: date,
    stops: [
      { station: "BJP", name: "Beijing South", departureMinuteOfDay: 10 * 60 },
      { station: "TJP", name: "Tianjin South", departureMinuteOfDay: 10 * 60 + 5 },
      { station: "JNK", name: "Jinan West", departureMinuteOfDay: 10 * 60 + 8 }
    ],
    coaches: [{ coach: 1, seatClass: "second", seatCount: 40 }, { coach: 2, seatClass: "first", seatCount: 20 }],
    fareFenPerSegment: [5_450, 16_200]
  }],
  gatesPerStation: 2,
  passengers: {
    count: 40, meanArrivalDelayMs: minute, thinkTimeMs: { min: 0, max: 300 }, networkDelayMs: { min: 0, max: 0 },
    ticketPollIntervalMs: 1_000, maxTicketPolls: 10, seatChoice: { share: 0.5, fallbackShare: 1 },
    mix: { app: 1, "app-gateway": 1, cinema: 1, fan: 1, sms: 1, carrier: 1, kiosk: 1, "app-pickup": 1, "remote-card": 1 }
  },
  // the gates open 2 h before 10:00 (BJP) and 10:05 (TJP): a passenger comes 100 to 110 minutes early, before 08:30
  checkin: { arriveBeforeDepartureMs: { min: 100 * minute, max: 110 * minute }, qrPixelSampleRate: 0 },
  server: { passwordHashCostN: 256, holdTtlMs: 30 * minute },
  real: { timeScale: 30, maxPassengersInFlight: 50 },
  cinema: {
    code: "WDA", name: "Wanda CBD", city: "Beijing",
    halls: [{ hall: 1, name: "Hall 1", rows: ["SSS..SSS", "SSS..SSS", "SSS..SSS"] }],
    showings: [{
      showingCode: "P0855", hall: 1, serviceDate: date, startMinuteOfDay: 8 * 60 + 55,
      film: { title: "The Wandering Earth III", durationMinutes: 150 }, fares: [{ seatClass: "standard", fareFen: 8_000 }]
    }],
    anonymousShare: 0.5, installTimeShare: 0.5, hotSeatShare: 0.5, seatChoiceWidth: 3, maxSeatAttempts: 3,
    // the showing's gate opens 30 minutes before 08:55 (its sales close at 08:50): a goer comes at 08:30
    arriveBeforeStartMs: { min: 25 * minute, max: 25 * minute }
  },
  event: {
    definition: {
      eventCode: "E0128", venue: { code: "GZS", name: "Guangzhou Stadium" }, title: "Lantern Cup", serviceDate: date,
      startMinuteOfDay: 10 * 60, durationMinutes: 120, zones: [{ zone: 1, name: "North stand", seatClass: "general", fareFen: 28_000, standingCapacity: 60 }]
    },
    seatClass: "general", groupOrderSize: 7, carrierShare: 0.5, screenshotShare: 0.5,
    screenshotDelayMs: { min: 0, max: 1_000 }, representDelayMs: { min: 0, max: 0 }, maxPresentations: 1, cameraReadMs: 300, rfidReadMs: 150
  },
  kiosks: {
    perStation: 1,
    printers: { paperCapacitySheets: 100, refillDelayMs: { min: 0, max: 0 }, jamClearMs: { min: 0, max: 0 }, printMs: 500 },
    cards: { modes: { chip: 1, contactless: 1 }, readFailureRate: 0, mistypedPinRate: 0, maxPinAttempts: 3, balanceFen: 10_000_000, poorCardRate: 0 },
    bank: { latencyMs: 0, latencyJitterMs: 0, issuerRetryAfterMs: 1_000, maxIssuerRetries: 1 },
    walkUpPhoneShare: 0.5, pickupByVoucherShare: 0.5,
    pickupBeforeDepartureMs: { min: 100 * minute, max: 110 * minute },
    attendantRoundMs: 10 * minute,
    remoteCard: { callCentreShare: 0.5, agents: 1, callMs: { min: 0, max: 0 }, kioskAfterBookingMs: { min: 0, max: 1_000 }, noShowRate: 0, wrongCardRate: 1 }
  },
  thresholds: {
    payment_to_issuance: ["p(99)<60000", "count>=1"], hold: ["p(90)<10000"], checkin: ["count>=1"], http_req_failed: ["rate<0.5"],
    tickets_issued_per_second: ["value>0"], invariants: ["violations==0"]
  },
  faults: [
    { kind: "gateway-brownout", startAfterOnSaleMs: 0, endAfterOnSaleMs: 1_000, extraLatencyMs: 0, declineRate: 0 },
    { kind: "slow-store", startAfterOnSaleMs: 0, endAfterOnSaleMs: 1_000, delayMs: 0 },
    { kind: "camera-glare", startAfterOnSaleMs: 0, endAfterOnSaleMs: 1_000, damageRate: 0 }
  ]
}

export const everyJourneyScenario: Scenario = Schema.decodeUnknownSync(Scenario)(everyJourneyScenarioInput)
