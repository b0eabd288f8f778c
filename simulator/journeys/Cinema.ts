/**
 * `cinema`: the scenario's cinema is created through the admin API (halls, showings, the gates at its code),
 * then each goer's phone buys a chosen seat and pays through the gateway (simulator/journeys/CinemaGoer.ts). The gateway
 * is a party of the run (GatewayParty.ts): its faults and counters.
 */
import { Effect } from "effect"
import { cinemaJourney } from "./CinemaGoer.js"
import type { CinemaEnvironment, CinemaShowingOnSale } from "./CinemaGoer.js"
import { makeClient } from "../../devices/Client.js"
import type { ApiClient } from "../../devices/Client.js"
import { makeGateScanner } from "../../devices/GateScanner.js"
import type { GateScanner } from "../../devices/GateScanner.js"
import { defaultGatewayPaymentLimits } from "../../devices/GatewayPayment.js"
import { departureEpochMs } from "../../reference/delivery/Checkin.js"
import { defaultSettings } from "../../reference/Config.js"
import type { Fen, GateId, ServiceDate } from "../../reference/Domain.js"
import type { CinemaSection } from "../../scenarios/Cinema.js"
import { maxTicketPollIntervalMsOf } from "../../scenarios/Scenario.js"
import type { JourneyPreparer } from "../Journeys.js"
import { weightedIndex } from "../Population.js"
import { simulatedThinkTime } from "../Setup.js"
import { gatewayParty } from "./GatewayParty.js"

/**
 * The scenario's cinema through the admin API: the cinema and its halls, its showings, and `gatesPerStation`
 * gates at its code. A run's cinema journey sets it up so; `chunyun serve --seed-catalog` too.
 */
export const setUpCinema = (cinema: CinemaSection, gatesPerStation: number, baseUrl: string, admin: ApiClient) =>
  Effect.gen(function* () {
    yield* admin.venues.createCinema({ payload: { code: cinema.code, name: cinema.name, city: cinema.city, halls: cinema.halls } })
    const showings: Array<CinemaShowingOnSale> = []
    for (const showing of cinema.showings) {
      const created = yield* admin.venues.createShowing({
        payload: {
          showingCode: showing.showingCode, cinema: cinema.code, hall: showing.hall,
          serviceDate: showing.serviceDate as ServiceDate, startMinuteOfDay: showing.startMinuteOfDay,
          film: showing.film, fares: showing.fares.map((fare) => ({ seatClass: fare.seatClass, fareFen: fare.fareFen as Fen }))
        }
      })
      showings.push({
        runId: created.runId, hall: showing.hall, serviceDate: showing.serviceDate as ServiceDate, popularity: showing.popularity,
        startEpochMs: departureEpochMs(showing.serviceDate, showing.startMinuteOfDay, defaultSettings.utcOffsetMinutes)
      })
    }
    const gates: Array<GateScanner> = []
    for (let number = 1; number <= gatesPerStation; number++) {
      const gateId = `${cinema.code}-${String(number).padStart(2, "0")}` as GateId
      const registered = yield* admin.catalog.registerGate({ payload: { gateId, station: cinema.code } })
      gates.push(makeGateScanner(yield* makeClient(baseUrl, { "x-device-key": registered.deviceKey }), gateId, cinema.code))
    }
    return { showings, gates } as const
  })

export const prepareCinemaJourney: JourneyPreparer = (context) =>
  Effect.gen(function* () {
    const cinema = context.scenario.cinema
    if (!cinema) return yield* Effect.dieMessage(`scenario ${context.scenario.name} has cinema goers but no cinema`)
    const party = yield* gatewayParty(context)
    const admin = yield* makeClient(context.baseUrl, { "x-admin-key": context.adminKey })
    const { showings, gates } = yield* setUpCinema(cinema, context.scenario.gatesPerStation, context.baseUrl, admin)
    const environment: CinemaEnvironment = {
      ...context.timing,
      anonymous: yield* makeClient(context.baseUrl), cinema, showings, gates,
      thinkTime: simulatedThinkTime(context.scenario, context.timing),
      gatewayLimits: defaultGatewayPaymentLimits,
      ticketPollIntervalMs: context.scenario.passengers.ticketPollIntervalMs,
      maxTicketPollIntervalMs: maxTicketPollIntervalMsOf(context.scenario),
      maxTicketPolls: context.scenario.passengers.maxTicketPolls,
      qrPixelSampleRate: context.scenario.checkin.qrPixelSampleRate,
      weightedIndex
    }
    return {
      start: (passenger, afterPurchase) => cinemaJourney(environment, passenger, afterPurchase),
      background: party.background,
      faultActions: party.faultActions
    }
  })
