/**
 * The exported k6 script: options map from our executors (one k6 scenario per journey kind, at its share) and
 * thresholds; the script's own arithmetic (resident IDs, PIN blocks, device IDs, seat maps) equals the harness's;
 * and every scenario's script typechecks against k6's own type definitions (@types/k6), so an API k6 does not have
 * fails here, not on the load-test machine, with each journey kind of its mix as a checked, tagged k6 scenario.
 */
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { runInNewContext } from "node:vm"
import { test } from "node:test"
import { Schema } from "effect"
import { deviceIdOf, freeSeatsByHotness } from "../simulator/journeys/CinemaGoer.js"
import { freeSeatsOnMap, ticketPollWaitMs } from "../devices/Phone.js"
import type { SeatMap } from "../reference/ticketing/Catalog/Api.js"
import { departureEpochMs } from "../reference/delivery/Checkin.js"
import { decodeDeviceId } from "../reference/customers/Customers/DeviceId.js"
import { formatPinBlock } from "../reference/payments/Payments/PinBlock.js"
import { Scenario } from "../scenarios/Scenario.js"
import cinemaPremiere from "../scenarios/cinema-premiere.js"
import crashMidRush from "../scenarios/crash-mid-rush.js"
import gatewayBrownout from "../scenarios/gateway-brownout.js"
import kioskPickup from "../scenarios/kiosk-pickup.js"
import nationalRush from "../scenarios/national-rush.js"
import smsBooking from "../scenarios/sms-booking.js"
import springFestival from "../scenarios/spring-festival.js"
import stadiumGates from "../scenarios/stadium-gates.js"
import { journeyKindsOf } from "../simulator/Journeys.js"
import { cardSecretsOf } from "../simulator/journeys/Kiosk.js"
import { phoneNumberOf, residentIdOf } from "../simulator/Population.js"
import { smallScenarioInput } from "../simulator/testing/smallScenario.js"
import { arrivalCurveExecutor, exportK6, journeyFunctionNames, k6ScenarioOf, k6ThresholdsOf } from "./k6.js"
import { ScenarioThresholds } from "./thresholds.js"
import { k6PureHelpers } from "./k6/runtime.js"
import { everyJourneyScenario } from "./testing/everyJourneyScenario.js"

const require = createRequire(import.meta.url)
const scenariosDirectory = join(dirname(dirname(fileURLToPath(import.meta.url))), "scenarios")

/** The folder holding @types/k6: the project's node_modules/@types, or CHUNYUN_K6_TYPE_ROOTS (a folder of @types packages). */
const k6TypeRoots = () => {
  const named = process.env.CHUNYUN_K6_TYPE_ROOTS
  if (named !== undefined) return existsSync(join(named, "k6")) ? named : undefined
  try {
    return dirname(dirname(require.resolve("@types/k6/package.json")))
  } catch {
    return undefined
  }
}

/** The script's `options`, as k6 reads them. */
const optionsOf = (script: string) => {
  const match = /^export const options = (\{[\s\S]*?\n\})\n/m.exec(script)
  assert.ok(match, "the script exports its options as one object")
  return JSON.parse(match[1]!) as { scenarios: Record<string, Record<string, unknown> & { exec?: string; tags?: Record<string, string> }>; thresholds: Record<string, Array<string>> }
}

