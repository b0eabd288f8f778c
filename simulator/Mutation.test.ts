/**
 * Proof the auditor can fail, on spring-festival (its three trains, its app journey and its lost-answer fault,
 * scaled down, its gates reading no pixels): a server whose seat inventory reads and then writes (reference/ticketing/Inventory.ts "unsafe")
 * double-books, and a server that skips the idempotency check of top-ups and payments (the test-only
 * `plantedBug` of reference/Config.ts) charges a retried key twice; the audit reports each with a witness
 * naming the orders or the key. The unmutated server audits clean on the same seed.
 *
 * The history audit (simulator/audits/FromHistory.ts) catches the same bugs from the history alone, with no store
 * read, and two more planted ones that only clients or gates see whole: a server that never hands a paid ticket
 * to its phone, and gates that admit a used ticket again (stadium-gates' shared screenshots present it twice).
 */
import assert from "node:assert/strict"
import { before, describe, test } from "node:test"
import { Schema } from "effect"
import type { InventoryVariant } from "../reference/Settings/Holds.js"
import { Scenario } from "../scenarios/Scenario.js"
import springFestival from "../scenarios/spring-festival.js"
import stadium from "../scenarios/stadium-gates.js"
import { auditHistory } from "./Auditor.js"
import type { InvariantResult } from "../reports/Report.js"
import { smallScenarioInput } from "./testing/smallScenario.js"
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

const invariant = (outcome: RunOutcome, name: string) => named(outcome.invariants, name)

const named = (results: ReadonlyArray<InvariantResult>, name: string) => {
  const found = results.find((result) => result.name === name)
  assert.ok(found, `invariant ${name} was not audited`)
  return found
}

/** The history audit of a run, given its events and nothing else (no store, no server). */
const historyAudit = (outcome: RunOutcome) => auditHistory(outcome.history)

const assertClean = (outcome: RunOutcome) => {
  for (const result of outcome.invariants) assert.equal(result.violations, 0, `${result.name}: ${result.witness?.join("\n")}`)
}

