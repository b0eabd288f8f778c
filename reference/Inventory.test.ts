/**
 * The seat inventory variants over real HTTP: the safe ones never double-book under a crowd, and the
 * unsafe one is refused unless allowed — and, when allowed, double-books in a way the auditor catches.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Effect, Either } from "effect"
import { audit } from "../simulator/Auditor.js"
import { History } from "../simulator/History.js"
import type { StationCode } from "./Domain.js"
import type { InventoryVariant } from "./Inventory.js"
import { createRun, newCustomer, startTestServer, storeQuery, withTestServer } from "./testing/TestServer.js"
import type { TestCustomer, TestRun, TestServer } from "./testing/TestServer.js"

const crowdSize = 100
const registrationBatchSize = 25
/** the unsafe race needs requests to interleave; a few fresh runs make that certain enough */
const maxUnsafeRounds = 5

const crowd = (server: TestServer, size: number) =>
  server.run(Effect.forEach(Array.from({ length: size }), () => newCustomer(server.baseUrl), { concurrency: registrationBatchSize }))

const holdAll = (server: TestServer, customers: ReadonlyArray<TestCustomer>, run: TestRun, from: string, to: string) =>
  server.run(Effect.forEach(customers, (customer) => Effect.either(customer.client.orders.hold({
    payload: { runId: run.runId, fromStation: from as StationCode, toStation: to as StationCode }
  })), { concurrency: "unbounded" }))

for (const variant of ["conditional", "optimistic"] as const satisfies ReadonlyArray<InventoryVariant>) {
  describe(`${variant} inventory`, () => {
    test(`${crowdSize} concurrent holds for one seat: exactly one wins`, async () => {
      await withTestServer({ inventory: variant }, async (server) => {
        const customers = await crowd(server, crowdSize)
        const run = await server.run(createRun(server.baseUrl, { trainCode: "G300", stations: ["BJP", "TJP"], seatCount: 1 }))
        const results = await holdAll(server, customers, run, "BJP", "TJP")
        assert.equal(results.filter(Either.isRight).length, 1)
        for (const result of results) if (Either.isLeft(result)) assert.equal(result.left._tag, "SoldOut")
      })
    })

    test("five seats, forty holds on overlapping segments: five win, on five different seats", async () => {
      await withTestServer({ inventory: variant }, async (server) => {
        const customers = await crowd(server, 40)
        const run = await server.run(createRun(server.baseUrl, { trainCode: "G301", stations: ["BJP", "TJP", "JNK"], seatCount: 5 }))
        const results = await holdAll(server, customers, run, "BJP", "JNK")
        const seats = results.filter(Either.isRight).map((result) => result.right.seatCode)
        assert.equal(seats.length, 5)
        assert.equal(new Set(seats).size, 5)
        const violations = await server.run(audit(new History()))
        assert.equal(violations.find((invariant) => invariant.name === "no-double-booking")?.violations, 0)
      })
    })

    test("disjoint segments of one seat both succeed", async () => {
      await withTestServer({ inventory: variant }, async (server) => {
        const [first, second] = await crowd(server, 2)
        const run = await server.run(createRun(server.baseUrl, { trainCode: "G302", stations: ["BJP", "TJP", "JNK"], seatCount: 1 }))
        const a = await holdAll(server, [first!], run, "BJP", "TJP")
        const b = await holdAll(server, [second!], run, "TJP", "JNK")
        assert.ok(Either.isRight(a[0]!) && Either.isRight(b[0]!))
      })
    })
  })
}

describe("unsafe inventory", () => {
  test("is refused at start-up unless explicitly allowed", async () => {
    await assert.rejects(startTestServer({ inventory: "unsafe" }), /double-books by design/)
  })

  test("when allowed, a crowd double-books one seat and the auditor reports it with a witness", async () => {
    await withTestServer({ inventory: "unsafe", allowUnsafeInventory: true }, async (server) => {
      const customers = await crowd(server, crowdSize)
      let winners = 0
      for (let round = 0; round < maxUnsafeRounds && winners <= 1; round++) {
        const run = await server.run(createRun(server.baseUrl, { trainCode: `G31${round}`, stations: ["BJP", "TJP"], seatCount: 1 }))
        winners = (await holdAll(server, customers, run, "BJP", "TJP")).filter(Either.isRight).length
      }
      assert.ok(winners > 1, `expected a double booking within ${maxUnsafeRounds} rounds, got ${winners} winner(s)`)
      const invariants = await server.run(audit(new History()))
      const doubleBooking = invariants.find((invariant) => invariant.name === "no-double-booking")
      assert.ok(doubleBooking && doubleBooking.violations > 0)
      assert.match(doubleBooking.witness?.[0] ?? "", /^seat \d+: order O[0-9a-f]{16} \[0,1\) overlaps order O[0-9a-f]{16} \[0,1\)$/)
      const [held] = await server.run(storeQuery<{ n: number }>("SELECT COUNT(*) AS n FROM orders WHERE state = 'held'"))
      assert.ok(Number(held?.n) > 1)
    })
  })
})
