/**
 * `chunyun export-k6 <scenario>`: the scenario's load as a k6 script, to run the same journeys from many machines
 * with k6 or k6-operator when one driver is not enough. What maps:
 *
 * - every journey kind of the mix → one k6 scenario (its function, tag `journey`), running the scenario's executor
 *   (`load`, or the arrival curve as a `ramping-arrival-rate`) at the kind's share (reports/k6/load.ts);
 * - each journey → the HTTP calls its devices make, in order, with the scenario's think times and polls
 *   (reports/k6/*Journeys.ts, trainSteps.ts); every call tagged with its name (`name`) and checked (its status, and
 *   the fields the next call reads); paths and success statuses from the HttpApi's OpenAPI document;
 * - the harness's preparation (the catalog, gates, kiosks, the SMS gateway, the organiser's group orders) → k6's
 *   `setup()` through the admin API (reports/k6/setup.ts), which also reads the server's clock and awaits the on-sale;
 * - thresholds → `options.thresholds` under the same names where k6 measures them (custom Trends and Counters);
 *   `invariants` stays with `chunyun audit`, run over the store after the test;
 * - faults of the gateway, bank and store → an `operator` scenario switching them through the admin API.
 *
 * Scenario time runs `timeScale` times faster than the wall (default: the scenario's `real.timeScale`, as
 * `run --mode real`): every duration and sleep is divided by it, every rate multiplied, and the server is started
 * with its clock at the scenario's start running as fast (the script's header prints the command).
 */
import { serverDesignArgs } from "../simulator/Real.js"
import { defaultGatewayPaymentLimits } from "../devices/GatewayPayment.js"
import { maxReadAttempts, pinEntryMs, readModes, readTimeMsByMode } from "../devices/CardReader.js"
import { maxPrintRoundsPerSession } from "../devices/Kiosk.js"
import { departureEpochMs } from "../reference/delivery/Checkin.js"
import { defaultSettings } from "../reference/Config.js"
import { makeResidentId } from "../reference/customers/Customers/ResidentId.js"
import { maxTicketPollIntervalMsOf, needsTrain } from "../scenarios/Scenario.js"
import type { JourneyKind, Scenario } from "../scenarios/Scenario.js"
import { journeyKindsOf } from "../simulator/Journeys.js"
import { organiserPhone } from "../simulator/journeys/Fan.js"
import { agentPasswordOf, latestKioskVisitBeforeDepartureMs, otherCardAccountOffset } from "../simulator/journeys/Kiosk.js"
import { maxSmsDeliveryAttempts, smsGatewayId } from "../simulator/journeys/Sms.js"
import { smsChannelOf } from "../simulator/journeys/SmsSettings.js"
import { scenarioEndMs } from "../simulator/Population.js"
import { textsPerPull } from "../devices/SmsRelay.js"
import { thresholdListOf } from "./thresholds.js"
import {
  bankBaselineOf, faultsLeftOutOf, gatewayBaselineOf, hasGatewayParty, hasKioskParty, k6OperatorScenario, k6SmsGatewayScenario, operatorStepsOf
} from "./k6/background.js"
import { k6EndpointsOf } from "./k6/endpoints.js"
import { k6AppPickupJourney, k6KioskSteps, k6RemoteCardJourney, k6WalkUpJourney } from "./k6/kioskJourneys.js"
import { journeyFunctionNames, journeySharesOf, k6Duration, k6GracefulStopMarginMs, k6JourneyScenariosOf } from "./k6/load.js"
import { k6CarrierJourney, k6SmsJourney } from "./k6/phoneJourneys.js"
import { k6PureHelpers, k6Runtime, k6RuntimeSettings } from "./k6/runtime.js"
import {
  clockScaleProbeWallMs, clockScaleTolerance, k6SetupSource, k6SetupTimeoutMs, lateStartWarningScenarioMs, maxOnSaleWaitWallMs
} from "./k6/setup.js"
import { k6AppJourneys, k6ChosenSeatStep, k6CustomerSteps, k6GatewaySteps, k6StationGateStep, k6TrainSteps } from "./k6/trainSteps.js"
import { k6CinemaJourney, k6FanJourney, k6SimCarrierSteps } from "./k6/venueJourneys.js"

export { arrivalCurveExecutor, arrivalCurveMeans, arrivalCurveStages, journeyFunctionNames, k6ScenarioOf } from "./k6/load.js"