test("executors map to k6 scenarios field for field, scaled by the time scale and by the journey's share", () => {
  assert.deepEqual(k6ScenarioOf({ executor: "constant-arrival-rate", ratePerSecond: 50, durationMs: 60_000, preAllocatedVus: 20, maxVus: 200 }, 1), {
    executor: "constant-arrival-rate", rate: 50, timeUnit: "1s", duration: "60s", preAllocatedVUs: 20, maxVUs: 200
  })
  assert.deepEqual(k6ScenarioOf({ executor: "constant-arrival-rate", ratePerSecond: 0.5, durationMs: 60_000, preAllocatedVus: 1 }, 1), {
    executor: "constant-arrival-rate", rate: 30, timeUnit: "1m", duration: "60s", preAllocatedVUs: 1, maxVUs: 1
  })
  // rounded where that moves a rate by at most 1 %, else written per minute (or hour)
  assert.deepEqual(k6ScenarioOf({ executor: "constant-arrival-rate", ratePerSecond: 100.4, durationMs: 1_000, preAllocatedVus: 1 }, 1), {
    executor: "constant-arrival-rate", rate: 100, timeUnit: "1s", duration: "1s", preAllocatedVUs: 1, maxVUs: 1
  })
  assert.deepEqual(k6ScenarioOf({ executor: "constant-arrival-rate", ratePerSecond: 1.4, durationMs: 1_000, preAllocatedVus: 1 }, 1), {
    executor: "constant-arrival-rate", rate: 84, timeUnit: "1m", duration: "1s", preAllocatedVUs: 1, maxVUs: 1
  })
  // a third of 50/s is 16.67/s: 1,000 a minute; its VUs rounded up
  assert.deepEqual(k6ScenarioOf({ executor: "constant-arrival-rate", ratePerSecond: 50, durationMs: 60_000, preAllocatedVus: 20, maxVus: 200 }, 1, 1 / 3), {
    executor: "constant-arrival-rate", rate: 1_000, timeUnit: "1m", duration: "60s", preAllocatedVUs: 7, maxVUs: 67
  })
  // 100 a scenario second at ×10 is 1,000 a wall second
  assert.deepEqual(k6ScenarioOf({ executor: "ramping-arrival-rate", startRate: 0, timeUnitMs: 1_000, stages: [{ durationMs: 20_000, target: 100 }], preAllocatedVus: 5 }, 10), {
    executor: "ramping-arrival-rate", startRate: 0, timeUnit: "1s", stages: [{ duration: "2s", target: 1_000 }], preAllocatedVUs: 5, maxVUs: 5
  })
  assert.deepEqual(k6ScenarioOf({ executor: "constant-vus", vus: 8, durationMs: 30_000 }, 1), { executor: "constant-vus", vus: 8, duration: "30s" })
  assert.deepEqual(k6ScenarioOf({ executor: "ramping-vus", startVus: 0, stages: [{ durationMs: 5_000, target: 10 }] }, 1, 0.25), {
    executor: "ramping-vus", startVUs: 0, stages: [{ duration: "5s", target: 3 }]
  })
})

test("thresholds keep their names, a trend's count is its counter's, and what k6 cannot measure is listed, not dropped silently", () => {
  const { thresholds, skipped } = k6ThresholdsOf(Schema.decodeUnknownSync(ScenarioThresholds)({
    payment_to_issuance: ["p(99)<500", "count>10"], checkin: ["count>=49000"], http_req_failed: ["rate<0.01"],
    tickets_issued_per_second: ["value>=100"], invariants: ["violations==0"]
  }))
  assert.deepEqual(thresholds, {
    payment_to_issuance: ["p(99)<500"], tickets_issued: ["count>10", "rate>=100"], admissions: ["count>=49000"], http_req_failed: ["rate<0.01"]
  })
  assert.deepEqual(skipped, ["invariants: violations==0 (run chunyun audit over the store after the test)"])
  // a scenario whose threshold names no metric does not decode, so there is nothing to export
  assert.throws(() => Schema.decodeUnknownSync(Scenario)({ ...smallScenarioInput, thresholds: { payment_to_issuanse: ["p(99)<500"] } }),
    /unknown metric payment_to_issuanse/)
})

test("without load, the arrival curve becomes a ramping-arrival-rate holding about the population: exponential, or the linear ramp", () => {
  const areaOf = (executor: ReturnType<typeof arrivalCurveExecutor>) => {
    assert.equal(executor.executor, "ramping-arrival-rate")
    if (executor.executor !== "ramping-arrival-rate") return 0
    let rate = executor.startRate
    let area = 0
    for (const stage of executor.stages) { area += ((rate + stage.target) / 2) * (stage.durationMs / executor.timeUnitMs); rate = stage.target }
    return area
  }
  const spring = Schema.decodeUnknownSync(Scenario)(springFestival)
  const exponential = arrivalCurveExecutor(spring)
  if (exponential.executor === "ramping-arrival-rate") {
    const targets = exponential.stages.map((stage) => stage.target)
    assert.deepEqual([...targets].sort((a, b) => b - a), targets)
  }
  // the tail past five means is ~0.7 %
  assert.ok(Math.abs(areaOf(exponential) - spring.passengers.count) / spring.passengers.count < 0.1, `area ${areaOf(exponential)}`)
  const stadium = Schema.decodeUnknownSync(Scenario)(stadiumGates)
  const ramp = arrivalCurveExecutor(stadium)
  assert.ok(ramp.executor === "ramping-arrival-rate" && ramp.stages[0]!.durationMs === 10 * 60_000 && ramp.stages[0]!.target === 0, "nobody before the gates open")
  assert.ok(Math.abs(areaOf(ramp) - stadium.passengers.count) < 1, `area ${areaOf(ramp)}`)
})

