/**
 * What happens before the rush, through the same API as everything else: the operator creates the train
 * run and registers the gates of each boarding station (each gets its device key).
 */
import { Effect } from "effect"
import { makeClient } from "../devices/Client.js"
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
