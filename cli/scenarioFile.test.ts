/**
 * Scenario files as users get them wrong: every error names the file, the path inside the scenario and
 * what was expected, so a typo is found without a stack trace. The files are written to a temp directory
 * and import the real spring-festival scenario, as a user's own file would.
 */
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"
import { Schema } from "effect"
import { Scenario } from "../scenarios/Scenario.js"
import springFestival from "../scenarios/spring-festival.js"
import { decodeScenario, loadScenario, ScenarioFileError } from "./scenarioFile.js"

const springFestivalUrl = new URL("../scenarios/spring-festival.ts", import.meta.url).href

let directory: string
before(() => { directory = mkdtempSync(join(tmpdir(), "chunyun-scenario-")) })
after(() => rmSync(directory, { recursive: true, force: true }))

/** Writes `<name>.ts` into the temp directory: `body` may use `base`, the spring-festival scenario. */
const scenarioFile = (name: string, body: string) => {
  const path = join(directory, `${name}.ts`)
  writeFileSync(path, `import base from ${JSON.stringify(springFestivalUrl)}\n${body}\n`)
  return path
}

/** `loadScenario(file)` rejects with a ScenarioFileError whose every line names the file; returns the message. */
const loadError = async (file: string): Promise<string> => {
  let message = ""
  await assert.rejects(loadScenario(file), (error: unknown) => {
    assert.ok(error instanceof ScenarioFileError, `expected a ScenarioFileError, got ${String(error)}`)
    message = error.message
    return true
  })
  for (const line of message.split("\n")) assert.ok(line.startsWith(`${file}: `), `every line names the file: ${line}`)
  return message
}

