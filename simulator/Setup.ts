/**
 * What happens before the rush, through the same API as everything else: the operator creates the train
 * run and registers the gates of each boarding station (each gets its device key).
 */
import { Effect, Random } from "effect"
import { makeClient } from "../devices/Client.js"
import type { PhoneEnvironment } from "../devices/Phone.js"
import { makeGateScanner } from "../devices/GateScanner.js"
import type { GateScanner } from "../devices/GateScanner.js"
import type { GateId, RunId, ServiceDate } from "../reference/Domain.js"
import { maxTicketPollIntervalMsOf } from "../scenarios/Scenario.js"
import type { Scenario } from "../scenarios/Scenario.js"
import type { FaultSchedule } from "../devices/Instruments.js"
import { stationGateCamera } from "./Cameras.js"
import { defaultGatewayPaymentLimits } from "../devices/GatewayPayment.js"
import { departureEpochMs } from "../reference/delivery/Checkin.js"
import { defaultSettings } from "../reference/Config.js"

export interface Prepared {
  /** the run of each of the scenario's trains, by its index in `scenario.trains` */
  readonly runIds: ReadonlyArray<RunId>
  readonly gatesByStation: ReadonlyMap<string, ReadonlyArray<GateScanner>>
  /** what the setup created, for driver processes that share it (simulator/Drivers.ts) */
  readonly record: SetupRecord
}

/**
 * What one driver process's setup created on the server, as data: the other driver processes of a run build their
 * devices on it instead of creating the catalog again (and re-registering a gate would change its device key).
 */
export interface SetupRecord {
  readonly runIds: ReadonlyArray<RunId>
  readonly gates: ReadonlyArray<{ readonly gateId: GateId; readonly station: string; readonly deviceKey: string }>
}

/** the gate IDs of a station, numbered from 1 */
const gateIdOf = (station: string, number: number) => `${station}-${String(number).padStart(2, "0")}` as GateId

/**
 * The operator's work before the rush: every train's run, and the gates of every station a train leaves from.
 * Given `record` (another driver process's setup), it creates nothing: the runs and gates are those of the record.
 */
export const setUp = (scenario: Scenario, baseUrl: string, adminKey: string, record?: SetupRecord) =>
  Effect.gen(function* () {
    if (record !== undefined) return yield* fromRecord(baseUrl, record)
    const admin = yield* makeClient(baseUrl, { "x-admin-key": adminKey })
    const runIds: Array<RunId> = []
    for (const train of scenario.trains) {
      const created = yield* admin.catalog.createRun({
        payload: {
          trainCode: train.trainCode,
          serviceDate: train.serviceDate as ServiceDate,
          stops: train.stops.map((stop) => ({ ...stop, station: stop.station })),
          coaches: train.coaches,
          fareFenPerSegment: train.fareFenPerSegment as never
        }
      })
      runIds.push(created.runId)
    }
    const boardingStations = [...new Set(scenario.trains.flatMap((train) => train.stops.slice(0, -1).map((stop) => stop.station)))]
    const gates: Array<SetupRecord["gates"][number]> = []
    for (const station of boardingStations) {
      for (let number = 1; number <= scenario.gatesPerStation; number++) {
        const gateId = gateIdOf(station, number)
        const registered = yield* admin.catalog.registerGate({ payload: { gateId, station: station } })
        gates.push({ gateId, station, deviceKey: registered.deviceKey })
      }
    }
    return yield* fromRecord(baseUrl, { runIds, gates })
  })

/** The devices of a setup already made: a gate scanner for each registered gate, with its device key. */
const fromRecord = (baseUrl: string, record: SetupRecord) =>
  Effect.gen(function* () {
    const gatesByStation = new Map<string, Array<GateScanner>>()
    for (const gate of record.gates) {
      const client = yield* makeClient(baseUrl, { "x-device-key": gate.deviceKey })
      const atStation = gatesByStation.get(gate.station) ?? []
      atStation.push(makeGateScanner(client, gate.gateId, gate.station))
      gatesByStation.set(gate.station, atStation)
    }
    const prepared: Prepared = { runIds: record.runIds, gatesByStation, record }
    return prepared
  })

/** When train `trainIndex` of the scenario leaves `station` (epoch ms). */
export const departureOf = (scenario: Scenario) => {
  const byTrain = scenario.trains.map((train) => new Map<string, number>(train.stops.map((stop) => [stop.station, stop.departureMinuteOfDay])))
  return (trainIndex: number, station: string) => {
    const train = scenario.trains[trainIndex]
    if (!train) throw new Error(`no train ${trainIndex} in scenario ${scenario.name}`)
    return departureEpochMs(train.serviceDate, byTrain[trainIndex]!.get(station) ?? 0, defaultSettings.utcOffsetMinutes)
  }
}

/** How a mode moves the scenario's time: the virtual clock, or the real timeline. */
export interface Timing {
  readonly sleepScenario: (ms: number) => Effect.Effect<void>
  readonly scenarioNowMs: Effect.Effect<number>
}

const uniformBetween = (range: { readonly min: number; readonly max: number }) => Random.nextIntBetween(range.min, range.max + 1)

/** A phone user's pause between steps: a uniform draw from the scenario's think time, slept on the scenario's clock. */
export const simulatedThinkTime = (scenario: Scenario, timing: Timing) =>
  Effect.flatMap(uniformBetween(scenario.passengers.thinkTimeMs), timing.sleepScenario)

/** What every phone of a run shares: the scenario's parameters, the prepared run and gates, the timing. */
export const phoneEnvironment = (
  scenario: Scenario, prepared: Prepared, baseUrl: string, timing: Timing, faults: FaultSchedule
) =>
  Effect.map(makeClient(baseUrl), (anonymous): PhoneEnvironment => ({
    ...timing,
    anonymous,
    runIdOf: (trainIndex) => prepared.runIds[trainIndex]!,
    serviceDateOf: (trainIndex) => scenario.trains[trainIndex]!.serviceDate as ServiceDate,
    thinkTime: Effect.flatMap(uniformBetween(scenario.passengers.thinkTimeMs), timing.sleepScenario),
    gatesAt: (station) => prepared.gatesByStation.get(station) ?? [],
    cameraAt: stationGateCamera(faults, scenario.gatesPerStation),
    seatClassOf: (trainIndex, coach) => scenario.trains[trainIndex]?.coaches.find((candidate) => candidate.coach === coach)?.seatClass,
    ...(scenario.passengers.seatChoice === undefined ? {} : { seatChoice: scenario.passengers.seatChoice }),
    departureEpochMs: departureOf(scenario),
    ticketPollIntervalMs: scenario.passengers.ticketPollIntervalMs,
    maxTicketPollIntervalMs: maxTicketPollIntervalMsOf(scenario),
    maxTicketPolls: scenario.passengers.maxTicketPolls,
    arriveBeforeDepartureMs: scenario.checkin.arriveBeforeDepartureMs,
    qrPixelSampleRate: scenario.checkin.qrPixelSampleRate,
    // the design variant `server.payment: gateway`: the app pays as the `app-gateway` journey does
    ...(scenario.server.payment === "gateway" ? { gatewayPayment: defaultGatewayPaymentLimits } : {})
  }))