describe("mutation check: the auditor catches a planted seat-lock bug (spring-festival, crowded)", () => {
  let outcome: RunOutcome
  before(async () => {
    outcome = await runVirtual(crowdedSpringFestival("unsafe"), seatLockSeed, undefined, { allowUnsafeInventory: true })
  })

  test("the unsafe inventory double-books in virtual mode and the audit names the overlapping orders and the phones that held them", () => {
    const found = invariant(outcome, "no-double-booking")
    assert.ok(found.violations > 0, "the auditor reported no double booking")
    assert.match(found.witness?.[0] ?? "", /^seat \d+: order O[0-9a-f]{16} \[\d,\d\) overlaps order O[0-9a-f]{16} \[\d,\d\)$/)
    // the two orders' phones, with their holds
    assert.match(found.witness?.[1] ?? "", /^ {2}@\d\d:\d\d:\d\d\.\d{3} phone-\d+ hold ok orderId=O[0-9a-f]{16}/)
    assert.ok((found.actors?.length ?? 0) >= 2, `actors: ${found.actors?.join(", ")}`)
  })

  test("the history alone shows it: two phones told they hold one seat on overlapping segments, both given tickets", () => {
    const found = named(historyAudit(outcome), "history-no-double-booking")
    assert.ok(found.violations > 0, "the history audit reported no double booking")
    const statement = /^seat [A-Z0-9]+-\d{8} coach 1 \d+[A-F]: order (O[0-9a-f]{16}) \((phone-\d+), [A-Z]{3}→[A-Z]{3}\) and order (O[0-9a-f]{16}) \((phone-\d+), [A-Z]{3}→[A-Z]{3}\) overlap, and both were issued tickets/
      .exec(found.witness?.[0] ?? "")
    assert.ok(statement, found.witness?.join("\n"))
    const [, firstOrder, firstPhone, secondOrder, secondPhone] = statement
    assert.notEqual(firstPhone, secondPhone)
    // its witness is the two holds and the two tickets received
    const events = found.witness!.slice(1, 5)
    for (const [phone, order] of [[firstPhone, firstOrder], [secondPhone, secondOrder]]) {
      assert.ok(events.some((line) => line.includes(` ${phone} hold`) && line.includes(`orderId=${order} `)), events.join("\n"))
      assert.ok(events.some((line) => line.includes(` ${phone} ticket-received ok orderId=${order} `)), events.join("\n"))
    }
    // the store's audit names the same orders overlapping
    assert.ok(invariant(outcome, "no-double-booking").witness?.some((line) => line.includes(firstOrder!) && line.includes(secondOrder!)))
  })

  // the other safe variants pass the same concurrency tests in reference/ticketing/Inventory.test.ts on both stores
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
    outcome.history.toArray().filter((event) => event.kind === "top-up" && event.outcome === "ResponseLost")

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

  test("the history alone shows the key answered with two transfers, naming the key, both transfers and its attempts", () => {
    const found = named(historyAudit(mutated), "history-charged-once")
    assert.ok(found.violations > 0, "the history audit reported no double charge")
    const statement = /^key (topup-\d{8}) \((phone-\d+) top-up\): 2 attempts, 1 answers lost; the answers name 2 different charges (T[0-9a-f]+), (T[0-9a-f]+)$/
      .exec(found.witness?.[0] ?? "")
    assert.ok(statement, found.witness?.join("\n"))
    const [, key, actor, lostTransfer, retriedTransfer] = statement
    assert.match(found.witness?.[1] ?? "", new RegExp(`^ {2}@[\\d:.]+ ${actor} top-up ResponseLost attempt=0 key=${key} answer=ok transferId=${lostTransfer}$`))
    assert.match(found.witness?.[2] ?? "", new RegExp(`^ {2}@[\\d:.]+ ${actor} top-up ok key=${key} transferId=${retriedTransfer}$`))
    assert.ok(invariant(mutated, "charged-once").witness?.[0]?.startsWith(`key ${key} (${actor} top-up`))
    assert.equal(named(historyAudit(unmutated), "history-charged-once").violations, 0)
  })

  test("the unmutated server, same seed, audits clean: every retry got the stored answer", () => {
    assert.ok(lostTopUps(unmutated).length > 0, "no top-up answer was lost: nothing was retried")
    assertClean(unmutated)
    const lostPayments = unmutated.history.toArray().filter((event) => event.kind === "pay" && event.outcome === "ResponseLost")
    assert.ok(lostPayments.length > 0, "no payment answer was lost")
    for (const lost of lostPayments.filter((event) => event.detail?.answer === "ok")) {
      const retried = unmutated.history.toArray().find((event) => event.actor === lost.actor && event.kind === "pay" && event.outcome === "ok")
      assert.equal(retried?.detail?.transferId, lost.detail?.transferId, `${lost.actor}: the retry was not answered with the stored payment`)
    }
  })
})

/** spring-festival's first train, one coach, forty passengers: enough paid orders to see every one lose its ticket */
const deliveryPassengerCount = 40
const deliverySeed = 5
const smallSpringFestival = Schema.decodeUnknownSync(Scenario)({
  ...smallScenarioInput, ...withoutPixelReading(springFestival), passengers: { ...smallScenarioInput.passengers, count: deliveryPassengerCount }
})