test("the script's own arithmetic is the harness's: phones, resident IDs, cards, PIN blocks, device IDs, departures, seat maps, ticket polls", () => {
  const helpers = runInNewContext(`${k6PureHelpers}
;({ phoneOf, residentIdOf, cardSecretsOf, pinBlockOf, deviceIdOf, departureEpochMs, freeSeatsOnMap, freeSeatsByHotness, ticketPollWaitMs })`) as {
    phoneOf: (index: number) => string; residentIdOf: (index: number) => string; cardSecretsOf: (index: number) => { pan: string; pin: string }
    pinBlockOf: (pin: string, pan: string) => string; deviceIdOf: (index: number, installTime: string) => string
    departureEpochMs: (date: string, minute: number, offset: number) => number
    freeSeatsOnMap: (map: SeatMap) => Array<{ coach: number; seatCode: string }>; freeSeatsByHotness: (map: SeatMap, hall: number) => Array<{ seatCode: string }>
    ticketPollWaitMs: (poll: number, intervalMs: number, maxIntervalMs: number) => number
  }
  for (const index of [0, 1, 7, 999, 12_345, 25_000, 987_654, 99_999_999]) {
    assert.equal(helpers.phoneOf(index), phoneNumberOf(index))
    assert.equal(helpers.residentIdOf(index), residentIdOf(index))
    const card = cardSecretsOf(index)
    assert.deepEqual(JSON.parse(JSON.stringify(helpers.cardSecretsOf(index))), card)
    assert.equal(helpers.pinBlockOf(card.pin, card.pan), formatPinBlock(card.pin, card.pan))
    assert.equal(helpers.pinBlockOf("1234", card.pan), formatPinBlock("1234", card.pan))
    assert.equal(helpers.deviceIdOf(index, ""), deviceIdOf(index))
    assert.equal(helpers.deviceIdOf(index, "07:15:42"), deviceIdOf(index, "07:15:42"))
    assert.ok(decodeDeviceId(helpers.deviceIdOf(index, "23:59:59")).ok)
  }
  assert.equal(helpers.departureEpochMs("2027-01-28", 9 * 60 + 35, 480), departureEpochMs("2027-01-28", 9 * 60 + 35, 480))
  for (const [intervalMs, maxIntervalMs] of [[1_000, 4_000], [300, 1_000], [1_000, 1_000]] as const) {
    for (const poll of [0, 1, 2, 3, 40]) assert.equal(helpers.ticketPollWaitMs(poll, intervalMs, maxIntervalMs), ticketPollWaitMs(poll, intervalMs, maxIntervalMs))
  }
  const map = {
    runId: "G1-20270128", kind: "train", fromStation: "BJP", toStation: "AOH", atMs: 0,
    legend: { free: "o", held: "h", sold: "x", gap: "." }, counts: { free: 0, held: 0, sold: 0 },
    sections: [
      { section: 1, name: "1", rows: [{ gridRow: 0, cells: "ox.oo", seatCodes: ["01A", "01B", "01D", "01F"] }, { gridRow: 1, cells: "oo.xo", seatCodes: ["02A", "02B", "02D", "02F"] }] },
      { section: 2, name: "2", rows: [{ gridRow: 0, cells: "hoo", seatCodes: ["01A", "01B", "01C"] }] }
    ]
  } as unknown as SeatMap
  // values made in the script's context have its prototypes: compared as JSON
  assert.deepEqual(JSON.parse(JSON.stringify(helpers.freeSeatsOnMap(map))), freeSeatsOnMap(map))
  assert.deepEqual(JSON.parse(JSON.stringify(helpers.freeSeatsByHotness(map, 1).map((seat) => seat.seatCode))), freeSeatsByHotness(map, 1).map((seat) => seat.seatCode))
})

