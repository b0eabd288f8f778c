/**
 * The design matrix's pure parts: --vary parsing, the combinations and their scenarios, the one mode of a
 * matrix, and the best-value marks of the comparison. (Running a matrix is measured, not unit-tested.)
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { sampleMatrixRow, sampleReport } from "../reports/fixture.js"
import { markBest, rowOf, witnessExcerpt } from "../reports/matrix.js"
import { History } from "./History.js"
import { combinations, MatrixUsageError, modeOf, parseStore, parseVary } from "./Matrix.js"
import { replayCommandsOfRow } from "./MatrixRun.js"
import { serverDesignArgs } from "./Real.js"
import { smallScenario } from "./testing/smallScenario.js"

describe("matrix axes and combinations", () => {
  test("every combination, first axis slowest, each scenario carrying its values", () => {
    const all = combinations(smallScenario, [parseVary("inventory=conditional,queue"), parseVary("store=sqlite,postgres:4"), parseVary("outboxPollIntervalMs=100")])
    assert.deepEqual(all.map((combination) => combination.label), [
      "inventory=conditional store=sqlite outboxPollIntervalMs=100", "inventory=conditional store=postgres:4 outboxPollIntervalMs=100",
      "inventory=queue store=sqlite outboxPollIntervalMs=100", "inventory=queue store=postgres:4 outboxPollIntervalMs=100"
    ])
    assert.equal(all[2]!.scenario.server.inventory, "queue")
    assert.equal(all[2]!.scenario.server.outboxPollIntervalMs, 100)
    assert.deepEqual(all[1]!.store, { kind: "postgres", workers: 4 })
    assert.equal(new Set(all.map((combination) => combination.slug)).size, all.length)
  })

  test("the PostgreSQL pool size is a server knob: a number in the scenario, an argument of the server it starts", () => {
    const [small, large] = combinations(smallScenario, [parseVary("storeMaxConnections=10,40"), parseVary("store=postgres")])
    assert.deepEqual([small!.scenario.server.storeMaxConnections, large!.scenario.server.storeMaxConnections], [10, 40])
    const args = serverDesignArgs(large!.scenario)
    assert.equal(args[args.indexOf("--store-max-connections") + 1], "40")
    assert.throws(() => combinations(smallScenario, [parseVary("storeMaxConnections=0")]), /storeMaxConnections/)
  })

  test("a value the scenario schema refuses names the combination and the path; an unknown key lists the known ones", () => {
    assert.throws(() => combinations(smallScenario, [parseVary("inventory=conditional,pessimistic")]), (error: unknown) =>
      error instanceof MatrixUsageError && /inventory=pessimistic/.test(error.message) && /inventory/.test(error.message))
    assert.throws(() => combinations(smallScenario, [parseVary("colour=red")]), /not a field of the scenario's server section \(one of store, /)
    assert.throws(() => parseVary("inventory"), /key=value/)
    assert.throws(() => parseStore("postgres:0"), /1 to 16 workers/)
    assert.throws(() => parseStore("mysql"), /store expects/)
  })

  test("one mode for the whole matrix: virtual only when every combination can, real otherwise", () => {
    const virtualOnes = combinations(smallScenario, [parseVary("inventory=conditional,optimistic")])
    assert.equal(modeOf("auto", virtualOnes), "virtual")
    const mixed = combinations(smallScenario, [parseVary("inventory=conditional,queue")])
    assert.equal(modeOf("auto", mixed), "real")
    assert.throws(() => modeOf("virtual", mixed), /inventory=queue cannot run virtually/)
    assert.throws(() => modeOf("real", combinations(smallScenario, [parseVary("store=sqlite-memory")])), /virtual mode only/)
  })
})

const row = sampleMatrixRow

describe("best values", () => {
  test("higher throughput and lower latency win their columns; a column where all rows tie marks nobody", () => {
    const [fast, slow] = markBest([row("fast", { issuedPerSecond: 9, paymentToIssuanceP99Ms: 40 }), row("slow", { issuedPerSecond: 3, paymentToIssuanceP99Ms: 12, errors: 2 })])
    assert.deepEqual(fast!.best, ["issuedPerSecond", "errors"])
    assert.deepEqual(slow!.best, ["paymentToIssuanceP99Ms"])
  })

  test("a row that broke an invariant is not compared: the unsafe design's extra seats win nothing", () => {
    const [safe, unsafe, other] = markBest([
      row("safe", { ticketsIssued: 1_690, paymentToIssuanceP99Ms: 12_000 }),
      row("unsafe", { ticketsIssued: 2_000, paymentToIssuanceP99Ms: 9_000, invariantViolations: 774 }),
      row("other", { ticketsIssued: 1_680, paymentToIssuanceP99Ms: 13_000 })
    ])
    assert.deepEqual(unsafe!.best, [])
    assert.deepEqual(safe!.best, ["ticketsIssued", "paymentToIssuanceP99Ms"])
    assert.deepEqual(other!.best, [])
  })

  test("a row measured under outside load takes no mark and sets no best value", () => {
    const [quietA, loaded, quietB] = markBest([
      row("quiet a", { issuedPerSecond: 5, paymentToIssuanceP99Ms: 40 }),
      row("loaded", { issuedPerSecond: 50, paymentToIssuanceP99Ms: 1, underOutsideLoad: true, outsideCpuShare: 0.45 }),
      row("quiet b", { issuedPerSecond: 3, paymentToIssuanceP99Ms: 12 })
    ])
    assert.deepEqual(loaded!.best, [])
    assert.deepEqual(quietA!.best, ["issuedPerSecond"])
    assert.deepEqual(quietB!.best, ["paymentToIssuanceP99Ms"])
    // one comparable row left: nothing to compare it with
    assert.deepEqual(markBest([row("quiet", { issuedPerSecond: 1 }), row("loaded", { issuedPerSecond: 9, underOutsideLoad: true })]).map((marked) => marked.best), [[], []])
  })
})

describe("a row's witness", () => {
  const witness = [
    "seat 108: order O2140e039c3268a7a [0,1) overlaps order Of3658a57a1c6c5d5 [0,1)",
    "  @10:00:10.157 cinema-166 showings ok",
    "  @10:00:12.271 cinema-166 register-device ok",
    "  @10:00:15.473 cinema-166 hold-seat ok orderId=O2140e039c3268a7a seat=06-08 attempt=1 hot=true",
    "  @10:00:15.739 cinema-10 hold-seat ok orderId=Of3658a57a1c6c5d5 seat=06-08 attempt=1 hot=true",
    "  @10:00:17.547 cinema-10 gateway-pay ok orderId=Of3658a57a1c6c5d5 chargeId=G9b35b9dc6fddf6ef attempt=1",
    "  @10:00:19.266 cinema-166 gateway-pay ok orderId=O2140e039c3268a7a chargeId=G4bd5312832adc257 attempt=1",
    "seat 91: order O0933f72516486f8d [0,1) overlaps order Ob077e90f60affb48 [0,1)",
    "  @10:00:13.364 cinema-275 hold-seat ok orderId=O0933f72516486f8d"
  ]

  test("the first violation and the history lines naming its ids, not the searches before them", () => {
    assert.deepEqual(witnessExcerpt(witness), [witness[0], witness[3], witness[4], witness[5], witness[6]])
    assert.deepEqual(witnessExcerpt(witness, 3), [witness[0], witness[3], witness[4]])
  })

  test("no line names an id of the violation: the first lines under it; nothing broken: nothing", () => {
    assert.deepEqual(witnessExcerpt(["refund 7 charged twice", "  @1 phone-3 pay ok", "  @2 phone-3 pay ok"]), ["refund 7 charged twice", "  @1 phone-3 pay ok", "  @2 phone-3 pay ok"])
    assert.deepEqual(witnessExcerpt([]), [])
  })
})

describe("a broken row's commands", () => {
  test("the matrix of that one combination, and the replay of the actors its witness names", () => {
    const [combination] = combinations(smallScenario, [parseVary("inventory=unsafe"), parseVary("store=postgres:4")])
    assert.deepEqual(replayCommandsOfRow({ scenarioFile: "scenarios/my rush.ts", seed: 7, allowUnsafeInventory: true }, "real", combination!,
      "out/m/unsafe-postgres_4/history.jsonl", ["phone-3", "phone-9"]), [
      `npx chunyun matrix 'scenarios/my rush.ts' --seed 7 --mode real --passengers ${smallScenario.passengers.count} --vary inventory=unsafe --vary store=postgres:4 --unsafe`,
      "npx chunyun replay out/m/unsafe-postgres_4/history.jsonl --actor phone-3 --actor phone-9"
    ])
  })
})

describe("a row from a run", () => {
  test("queue waits the server timed on its scaled clock read as wall-clock ms, as the latencies do", () => {
    const history = new History()
    history.add({ atMs: 1, actor: "phone-1", kind: "hold", outcome: "ok", durationMs: 40, detail: { orderId: "O1", queueWaitMs: 300, queuePosition: 4 } })
    history.add({ atMs: 2, actor: "cinema-2", kind: "hold-seat", outcome: "ok", durationMs: 60, detail: { orderId: "O2", queueWaitMs: 500, claimAttempts: 3 } })
    const scaled = rowOf("inventory=queue", { inventory: "queue" }, "queue/report.json", sampleReport, history, 10)
    assert.deepEqual([scaled.queueWaitP50Ms, scaled.queueWaitP99Ms, scaled.maxQueuePosition], [30, 50, 4])
    assert.deepEqual([scaled.holdConflicts, scaled.holdRetries], [1, 2])
    assert.equal(rowOf("inventory=queue", { inventory: "queue" }, "queue/report.json", sampleReport, history).queueWaitP99Ms, 500)
  })
})