/** the script reads its target and admin key from the environment, as k6 users expect */
export const k6Environment = { baseUrl: "CHUNYUN_BASE_URL", adminKey: "CHUNYUN_ADMIN_KEY" } as const

/** the fastest time scale a script is exported at: a scenario's own `real.timeScale` is at most this */
export const maxK6TimeScale = 10_000

/** the phone of the customer whose sessions read the server's clock in setup(): outside the passengers' 13x… and the organiser's */
export const clockProbePhone = "18900000000"
/** an order ID's characters: O and 16 hex digits (reference/Domain.ts OrderId); the fans' IDs travel as one string */
export const orderIdChars = 17
/** the most STATUS texts an SMS phone sends while it waits for its ticket */
export const maxSmsStatusTexts = 600
/** pages of outbound texts one pull of the SMS gateway reads before it waits again */
export const maxSmsPagesPerPull = 100

const ms = k6Duration

/** whether the scenario's journeys include any of `wanted` */
const usesAnyOf = (kinds: ReadonlyArray<JourneyKind>) => (...wanted: ReadonlyArray<JourneyKind>) => kinds.some((kind) => wanted.includes(kind))

/** what each trend's `count` is in k6, which has no count of a Trend: the Counter beside it */
const trendCounters: Readonly<Record<string, string>> = { payment_to_issuance: "tickets_issued", hold: "seats_held", checkin: "admissions" }

/** Our thresholds in k6's syntax, as they were written, and those k6 cannot evaluate (with why). */
export const k6ThresholdsOf = (thresholds: Scenario["thresholds"]) => {
  const mapped: Record<string, Array<string>> = {}
  const skipped: Array<string> = []
  const add = (metric: string, expression: string) => { (mapped[metric] ??= []).push(expression.trim()) }
  for (const { metric, aggregation, source } of thresholdListOf(thresholds)) {
    if (metric === "invariants") skipped.push(`${metric}: ${source} (run chunyun audit over the store after the test)`)
    else if (trendCounters[metric] !== undefined && aggregation === "count") add(trendCounters[metric]!, source)
    else if (metric === "tickets_issued_per_second") add("tickets_issued", source.replace(/^\s*value\b/, "rate"))
    else add(metric, source)
  }
  return { thresholds: mapped, skipped }
}

/** the stations a train leaves from: each has gates (and kiosks, unless the scenario names its own) */
const boardingStationsOf = (scenario: Scenario) => [...new Set(scenario.trains.flatMap((train) => train.stops.slice(0, -1).map((stop) => stop.station)))]

const trainsPlan = (scenario: Scenario) => ({
  trains: scenario.trains.map((train) => ({
    trainCode: train.trainCode, serviceDate: train.serviceDate, popularity: train.popularity, fareFenPerSegment: train.fareFenPerSegment,
    stops: train.stops.map((stop) => ({ station: stop.station, departureMinuteOfDay: stop.departureMinuteOfDay })),
    coaches: train.coaches.map((coach) => ({ coach: coach.coach, seatClass: coach.seatClass })),
    run: { trainCode: train.trainCode, serviceDate: train.serviceDate, stops: train.stops, coaches: train.coaches, fareFenPerSegment: train.fareFenPerSegment }
  })),
  boardingStations: boardingStationsOf(scenario),
  arriveBeforeDepartureMs: scenario.checkin.arriveBeforeDepartureMs
})

const cinemaPlan = (cinema: NonNullable<Scenario["cinema"]>) => ({
  code: cinema.code, anonymousShare: cinema.anonymousShare, installTimeShare: cinema.installTimeShare, hotSeatShare: cinema.hotSeatShare,
  seatChoiceWidth: cinema.seatChoiceWidth, maxSeatAttempts: cinema.maxSeatAttempts, arriveBeforeStartMs: cinema.arriveBeforeStartMs,
  create: { code: cinema.code, name: cinema.name, city: cinema.city, halls: cinema.halls },
  showings: cinema.showings.map((showing) => ({
    hall: showing.hall, serviceDate: showing.serviceDate, popularity: showing.popularity,
    startMs: departureEpochMs(showing.serviceDate, showing.startMinuteOfDay, defaultSettings.utcOffsetMinutes),
    create: {
      showingCode: showing.showingCode, cinema: cinema.code, hall: showing.hall, serviceDate: showing.serviceDate,
      startMinuteOfDay: showing.startMinuteOfDay, film: showing.film, fares: showing.fares
    }
  }))
})