describe("loading a scenario file", () => {
  test("a valid file decodes to the same scenario as its data, with defaults applied", async () => {
    const file = scenarioFile("valid", `const { thresholds, ...rest } = base\nexport default { ...rest, name: "valid-copy" }`)
    const loaded = await loadScenario(file)
    assert.equal(loaded.name, "valid-copy")
    assert.deepEqual(loaded.trains, Schema.decodeUnknownSync(Scenario)(springFestival).trains)
    assert.deepEqual(loaded.thresholds, {})
  })

  test("a typo'd key is an unexpected key at its path, listing the keys that are allowed", async () => {
    const file = scenarioFile("typo", `const { passengers, ...rest } = base\nexport default { ...rest, pasengers: passengers }`)
    const message = await loadError(file)
    assert.match(message, /: at pasengers: is unexpected, expected: .*"passengers"/)
    // and the real key is now missing: both are reported at once
    assert.match(message, /: at passengers: is missing/)
  })

  test("a wrong value deep inside names its full path, what the domain expects there and the value it got", async () => {
    const file = scenarioFile("deep", `export default {
  ...base,
  trains: [base.trains[0], { ...base.trains[1], stops: base.trains[1].stops.map((stop, index) => index === 2 ? { ...stop, station: "bj" } : stop) }]
}`)
    const message = await loadError(file)
    assert.equal(message, `${file}: at trains[1].stops[2].station: expected a station code: 3 capital letters (BJP), actual "bj"`)
  })

  test("a missing field is named", async () => {
    const file = scenarioFile("missing", `const { gatesPerStation, ...rest } = base\nexport default rest`)
    assert.equal(await loadError(file), `${file}: at gatesPerStation: is missing`)
  })

  test("a password cost that is not a power of two says so", async () => {
    const file = scenarioFile("cost", `export default { ...base, server: { ...base.server, passwordHashCostN: 1000 } }`)
    assert.equal(await loadError(file), `${file}: at server.passwordHashCostN: must be a power of two, actual 1000`)
  })

  test("a ticket-poll backoff whose ceiling is below the first wait names both", async () => {
    const file = scenarioFile("backoff", `export default { ...base, passengers: { ...base.passengers, ticketPollIntervalMs: 2_000, maxTicketPollIntervalMs: 500 } }`)
    assert.match(await loadError(file), /: at passengers\.maxTicketPollIntervalMs: must be at least ticketPollIntervalMs \(2000\), got 500/)
  })

  test("a threshold on an unknown metric or with a malformed expression is refused at load time, at its key or its place in the list", async () => {
    const unknown = scenarioFile("threshold-metric", `export default { ...base, thresholds: { latency: ["p(99)<500"] } }`)
    assert.match(await loadError(unknown), /: at thresholds\.latency: unknown metric latency \(known: payment_to_issuance, /)
    const malformed = scenarioFile("threshold-syntax", `export default { ...base, thresholds: { hold: ["p(99)<500", "p99 < 500"] } }`)
    assert.equal(await loadError(malformed), `${malformed}: at thresholds.hold[1]: expected "aggregation <op> number", e.g. "p(99)<500", actual "p99 < 500"`)
    const aggregation = scenarioFile("threshold-aggregation", `export default { ...base, thresholds: { hold: ["p(95)<500"] } }`)
    assert.match(await loadError(aggregation), /: at thresholds\.hold\[0\]: hold has no p\(95\) \(it has .*\), actual "p\(95\)<500"$/)
  })

  test("every problem of a file is reported, one line each", async () => {
    const file = scenarioFile("several", `export default {
  ...base,
  startAt: "2027-01-28T07:59:00",
  passengers: { ...base.passengers, thinkTimeMs: { min: 5_000, max: 10 } },
  gatesPerStation: "4"
}`)
    const lines = (await loadError(file)).split("\n")
    assert.deepEqual(lines.map((line) => line.slice(file.length + 2).split(":")[0]), ["at startAt", "at gatesPerStation", "at passengers.thinkTimeMs"])
    assert.match(lines[0]!, /an ISO instant with an offset/)
    assert.match(lines[1]!, /Expected number, actual "4"/)
    assert.match(lines[2]!, /min must not exceed max/)
  })

  test("a wrong value in an optional field says what the field expects, once, without the alternative of leaving it out", async () => {
    const file = scenarioFile("optional", `export default {
  ...base,
  endAt: 5,
  passengers: { ...base.passengers, seatChoice: { share: "half", fallbackShare: 0.1 } }
}`)
    const lines = (await loadError(file)).split("\n").map((line) => line.slice(file.length + 2))
    assert.deepEqual(lines, ['at endAt: Expected string, actual 5', 'at passengers.seatChoice.share: Expected number, actual "half"'])
  })

  test("a missing file is named, with no stack trace", async () => {
    const file = join(directory, "no-such-scenario.ts")
    assert.equal(await loadError(file), `${file}: no such scenario file`)
  })

  test("a file without a default export says how to write one", async () => {
    const file = scenarioFile("named-export", `export const scenario = { ...base }`)
    assert.match(await loadError(file), /: has no default export \(export default defineScenario\(\{ … \}\)\)$/)
  })

  test("a file that throws while loading names the error's first line", async () => {
    const file = scenarioFile("throws", `if (base) throw new Error("scenario generator broke\\nsecond line")\nexport default base`)
    assert.equal(await loadError(file), `${file}: cannot be loaded: scenario generator broke`)
  })

  test("a default export that is not an object is refused at the root", async () => {
    const file = scenarioFile("not-an-object", `export default [base]`)
    assert.match(await loadError(file), /: at \(root\): Expected Struct/)
  })
})

describe("decodeScenario", () => {
  test("names the given file on every line, whatever the value", () => {
    assert.throws(() => decodeScenario("scenarios/mine.ts", { ...springFestival, gatesPerStation: 0 }),
      (error: unknown) => error instanceof ScenarioFileError && /^scenarios\/mine\.ts: at gatesPerStation: /.test(error.message))
    assert.throws(() => decodeScenario("scenarios/mine.ts", null),
      (error: unknown) => error instanceof ScenarioFileError && error.message.startsWith("scenarios/mine.ts: at (root): "))
  })

  test("the shipped spring-festival scenario decodes", () => {
    const scenario = decodeScenario("scenarios/spring-festival.ts", springFestival)
    assert.equal(scenario.name, "spring-festival")
    assert.ok(scenario.trains.length >= 2, "spring-festival sells several trains")
    for (const train of scenario.trains) assert.equal(train.stops.length, train.fareFenPerSegment.length + 1)
  })
})