/** the scenario files, by name (imported, not loaded by path: `npm test` runs compiled tests, which load no TypeScript) */
const scenarioFiles: Readonly<Record<string, unknown>> = {
  "cinema-premiere.ts": cinemaPremiere, "crash-mid-rush.ts": crashMidRush, "gateway-brownout.ts": gatewayBrownout,
  "kiosk-pickup.ts": kioskPickup, "national-rush.ts": nationalRush, "sms-booking.ts": smsBooking, "spring-festival.ts": springFestival, "stadium-gates.ts": stadiumGates
}

/** Every scenario file, decoded, and the test scenario with every journey kind. */
const allScenarios = () => {
  // a scenario file added later is in this list too, or the test says so
  assert.deepEqual(Object.keys(scenarioFiles), readdirSync(scenariosDirectory).filter((file) => /^[a-z][a-z0-9-]*\.ts$/.test(file)).sort())
  return [everyJourneyScenario, ...Object.values(scenarioFiles).map((input) => Schema.decodeUnknownSync(Scenario)(input))]
}

test("every scenario's journey kinds are k6 scenarios of their own: the kind's function, its journey tag, checked and tagged requests", () => {
  const scenarios = allScenarios()
  assert.ok(scenarios.length >= 8, `the seven scenario files and the test scenario, got ${scenarios.map((scenario) => scenario.name).join(", ")}`)
  for (const scenario of scenarios) {
    const script = exportK6(scenario)
    const options = optionsOf(script)
    for (const kind of journeyKindsOf(scenario)) {
      const spec = options.scenarios[kind]
      assert.ok(spec, `${scenario.name}: no k6 scenario for the journey ${kind}`)
      assert.equal(spec.exec, journeyFunctionNames[kind], `${scenario.name}/${kind}`)
      assert.deepEqual(spec.tags, { journey: kind }, `${scenario.name}/${kind}`)
      assert.match(script, new RegExp(`^export function ${spec.exec}\\(data\\) \\{`, "m"), `${scenario.name}: ${spec.exec}() is not exported`)
    }
    // one place sends requests, and it checks and tags every one
    assert.equal(script.split("http.request(").length - 1, 1, `${scenario.name}: http.request outside call()`)
    assert.match(script, /http\.request\(endpoint\.method, [^\n]*tags: \{ name: name \}/)
    assert.match(script, /const passed = check\(response, checks, \{ name: name \}\)/)
  }
})

test("the exported scripts of every scenario typecheck against @types/k6, and a script calling what k6 lacks does not", async (t) => {
  const typeRoots = k6TypeRoots()
  if (typeRoots === undefined) return t.skip("@types/k6 is not installed (a devDependency); set CHUNYUN_K6_TYPE_ROOTS to a folder holding it")
  const directory = mkdtempSync(join(tmpdir(), "chunyun-k6-"))
  try {
    const scripts = Object.fromEntries(allScenarios().map((scenario) => [`${scenario.name}.js`, exportK6(scenario)]))
    const withLoad = Schema.decodeUnknownSync(Scenario)({
      ...smallScenarioInput, load: { executor: "ramping-vus", startVus: 1, stages: [{ durationMs: 10_000, target: 20 }] },
      thresholds: { payment_to_issuance: ["p(99)<500"], tickets_issued_per_second: ["value>1"] }
    })
    scripts["ramping-vus.js"] = exportK6(withLoad, 10)
    for (const [name, script] of Object.entries(scripts)) writeFileSync(join(directory, name), script)
    assert.match(scripts["ramping-vus.js"]!, /"executor": "ramping-vus"/)
    assert.match(scripts["ramping-vus.js"]!, /"tickets_issued": \[\s*"rate>1"\s*\]/)
    writeFileSync(join(directory, "broken.js"), scripts["ramping-vus.js"]!.replace("http.request(", "http.requets("))
    const tsc = require.resolve("typescript/bin/tsc")
    const typecheck = (...files: Array<string>) => {
      try {
        execFileSync(process.execPath, [tsc, "--noEmit", "--allowJs", "--checkJs", "--strict", "--target", "es2022", "--module", "esnext",
          "--moduleResolution", "bundler", "--skipLibCheck", "--typeRoots", typeRoots, "--types", "k6", ...files.map((file) => join(directory, file))], { stdio: "pipe" })
        return ""
      } catch (error) {
        return String((error as { stdout?: Buffer }).stdout ?? error)
      }
    }
    assert.equal(typecheck(...Object.keys(scripts)), "")
    assert.match(typecheck("broken.js"), /Property 'requets' does not exist/)
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
})
