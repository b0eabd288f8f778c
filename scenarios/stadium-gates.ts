/**
 * Mass check-in at a stadium: 50,000 fans of a 19:30 match hold tickets an organiser bought for them in group
 * orders before the gates open (simulator/journeys/Fan.ts); the gates open at 19:00 and the fans arrive over
 * those 30 minutes, more of them as kick-off nears. A quarter of the gates lose their link for ten minutes and
 * admit offline, syncing when it is back; a few fans pass a screenshot of their QR to a friend, and the
 * doubles it gets through offline gates are found at the sync. The sun sets on the west gates' cameras: glare
 * damages some captures and the fan shows the code again. One fan in fifty has the ticket on the SIM (RFID/NFC).
 */
import { defineScenario } from "./Scenario.js"

const zone = (number: number, name: string) => ({ zone: number, name, seatClass: "general", fareFen: 28_000, standingCapacity: 9_000 })

export default defineScenario({
  name: "stadium-gates",
  description: "50,000 check-ins in 30 minutes at 48 gates: a quarter offline for 10 minutes, glare on west cameras, shared screenshots",
  startAt: "2027-02-06T18:50:00+08:00",
  // the organiser's group orders go through as the scenario starts: the tickets are in hand before the gates open
  onSaleAt: "2027-02-06T18:50:00+08:00",
  endAt: "2027-02-06T19:40:00+08:00",
  gatesPerStation: 48,
  passengers: {
    count: 50_000,
    meanArrivalDelayMs: 1,
    // gates open at 19:00 (10 min after the on-sale), kick-off at 19:30
    arrivalRamp: { startAfterOnSaleMs: 10 * 60_000, endAfterOnSaleMs: 40 * 60_000 },
    thinkTimeMs: { min: 0, max: 0 },
    networkDelayMs: { min: 5, max: 40 },
    ticketPollIntervalMs: 1_000,
    maxTicketPolls: 0,
    mix: { fan: 1 }
  },
  checkin: {
    arriveBeforeDepartureMs: { min: 0, max: 30 * 60_000 },
    // each rendered and decoded QR costs ~15 ms of wall time: half a percent of 50,000 is 250 of them
    qrPixelSampleRate: 0.005
  },
  event: {
    definition: {
      eventCode: "E0206", venue: { code: "GZS", name: "Guangzhou Stadium" }, title: "Lantern Cup final",
      serviceDate: "2027-02-06", startMinuteOfDay: 19 * 60 + 30, durationMinutes: 120,
      zones: [zone(1, "North stand"), zone(2, "South stand"), zone(3, "East stand"), zone(4, "West stand"), zone(5, "Upper north"), zone(6, "Upper south")]
    },
    seatClass: "general",
    groupOrderSize: 500,
    carrierShare: 0.02,
    screenshotShare: 0.004,
    screenshotDelayMs: { min: 30_000, max: 300_000 },
    representDelayMs: { min: 1_000, max: 4_000 },
    maxPresentations: 3,
    cameraReadMs: 300,
    rfidReadMs: 150
  },
  server: { passwordHashCostN: 256, holdTtlMs: 10 * 60_000 },
  real: { timeScale: 10, maxPassengersInFlight: 5_000 },
  thresholds: { checkin: ["p(99)<5000", "count>=49000"], invariants: ["violations==0"] },
  faults: [
    // 19:10–19:20: a quarter of the gates (the last twelve) lose their link
    { kind: "gates-offline", startAfterOnSaleMs: 20 * 60_000, endAfterOnSaleMs: 30 * 60_000, offlineGateShare: 0.25 },
    // 19:00–19:30: low sun on the first twelve gates' cameras
    { kind: "camera-glare", startAfterOnSaleMs: 10 * 60_000, endAfterOnSaleMs: 40 * 60_000, damageRate: 0.05, cameraShare: 0.25 }
  ]
})