/** `count`: the fans the fan scenario plays, its share of the passengers, each with a ticket bought in setup() */
const fanPlan = (scenario: Scenario, event: NonNullable<Scenario["event"]>) => ({
  count: Math.ceil(scenario.passengers.count * (journeySharesOf(scenario).find(([kind]) => kind === "fan")?.[1] ?? 0)), event: event.definition, venue: event.definition.venue.code, seatClass: event.seatClass,
  groupOrderSize: event.groupOrderSize, carrierShare: event.carrierShare, screenshotShare: event.screenshotShare,
  screenshotDelayMs: event.screenshotDelayMs, cameraReadMs: event.cameraReadMs, rfidReadMs: event.rfidReadMs,
  organiser: {
    phone: organiserPhone, password: "organiser-password", paymentPassword: "135790", residentId: makeResidentId("110105", "19800101", "001")
  },
  fanPaymentPassword: "246810", carrierCapacityBytes: defaultSettings.maxCarrierCapacityBytes,
  carrierSlots: Math.floor(defaultSettings.maxCarrierCapacityBytes / defaultSettings.carrierTicketSlotBytes), orderIdChars
})

const kiosksPlan = (scenario: Scenario, kiosks: NonNullable<Scenario["kiosks"]>, remoteCard: boolean) => ({
  stations: kiosks.stations ?? boardingStationsOf(scenario), perStation: kiosks.perStation, bankBaseline: bankBaselineOf(scenario),
  cards: kiosks.cards, bank: { maxIssuerRetries: kiosks.bank.maxIssuerRetries, issuerRetryAfterMs: kiosks.bank.issuerRetryAfterMs },
  readModes: readModes.map((mode) => ({ mode, weight: kiosks.cards.modes[mode] ?? 0 })), readTimeMsByMode, maxReadAttempts, pinEntryMs,
  printMs: kiosks.printers.printMs, maxPrintRoundsPerSession, walkUpPhoneShare: kiosks.walkUpPhoneShare,
  pickupByVoucherShare: kiosks.pickupByVoucherShare, pickupBeforeDepartureMs: kiosks.pickupBeforeDepartureMs,
  ...(remoteCard && kiosks.remoteCard !== undefined ? {
    remoteCard: {
      ...kiosks.remoteCard, latestKioskVisitBeforeDepartureMs, otherCardAccountOffset,
      // the operator's agents: agent-001…, each with its password (simulator/journeys/Kiosk.ts)
      agents: Array.from({ length: kiosks.remoteCard.agents }, (_, index) => ({ agentId: `agent-${String(index + 1).padStart(3, "0")}`, password: agentPasswordOf(index + 1) }))
    }
  } : {})
})

/** The `chunyun serve` arguments of the scenario's clock: it starts at the scenario's start and runs `timeScale` times as fast. */
const serveClockArguments = (scenario: Scenario, timeScale: number) => `--clock-start-ms ${Date.parse(scenario.startAt)} --clock-scale ${timeScale}`

