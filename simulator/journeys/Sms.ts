/**
 * The `sms` journey's preparation: the operator registers the SMS gateway (its device key), and the run
 * gets the gateway's pull loop as a background actor. Each passenger then books by SMS (simulator/journeys/SmsPhone.ts).
 */
import { Effect, Random } from "effect"
import { makeClient } from "../../devices/Client.js"
import { makeSmsNetwork } from "../../devices/SmsRelay.js"
import { smsJourney } from "./SmsPhone.js"
import type { SmsPhoneEnvironment } from "./SmsPhone.js"
import type { Trip } from "../../devices/Phone.js"
import type { Scenario } from "../../scenarios/Scenario.js"
import type { JourneyPreparer } from "../Journeys.js"
import { scenarioEndMs } from "../Population.js"
import { smsChannelOf } from "./SmsSettings.js"

export const smsGatewayId = "sms-gw-1"
/** deliveries of one text to the server before the gateway gives up on it (a refused request is not retried) */
export const maxSmsDeliveryAttempts = 3

/** The fare of a trip: the sum of its segments' fares (what the SMS customer tops the wallet up by). */
export const fareFenOf = (scenario: Scenario) => (trip: Trip) => {
  const train = scenario.trains[trip.train]!
  const stations = train.stops.map((stop) => stop.station)
  const fromIndex = stations.indexOf(trip.fromStation)
  const toIndex = stations.indexOf(trip.toStation)
  return train.fareFenPerSegment.slice(fromIndex, toIndex).reduce((sum, fare) => sum + fare, 0)
}

export const prepareSmsJourney: JourneyPreparer = (context) =>
  Effect.gen(function* () {
    const { scenario, timing } = context
    const channel = smsChannelOf(scenario)
    const admin = yield* makeClient(context.baseUrl, { "x-admin-key": context.adminKey })
    const registered = yield* admin.sms.registerGateway({ payload: { gatewayId: smsGatewayId } })
    const anonymous = yield* makeClient(context.baseUrl)
    const network = makeSmsNetwork(anonymous, { gatewayId: smsGatewayId, deviceKey: registered.deviceKey, maxDeliveryAttempts: maxSmsDeliveryAttempts }, {
      sleepScenario: timing.sleepScenario, scenarioNowMs: timing.scenarioNowMs,
      gatewayDelayMs: channel.gatewayDelayMs, activeLoss: context.faults.active("sms-loss"),
      pullIntervalMs: channel.pullIntervalMs, maxIdlePullIntervalMs: channel.maxIdlePullIntervalMs
    })
    const environment: SmsPhoneEnvironment = {
      anonymous, sms: network, sleepScenario: timing.sleepScenario, scenarioNowMs: timing.scenarioNowMs,
      thinkTime: Effect.flatMap(Random.nextIntBetween(scenario.passengers.thinkTimeMs.min, scenario.passengers.thinkTimeMs.max + 1), timing.sleepScenario),
      trainCodeOf: (trainIndex) => scenario.trains[trainIndex]!.trainCode,
      serviceDateOf: (trainIndex) => scenario.trains[trainIndex]!.serviceDate,
      fareFenOf: fareFenOf(scenario),
      replyTimeoutMs: channel.replyTimeoutMs, maxSmsResends: channel.maxSmsResends, ticketNoticeTimeoutMs: channel.ticketNoticeTimeoutMs,
      statusPollIntervalMs: channel.statusPollIntervalMs, maxStatusPolls: channel.maxStatusPolls
    }
    const endMs = scenarioEndMs(scenario)
    return {
      start: (passenger, afterPurchase) => smsJourney(environment, passenger, afterPurchase),
      // the gateway pulls until the scenario is over, so the notices of late payments still go out
      background: [network.pullLoop(endMs)]
    }
  })
