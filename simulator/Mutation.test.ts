/**
 * Proof the auditor can fail: the same scenario on a server whose seat inventory reads and then writes
 * (reference/Inventory.ts "unsafe") double-books, and the audit reports it with a witness. The safe
 * variants, on the same seed, audit clean.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Schema } from "effect"
import type { InventoryVariant } from "../reference/Inventory.js"
import { Scenario } from "../scenarios/Scenario.js"
import { smallScenarioInput } from "./testing/smallScenario.js"
import { runVirtual } from "./Virtual.js"

/** enough passengers that several holds fall within the unsafe variant's read-write gap */
const crowdedPassengerCount = 1_000
const seed = 11

const crowdedScenario = (inventory: InventoryVariant) =>
  Schema.decodeUnknownSync(Scenario)({
    ...smallScenarioInput,
    passengers: { ...smallScenarioInput.passengers, count: crowdedPassengerCount, meanArrivalDelayMs: 2_500 },
    server: { ...smallScenarioInput.server, inventory }
  })

const doubleBookings = (outcome: Awaited<ReturnType<typeof runVirtual>>) =>
  outcome.invariants.find((invariant) => invariant.name === "no-double-booking")

describe("mutation check: the auditor catches a planted seat-lock bug", () => {
  test("the unsafe inventory double-books in virtual mode and the audit names the overlapping orders", async () => {
    const outcome = await runVirtual(crowdedScenario("unsafe"), seed, undefined, { allowUnsafeInventory: true })
    const found = doubleBookings(outcome)
    assert.ok(found && found.violations > 0, "the auditor reported no double booking")
    assert.match(found.witness?.[0] ?? "", /^seat \d+: order O[0-9a-f]{16} \[\d,\d\) overlaps order O[0-9a-f]{16} \[\d,\d\)$/)
  })

  for (const inventory of ["conditional", "optimistic", "row-lock"] as const satisfies ReadonlyArray<InventoryVariant>) {
    test(`the ${inventory} inventory audits clean on the same seed`, async () => {
      const outcome = await runVirtual(crowdedScenario(inventory), seed)
      for (const invariant of outcome.invariants) assert.equal(invariant.violations, 0, `${invariant.name}: ${invariant.witness?.join("; ")}`)
    })
  }
})