/** The scenario's numbers the script reads (as `plan`): only the sections its journeys use. */
export const k6PlanOf = (scenario: Scenario, timeScale: number) => {
  const kinds = journeyKindsOf(scenario)
  const has = usesAnyOf(kinds)
  const channel = smsChannelOf(scenario)
  const operatorSteps = operatorStepsOf(scenario, kinds)
  return {
    scenario: scenario.name, timeScale, startMs: Date.parse(scenario.startAt), onSaleMs: Date.parse(scenario.onSaleAt), endMs: scenarioEndMs(scenario),
    journeyKinds: kinds as ReadonlyArray<string>, thinkTimeMs: scenario.passengers.thinkTimeMs,
    ticketPollIntervalMs: scenario.passengers.ticketPollIntervalMs, maxTicketPollIntervalMs: maxTicketPollIntervalMsOf(scenario),
    maxTicketPolls: scenario.passengers.maxTicketPolls,
    gatesPerStation: scenario.gatesPerStation, ...k6RuntimeSettings,
    clockProbe: { phone: clockProbePhone, password: "clock-probe-password", paymentPassword: "864209", residentId: makeResidentId("110105", "19700101", "991") },
    clockScaleProbeWallMs, clockScaleTolerance, maxOnSaleWaitWallMs, lateStartWarningScenarioMs,
    serveClockArguments: serveClockArguments(scenario, timeScale),
    ...(kinds.some(needsTrain) ? trainsPlan(scenario) : {}),
    ...(has("app", "app-gateway") ? { seatChoice: scenario.passengers.seatChoice ?? null, appPaysByGateway: scenario.server.payment === "gateway" } : {}),
    ...(has("app", "app-gateway", "cinema") ? { gatewayPayment: defaultGatewayPaymentLimits } : {}),
    ...(hasGatewayParty(kinds) ? { gatewayBaseline: gatewayBaselineOf(scenario) } : {}),
    ...(has("cinema") && scenario.cinema !== undefined ? { cinema: cinemaPlan(scenario.cinema) } : {}),
    ...(has("fan") && scenario.event !== undefined ? { fan: fanPlan(scenario, scenario.event) } : {}),
    ...(has("sms") ? {
      sms: {
        gatewayId: smsGatewayId, maxDeliveryAttempts: maxSmsDeliveryAttempts, pullIntervalMs: channel.pullIntervalMs, textsPerPull,
        maxPagesPerPull: maxSmsPagesPerPull,
        maxStatusTexts: Math.min(maxSmsStatusTexts, Math.max(1, Math.ceil(channel.ticketNoticeTimeoutMs / scenario.passengers.ticketPollIntervalMs)))
      }
    } : {}),
    ...(has("carrier") ? { carrier: { tripsPerPhone: channel.tripsPerCarrierPhone, capacityBytes: channel.carrierCapacityBytes } } : {}),
    ...(hasKioskParty(kinds) && scenario.kiosks !== undefined ? { kiosks: kiosksPlan(scenario, scenario.kiosks, has("remote-card")) } : {}),
    ...(operatorSteps.length > 0 ? { operatorSteps } : {})
  }
}

/** The journeys' JavaScript and the steps they share, for the kinds the scenario uses. */
const journeySources = (kinds: ReadonlyArray<JourneyKind>) => {
  const has = usesAnyOf(kinds)
  return [
    kinds.some((kind) => kind !== "fan") ? k6CustomerSteps : "",
    kinds.some(needsTrain) ? k6TrainSteps : "",
    has("app", "app-gateway") ? k6ChosenSeatStep : "",
    has("app", "app-gateway", "cinema") ? k6GatewaySteps : "",
    has("app", "app-gateway", "carrier") ? k6StationGateStep : "",
    has("carrier", "fan") ? k6SimCarrierSteps : "",
    hasKioskParty(kinds) ? k6KioskSteps : "",
    has("app", "app-gateway") ? k6AppJourneys({ app: has("app"), appGateway: has("app-gateway") }) : "",
    has("cinema") ? k6CinemaJourney : "",
    has("fan") ? k6FanJourney : "",
    has("sms") ? k6SmsJourney : "",
    has("carrier") ? k6CarrierJourney : "",
    has("kiosk") ? k6WalkUpJourney : "",
    has("app-pickup") ? k6AppPickupJourney : "",
    has("remote-card") ? k6RemoteCardJourney : ""
  ].join("")
}

/** `options`: the journeys' k6 scenarios, the operator's and the SMS gateway's, the thresholds, setup()'s time. */
const k6OptionsOf = (scenario: Scenario, timeScale: number, thresholds: Record<string, Array<string>>) => {
  const kinds = journeyKindsOf(scenario)
  const steps = operatorStepsOf(scenario, kinds)
  const lastStepMs = Math.max(0, ...steps.map((step) => step.atMs))
  const scenarioMs = scenarioEndMs(scenario) - Date.parse(scenario.onSaleAt)
  return {
    scenarios: {
      ...k6JourneyScenariosOf(scenario, timeScale),
      ...(steps.length === 0 ? {} : {
        operator: { executor: "shared-iterations", vus: 1, iterations: 1, maxDuration: ms(lastStepMs / timeScale + k6GracefulStopMarginMs), exec: "operatorFaults", tags: { actor: "operator" } }
      }),
      ...(kinds.includes("sms") ? {
        "sms-gateway": {
          executor: "constant-vus", vus: 1, duration: ms(Math.max(1, scenarioMs) / timeScale), exec: "smsGatewayPull", tags: { actor: "sms-gateway" },
          gracefulStop: ms(smsChannelOf(scenario).pullIntervalMs / timeScale + k6GracefulStopMarginMs)
        }
      } : {})
    },
    thresholds,
    setupTimeout: ms(k6SetupTimeoutMs)
  }
}

