/**
 * Proof the auditor can fail, on spring-festival (its three trains, its app journey and its lost-answer fault,
 * scaled down, its gates reading no pixels): a server whose seat inventory reads and then writes (reference/Inventory.ts "unsafe")
 * double-books, and a server that skips the idempotency check of top-ups and payments (the test-only
 * `plantedBug` of reference/Config.ts) charges a retried key twice; the audit reports each with a witness
 * naming the orders or the key. The unmutated server audits clean on the same seed.
 */
import assert from "node:assert/strict"
import { before, describe, test } from "node:test"
import { Schema } from "effect"
import type { InventoryVariant } from "../reference/Inventory.js"
import { Scenario } from "../scenarios/Scenario.js"
import springFestival from "../scenarios/spring-festival.js"
import { runVirtual } from "./Virtual.js"
import type { RunOutcome } from "./Virtual.js"

/**
 * The gates as they matter here (they admit the tickets the audit counts): no code drawn to pixels and read back,
 * no blurred cameras. Reading pixels is tested where it is the subject (devices/Qr, the gate scanner, the
 * stadium and camera-blur tests) and costs most of a crowded run's CPU.
 */
const withoutPixelReading = (scenario: typeof springFestival) => ({
  checkin: { ...scenario.checkin, qrPixelSampleRate: 0 },
  faults: scenario.faults!.filter((fault) => fault.kind !== "camera-blur")
})

/** per train, one coach of this many seats: the crowd fights over them */
const crowdedSeatsPerTrain = 50
/** enough passengers arriving close enough together that several holds fall within the unsafe variant's read-write gap */
const crowdedPassengerCount = 400
const crowdedMeanArrivalDelayMs = 200
const seatLockSeed = 11

/** spring-festival's trains, each cut to its first coach of `crowdedSeatsPerTrain` seats, and a crowd arriving at once */
const crowdedSpringFestival = (inventory: InventoryVariant) =>
  Schema.decodeUnknownSync(Scenario)({
    ...springFestival,
    ...withoutPixelReading(springFestival),
    name: "spring-festival-crowded",
    trains: springFestival.trains!.map((train) => ({ ...train, coaches: [{ ...train.coaches[0]!, seatCount: crowdedSeatsPerTrain }] })),
    passengers: { ...springFestival.passengers, count: crowdedPassengerCount, meanArrivalDelayMs: crowdedMeanArrivalDelayMs },
    server: { ...springFestival.server, inventory }
  })

const invariant = (outcome: RunOutcome, name: string) => {
  const found = outcome.invariants.find((result) => result.name === name)
  assert.ok(found, `invariant ${name} was not audited`)
  return found
}

const assertClean = (outcome: RunOutcome) => {
  for (const result of outcome.invariants) assert.equal(result.violations, 0, `${result.name}: ${result.witness?.join("\n")}`)
}

describe("mutation check: the auditor catches a planted seat-lock bug (spring-festival, crowded)", () => {
  test("the unsafe inventory double-books in virtual mode and the audit names the overlapping orders and the phones that held them", async () => {
    const outcome = await runVirtual(crowdedSpringFestival("unsafe"), seatLockSeed, undefined, { allowUnsafeInventory: true })
    const found = invariant(outcome, "no-double-booking")
    assert.ok(found.violations > 0, "the auditor reported no double booking")
    assert.match(found.witness?.[0] ?? "", /^seat \d+: order O[0-9a-f]{16} \[\d,\d\) overlaps order O[0-9a-f]{16} \[\d,\d\)$/)
    // the two orders' phones, with their holds
    assert.match(found.witness?.[1] ?? "", /^ {2}@\d\d:\d\d:\d\d\.\d{3} phone-\d+ hold ok orderId=O[0-9a-f]{16}/)
    assert.ok((found.actors?.length ?? 0) >= 2, `actors: ${found.actors?.join(", ")}`)
  })

  // the other safe variants pass the same concurrency tests in reference/Inventory.test.ts on both stores
  for (const inventory of ["conditional"] as const satisfies ReadonlyArray<InventoryVariant>) {
    test(`the ${inventory} inventory audits clean on the same seed`, async () => {
      assertClean(await runVirtual(crowdedSpringFestival(inventory), seatLockSeed))
    })
  }
})

/** spring-festival's own seats and a few hundred passengers */
const retryPassengerCount = 300
/**
 * spring-festival loses 0.5 % of the answers in its first ten minutes; a few hundred passengers would lose one or
 * two, so the scaled copy loses 5 % (same window, timeout, backoff and retries)
 */
const scaledResponseLossRate = 0.05
const retrySeed = 3

const retryingSpringFestival = Schema.decodeUnknownSync(Scenario)({
  ...springFestival,
  ...withoutPixelReading(springFestival),
  name: "spring-festival-retries",
  passengers: { ...springFestival.passengers, count: retryPassengerCount },
  faults: withoutPixelReading(springFestival).faults.map((fault) => fault.kind === "client-timeouts" ? { ...fault, responseLossRate: scaledResponseLossRate } : fault)
})

describe("mutation check: the auditor catches a planted idempotency bug (spring-festival, answers lost)", () => {
  let mutated: RunOutcome
  let unmutated: RunOutcome
  before(async () => {
    mutated = await runVirtual(retryingSpringFestival, retrySeed, undefined, { testServerSettings: { plantedBug: "no-idempotency-check" } })
    unmutated = await runVirtual(retryingSpringFestival, retrySeed)
  })

  const lostTopUps = (outcome: RunOutcome) =>
    outcome.history.events.filter((event) => event.kind === "top-up" && event.outcome === "ResponseLost")

  test("without the idempotency check a retried top-up charges twice: invariant 8 names the key, both transfers and the attempts", () => {
    assert.ok(lostTopUps(mutated).length > 0, "no top-up answer was lost: nothing was retried")
    const found = invariant(mutated, "charged-once")
    assert.ok(found.violations > 0, "the auditor reported no double charge")
    const statement = /^key (topup-\d{8}) \((phone-\d+) top-up, 2 attempts, 1 answers lost\): answers name 2 transfers T[0-9a-f]+, T[0-9a-f]+, 2 of them in the store$/
      .exec(found.witness?.[0] ?? "")
    assert.ok(statement, found.witness?.join("\n"))
    const [, key, actor] = statement
    assert.match(found.witness?.[1] ?? "", new RegExp(`^ {2}@[\\d:.]+ ${actor} top-up ResponseLost attempt=0 key=${key} answer=ok transferId=T`))
    assert.match(found.witness?.[2] ?? "", new RegExp(`^ {2}@[\\d:.]+ ${actor} top-up ok key=${key} transferId=T`))
    assert.ok(found.actors?.includes(actor!))
  })

  test("the unmutated server, same seed, audits clean: every retry got the stored answer", () => {
    assert.ok(lostTopUps(unmutated).length > 0, "no top-up answer was lost: nothing was retried")
    assertClean(unmutated)
    const lostPayments = unmutated.history.events.filter((event) => event.kind === "pay" && event.outcome === "ResponseLost")
    assert.ok(lostPayments.length > 0, "no payment answer was lost")
    for (const lost of lostPayments.filter((event) => event.detail?.answer === "ok")) {
      const retried = unmutated.history.events.find((event) => event.actor === lost.actor && event.kind === "pay" && event.outcome === "ok")
      assert.equal(retried?.detail?.transferId, lost.detail?.transferId, `${lost.actor}: the retry was not answered with the stored payment`)
    }
  })
})
