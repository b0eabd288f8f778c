/**
 * The exported k6 script: options map field for field from our executors and thresholds, and the script
 * typechecks against k6's own type definitions (@types/k6), so an API k6 does not have fails here, not on
 * the load-test machine.
 */
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { test } from "node:test"
import { Schema } from "effect"
import { Scenario } from "../scenarios/Scenario.js"
import springFestival from "../scenarios/spring-festival.js"
import { smallScenarioInput } from "../simulator/testing/smallScenario.js"
import { arrivalCurveExecutor, exportK6, k6ScenarioOf, k6ThresholdsOf } from "./k6.js"

const require = createRequire(import.meta.url)

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

test("executors map to k6 scenarios field for field, scaled by the time scale", () => {
  assert.deepEqual(k6ScenarioOf({ executor: "constant-arrival-rate", ratePerSecond: 50, durationMs: 60_000, preAllocatedVus: 20, maxVus: 200 }, 1), {
    executor: "constant-arrival-rate", rate: 50, timeUnit: "1s", duration: "60000ms", preAllocatedVUs: 20, maxVUs: 200
  })
  assert.deepEqual(k6ScenarioOf({ executor: "constant-arrival-rate", ratePerSecond: 0.5, durationMs: 60_000, preAllocatedVus: 1 }, 1), {
    executor: "constant-arrival-rate", rate: 30, timeUnit: "1m", duration: "60000ms", preAllocatedVUs: 1, maxVUs: 1
  })
  assert.deepEqual(k6ScenarioOf({ executor: "ramping-arrival-rate", startRate: 0, timeUnitMs: 1_000, stages: [{ durationMs: 20_000, target: 100 }], preAllocatedVus: 5 }, 10), {
    executor: "ramping-arrival-rate", startRate: 0, timeUnit: "100ms", stages: [{ duration: "2000ms", target: 100 }], preAllocatedVUs: 5, maxVUs: 5
  })
  assert.deepEqual(k6ScenarioOf({ executor: "constant-vus", vus: 8, durationMs: 30_000 }, 1), { executor: "constant-vus", vus: 8, duration: "30000ms" })
  assert.deepEqual(k6ScenarioOf({ executor: "ramping-vus", startVus: 0, stages: [{ durationMs: 5_000, target: 10 }] }, 1), {
    executor: "ramping-vus", startVUs: 0, stages: [{ duration: "5000ms", target: 10 }]
  })
})

test("thresholds keep their names; what k6 cannot measure is listed, not dropped silently", () => {
  const { thresholds, skipped } = k6ThresholdsOf({
    payment_to_issuance: ["p(99)<500", "count>10"], http_req_failed: ["rate<0.01"], tickets_issued_per_second: ["value>=100"], invariants: ["violations==0"]
  })
  assert.deepEqual(thresholds, { payment_to_issuance: ["p(99)<500"], http_req_failed: ["rate<0.01"], tickets_issued: ["rate>=100"] })
  assert.equal(skipped.length, 2)
  assert.match(skipped.join("\n"), /invariants: violations==0 \(run the auditor/)
})

test("without load, the arrival curve becomes a decreasing ramping-arrival-rate holding about the population", () => {
  const scenario = Schema.decodeUnknownSync(Scenario)(springFestival)
  const executor = arrivalCurveExecutor(scenario)
  assert.equal(executor.executor, "ramping-arrival-rate")
  if (executor.executor !== "ramping-arrival-rate") return
  const targets = executor.stages.map((stage) => stage.target)
  assert.deepEqual([...targets].sort((a, b) => b - a), targets)
  // the area under the piecewise-linear curve, in iterations, is within 10 % of the passengers (the tail past 5 means is ~0.7 %)
  let rate = executor.startRate
  let area = 0
  for (const stage of executor.stages) { area += ((rate + stage.target) / 2) * (stage.durationMs / executor.timeUnitMs); rate = stage.target }
  assert.ok(Math.abs(area - scenario.passengers.count) / scenario.passengers.count < 0.1, `area ${area}`)
})

test("the exported scripts typecheck against @types/k6, and a script calling what k6 lacks does not", (t) => {
  const typeRoots = k6TypeRoots()
  if (typeRoots === undefined) return t.skip("@types/k6 is not installed (a devDependency); set CHUNYUN_K6_TYPE_ROOTS to a folder holding it")
  const directory = mkdtempSync(join(tmpdir(), "chunyun-k6-"))
  try {
    const withLoad = Schema.decodeUnknownSync(Scenario)({
      ...smallScenarioInput, load: { executor: "ramping-vus", startVus: 1, stages: [{ durationMs: 10_000, target: 20 }] },
      thresholds: { payment_to_issuance: ["p(99)<500"], tickets_issued_per_second: ["value>1"] }
    })
    const scripts = { "spring-festival.js": exportK6(Schema.decodeUnknownSync(Scenario)(springFestival)), "ramping-vus.js": exportK6(withLoad, 10) }
    for (const [name, script] of Object.entries(scripts)) writeFileSync(join(directory, name), script)
    assert.match(scripts["ramping-vus.js"], /"executor": "ramping-vus"/)
    assert.match(scripts["ramping-vus.js"], /"tickets_issued": \[\s*"rate>1"\s*\]/)
    writeFileSync(join(directory, "broken.js"), scripts["ramping-vus.js"].replace("http.request(", "http.requets("))
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