/** The script's first lines: where it came from, how to run it, what it measures and what it leaves out. */
const headerOf = (scenario: Scenario, timeScale: number, skipped: ReadonlyArray<string>) => {
  const kinds = journeyKindsOf(scenario)
  const faultsLeftOut = faultsLeftOutOf(scenario, operatorStepsOf(scenario, kinds))
  const serve = ["chunyun serve --db k6.db", serveClockArguments(scenario, timeScale), "--password-cost", String(scenario.server.passwordHashCostN),
    "--hold-ttl-ms", String(scenario.server.holdTtlMs), ...serverDesignArgs(scenario)].join(" ")
  return [
    `// k6 script exported by \`chunyun export-k6\` from the scenario "${scenario.name}": its scenario time runs ${timeScale}× as fast as the wall.`,
    `// ${scenario.description}`,
    "//",
    "// Run it on a fresh store, served with the scenario's clock and design, both with the same admin key:",
    "//   export CHUNYUN_ADMIN_KEY=$(openssl rand -hex 16)",
    `//   ${serve}`,
    "//   CHUNYUN_BASE_URL=http://127.0.0.1:8080 k6 run this.js       (or as a k6-operator TestRun)",
    "//   chunyun audit --db k6.db                                      (the invariants: k6 cannot see them)",
    "// setup() creates the catalog through the admin API as chunyun run does before its rush: the gates', kiosks',",
    "// carriers' and SMS gateway's device keys come only in the answers to their registration, and the journeys need",
    "// them (so not --seed-catalog). It then checks the server's clock runs at this time scale and awaits the on-sale.",
    "// One k6 scenario per journey kind, tagged journey=<kind>, at the kind's share of the mix; every request is tagged",
    "// name=<the call> and checked (its status, and the fields the next call reads). Journeys and their functions:",
    `//   ${kinds.map((kind) => `${kind}: ${journeyFunctionNames[kind]}()`).join(", ")}`,
    skipped.length === 0 ? "// Every threshold of the scenario is evaluated by k6." : `// Thresholds k6 cannot evaluate, left out:\n${skipped.map((line) => `//   ${line}`).join("\n")}`,
    ...(faultsLeftOut.length === 0 ? [] : [`// Faults not in this script: ${faultsLeftOut.join("; ")}.`]),
    "// Unlike chunyun run: a VU is busy until its passenger's journey ends (the gate included), where the harness",
    "// frees the passenger's slot after the purchase, so an open model's maxVUs adds the kind's passengers; and the",
    "// devices' own simulation (network delay, lost answers, the kiosk's and call centre's one-at-a-time lines, QR",
    "// pixels) is the harness's, not k6's."
  ].join("\n")
}

/** The k6 script (an ES module for `k6 run`) running `scenario`'s load at `timeScale`. */
export const exportK6 = (scenario: Scenario, timeScale = scenario.real.timeScale) => {
  const mapped = k6ThresholdsOf(scenario.thresholds)
  const kinds = journeyKindsOf(scenario)
  const has = usesAnyOf(kinds)
  const setup = k6SetupSource({
    trains: kinds.some(needsTrain), cinema: has("cinema"), gatewayBaseline: hasGatewayParty(kinds), kiosks: hasKioskParty(kinds),
    agents: has("remote-card"), sms: has("sms"), fan: has("fan")
  })
  return `${headerOf(scenario, timeScale, mapped.skipped)}
import http from "k6/http"
import { check, sleep } from "k6"
import exec from "k6/execution"
import { Counter, Trend } from "k6/metrics"

/** @type {import("k6/options").Options} */
export const options = ${JSON.stringify(k6OptionsOf(scenario, timeScale, mapped.thresholds), null, 2)}

/** the scenario's numbers the journeys read */
const plan = ${JSON.stringify(k6PlanOf(scenario, timeScale), null, 1)}

/** the endpoints the script calls, from the HttpApi's OpenAPI document: method, path, the status of a success */
const endpoints = ${JSON.stringify(k6EndpointsOf(), null, 1)}
${k6PureHelpers}${k6Runtime}${setup}${journeySources(kinds)}${operatorStepsOf(scenario, kinds).length > 0 ? k6OperatorScenario : ""}${has("sms") ? k6SmsGatewayScenario : ""}`
}
