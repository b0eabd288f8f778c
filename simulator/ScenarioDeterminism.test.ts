/**
 * Every scenario file in scenarios/ is its seed: scaled down to a few hundred passengers, the same seed run twice
 * in virtual mode gives the same trace hash, and another seed another one. The files are found by listing the
 * folder, so a scenario added later is covered without touching this test.
 */
import assert from "node:assert/strict"
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { describe, test } from "node:test"
import { Schema } from "effect"
import { Scenario } from "../scenarios/Scenario.js"
import type { ScenarioInput } from "../scenarios/Scenario.js"
import { runVirtual } from "./Virtual.js"

const scenariosDirectory = join(dirname(dirname(fileURLToPath(import.meta.url))), "scenarios")
/** enough passengers that every journey of a mix is drawn a few times, few enough for three runs a scenario */
const scaledPassengerCount = 100
const seed = 1
const otherSeed = 2

/** the scenario modules: every .ts file of scenarios/ with a default export (Scenario.ts and Faults.ts have none) */
const scenarioFiles = readdirSync(scenariosDirectory)
  .filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".d.ts"))
  .sort()

const loaded = await Promise.all(scenarioFiles.map(async (name) => {
  const module = await import(pathToFileURL(join(scenariosDirectory, name)).href) as { default?: ScenarioInput }
  return { name, input: module.default }
}))
const scenarios = loaded.flatMap(({ name, input }) => input === undefined ? [] : [{
  name,
  scenario: Schema.decodeUnknownSync(Scenario)({
    ...input, passengers: { ...input.passengers, count: Math.min(input.passengers.count, scaledPassengerCount) }
  })
}])

test("the scenario files are found by listing scenarios/", () => {
  assert.ok(scenarios.some(({ name }) => name === "spring-festival.ts"), `found ${scenarios.map(({ name }) => name).join(", ")}`)
})

for (const { name, scenario } of scenarios) {
  describe(`scenarios/${name}, ${scenario.passengers.count} passengers`, () => {
    test("the same seed twice gives the same trace hash; another seed another", async () => {
      const first = await runVirtual(scenario, seed)
      const second = await runVirtual(scenario, seed)
      const other = await runVirtual(scenario, otherSeed)
      assert.ok(first.history.toArray().length > 0)
      assert.equal(second.history.traceHash(), first.history.traceHash(), `${name}: seed ${seed} twice gave two traces`)
      assert.notEqual(other.history.traceHash(), first.history.traceHash(), `${name}: seeds ${seed} and ${otherSeed} gave one trace`)
    })
  })
}