describe("mutation check: the history audit catches paid tickets that never reach their phones", () => {
  let mutated: RunOutcome
  before(async () => {
    mutated = await runVirtual(smallSpringFestival, deliverySeed, undefined, { testServerSettings: { plantedBug: "ticket-never-delivered" } })
  })

  test("each order answered paid is named, with its payment, its last polls and the phone giving up; the store sees nothing wrong", () => {
    const paid = mutated.history.toArray().filter((event) => event.kind === "pay" && event.outcome === "ok")
    assert.ok(paid.length > 0, "no order was paid")
    const found = named(historyAudit(mutated), "history-paid-gets-ticket")
    assert.equal(found.violations, new Set(paid.map((event) => event.detail?.orderId)).size)
    const statement = /^order (O[0-9a-f]{16}): (phone-\d+) was answered paid at [\d:.]+ \(pay\), but no ticket reached a client by the end of the run \((\d+) polls after\)$/
      .exec(found.witness?.[0] ?? "")
    assert.ok(statement, found.witness?.join("\n"))
    const [, orderId, phone, polls] = statement
    assert.equal(Number(polls), springFestival.passengers.maxTicketPolls + 1)
    assert.match(found.witness?.[1] ?? "", new RegExp(`^ {2}@[\\d:.]+ ${phone} pay ok key=pay-\\d{8} orderId=${orderId} state=issued transferId=T`))
    assert.match(found.witness?.[2] ?? "", new RegExp(`^ {2}@[\\d:.]+ ${phone} get-ticket TicketNotIssued$`))
    assert.match(found.witness?.[4] ?? "", new RegExp(`^ {2}@[\\d:.]+ ${phone} gave-up TicketNeverArrived$`))
    // the ticket is in the store, so the store's audit of payments finds every payment ended in one
    assert.equal(invariant(mutated, "payment-ends-in-one-ticket").violations, 0)
  })
})

/** stadium-gates with every gate online, no pixels read, and a fifth of the fans passing a screenshot to a friend */
const gateFans = 100
const gateSeed = 3
const screenshotStadium = Schema.decodeUnknownSync(Scenario)({
  ...stadium,
  name: "stadium-gates-screenshots",
  gatesPerStation: 4,
  passengers: { ...stadium.passengers, count: gateFans },
  checkin: { ...stadium.checkin, qrPixelSampleRate: 0 },
  event: { ...stadium.event!, carrierShare: 0, screenshotShare: 0.2 },
  faults: []
})

describe("mutation check: the history audit catches gates that admit a used ticket again (stadium-gates, screenshots)", () => {
  let mutated: RunOutcome
  let unmutated: RunOutcome
  before(async () => {
    mutated = await runVirtual(screenshotStadium, gateSeed, undefined, { testServerSettings: { plantedBug: "gate-admits-used-ticket" } })
    unmutated = await runVirtual(screenshotStadium, gateSeed)
  })

  const friendsScans = (outcome: RunOutcome) => outcome.history.toArray().filter((event) => event.kind === "scan" && event.actor.endsWith("-friend"))

  test("a friend's screenshot admitted after its fan: the ticket named with both admissions at their gates", () => {
    assert.ok(friendsScans(mutated).some((event) => event.outcome === "ok"), "no screenshot was admitted")
    const found = named(historyAudit(mutated), "history-admitted-once")
    assert.equal(found.violations, friendsScans(mutated).filter((event) => event.outcome === "ok").length)
    const statement = /^ticket ([0-9a-f]+): admitted 2 times online \(gates ([A-Z]+-\d\d), ([A-Z]+-\d\d)\)$/.exec(found.witness?.[0] ?? "")
    assert.ok(statement, found.witness?.join("\n"))
    const [, ticketId, firstGate, secondGate] = statement
    assert.notEqual(firstGate, secondGate)
    assert.match(found.witness?.[1] ?? "", new RegExp(`^ {2}@[\\d:.]+ (fan-\\d+) scan ok ticketId=${ticketId} gate=${firstGate} `))
    assert.match(found.witness?.[2] ?? "", new RegExp(`^ {2}@[\\d:.]+ fan-\\d+-friend scan ok ticketId=${ticketId} gate=${secondGate} `))
  })

  test("the unmutated gates refuse every screenshot after its fan, and the history audits clean", () => {
    assert.ok(friendsScans(unmutated).length > 0)
    assert.ok(friendsScans(unmutated).every((event) => event.outcome === "TicketAlreadyUsed"), friendsScans(unmutated).map((event) => event.outcome).join(", "))
    for (const result of historyAudit(unmutated)) assert.equal(result.violations, 0, `${result.name}: ${result.witness?.join("\n")}`)
  })
})
