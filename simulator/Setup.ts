/**
 * What happens before the rush, through the same API as everything else: the operator creates the train
 * run and registers the gates of each boarding station (each gets its device key).
 */
import { Effect, Random } from "effect"
import { makeClient } from "../devices/Client.js"
import type { PhoneEnvironment } from "../devices/Phone.js"
import type { History } from "./History.js"
import { makeGateScanner } from "../devices/GateScanner.js"
import type { GateScanner } from "../devices/GateScanner.js"
import type { GateId, RunId, ServiceDate, StationCode, TrainCode } from "../reference/Domain.js"
import type { Scenario } from "../scenarios/Scenario.js"
import { departureEpochMs } from "../reference/Checkin.js"
import { defaultSettings } from "../reference/Config.js"

export interface Prepared {
  readonly runId: RunId
  readonly gatesByStation: ReadonlyMap<string, ReadonlyArray<GateScanner>>
}

export const setUp = (scenario: Scenario, baseUrl: string, adminKey: string) =>
  Effect.gen(function* () {
    const admin = yield* makeClient(baseUrl, { "x-admin-key": adminKey })
    const train = scenario.train
    const created = yield* admin.catalog.createRun({
      payload: {
        trainCode: train.trainCode as TrainCode,
        serviceDate: train.serviceDate as ServiceDate,
        stops: train.stops.map((stop) => ({ ...stop, station: stop.station as StationCode })),
        coaches: train.coaches,
        fareFenPerSegment: train.fareFenPerSegment as never
      }
    })
    const gatesByStation = new Map<string, Array<GateScanner>>()
    for (const stop of train.stops.slice(0, -1)) {
      const gates: Array<GateScanner> = []
      for (let number = 1; number <= scenario.gatesPerStation; number++) {
        const gateId = `${stop.station}-${String(number).padStart(2, "0")}` as GateId
        const registered = yield* admin.catalog.registerGate({ payload: { gateId, station: stop.station as StationCode } })
        const client = yield* makeClient(baseUrl, { "x-device-key": registered.deviceKey })
        gates.push(makeGateScanner(client, gateId, stop.station))
      }
      gatesByStation.set(stop.station, gates)
    }
    const prepared: Prepared = { runId: created.runId, gatesByStation }
    return prepared
  })

export const departureOf = (scenario: Scenario) => {
  const byStation = new Map(scenario.train.stops.map((stop) => [stop.station, stop.departureMinuteOfDay]))
  return (station: string) =>
    departureEpochMs(scenario.train.serviceDate, byStation.get(station) ?? 0, defaultSettings.utcOffsetMinutes)
}

/** How a mode moves the scenario's time: the virtual clock, or the real timeline. */
export interface Timing {
  readonly sleepScenario: (ms: number) => Effect.Effect<void>
  readonly scenarioNowMs: Effect.Effect<number>
  readonly networkDelay: Effect.Effect<void>
}

const uniformBetween = (range: { readonly min: number; readonly max: number }) => Random.nextIntBetween(range.min, range.max + 1)

/** Virtual mode's one-way network delay: a uniform draw from the scenario's range, slept on the clock. */
export const simulatedNetworkDelay = (scenario: Scenario) =>
  Effect.flatMap(uniformBetween(scenario.passengers.networkDelayMs), (ms) => Effect.sleep(ms))

/** What every phone of a run shares: the scenario's parameters, the prepared run and gates, the timing. */
export const phoneEnvironment = (scenario: Scenario, prepared: Prepared, history: History, baseUrl: string, timing: Timing) =>
  Effect.map(makeClient(baseUrl), (anonymous): PhoneEnvironment => ({
    ...timing,
    history, anonymous, runId: prepared.runId,
    serviceDate: scenario.train.serviceDate as PhoneEnvironment["serviceDate"],
    thinkTime: Effect.flatMap(uniformBetween(scenario.passengers.thinkTimeMs), timing.sleepScenario),
    gatesAt: (station) => prepared.gatesByStation.get(station) ?? [],
    departureEpochMs: departureOf(scenario),
    ticketPollIntervalMs: scenario.passengers.ticketPollIntervalMs,
    maxTicketPolls: scenario.passengers.maxTicketPolls,
    arriveBeforeDepartureMs: scenario.checkin.arriveBeforeDepartureMs,
    qrPixelSampleRate: scenario.checkin.qrPixelSampleRate,
    payment: scenario.server.payment
  }))
