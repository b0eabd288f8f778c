/**
 * Chosen seats (seed 004 [0062], [0065]: the buyer picks the seat; the seat is locked "confirmed, pending
 * payment" so no two buyers get it, and the earlier booking wins) through every seat inventory variant:
 * the safe ones never give one seat-segment twice, the unsafe one still double-books when allowed.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Effect, Either } from "effect"
import { audit } from "../../simulator/Auditor.js"
import { History } from "../../simulator/History.js"
import type { StationCode } from "../Domain.js"
import { safeInventoryVariants } from "../Settings/Holds.js"
import { createRun, newCustomer, rawRequest, withTestServer } from "../testing/TestServer.js"
import type { TestCustomer, TestRun, TestServer } from "../testing/TestServer.js"

const crowdSize = 60
const registrationBatchSize = 20
const maxUnsafeRounds = 5

const crowd = (server: TestServer, size: number) =>
  server.run(Effect.forEach(Array.from({ length: size }), () => newCustomer(server.baseUrl), { concurrency: registrationBatchSize }))

const holdSeat = (customer: TestCustomer, run: TestRun, from: string, to: string, seatCode: string) =>
  customer.client.orders.hold({
    payload: { runId: run.runId, fromStation: from as StationCode, toStation: to as StationCode, seat: { coach: 1, seatCode } }
  })

const noDoubleBooking = async (server: TestServer) => {
  const invariants = await server.run(audit(new History()))
  assert.equal(invariants.find((invariant) => invariant.name === "no-double-booking")?.violations, 0)
}

for (const variant of safeInventoryVariants) {
  describe(`chosen seats, ${variant} inventory`, () => {
    test("the chosen seat is the one held; taken on an overlapping segment it is SeatTaken (409), free on a disjoint one", async () => {
      await withTestServer({ inventory: variant }, async (server) => {
        const [first, second, third] = await crowd(server, 3)
        const run = await server.run(createRun(server.baseUrl, { trainCode: "G500", stations: ["AAA", "BBB", "CCC", "DDD"], seatCount: 10 }))
        const chosen = await server.run(holdSeat(first!, run, "AAA", "CCC", "02B"))
        assert.deepEqual([chosen.coach, chosen.seatCode], [1, "02B"])
        for (const [from, to] of [["AAA", "BBB"], ["BBB", "DDD"], ["AAA", "DDD"]] as const) {
          const raw = await rawRequest(server.baseUrl, "POST", "/orders", {
            headers: { authorization: `Bearer ${second!.token}` },
            body: { runId: run.runId, fromStation: from, toStation: to, seat: { coach: 1, seatCode: "02B" } }
          })
          assert.equal(raw.status, 409, `${from}→${to}`)
          assert.deepEqual(raw.json, { _tag: "SeatTaken", runId: run.runId, coach: 1, seatCode: "02B" })
        }
        const disjoint = await server.run(holdSeat(second!, run, "CCC", "DDD", "02B"))
        assert.equal(disjoint.seatCode, "02B")
        // any-seat holds pass the chosen seat by on its taken segments
        const any = await server.run(third!.client.orders.hold({ payload: { runId: run.runId, fromStation: "AAA" as StationCode, toStation: "DDD" as StationCode } }))
        assert.notEqual(any.seatCode, "02B")
        await noDoubleBooking(server)
      })
    })

    test("a seat that is not on the run is UnknownSeat (422); a class the run lacks is UnknownSeatClass (422)", async () => {
      await withTestServer({ inventory: variant }, async (server) => {
        const [customer] = await crowd(server, 1)
        const run = await server.run(createRun(server.baseUrl, { trainCode: "G501", stations: ["AAA", "BBB"], seatCount: 5 }))
        for (const body of [
          { seat: { coach: 1, seatCode: "09A" } },
          { seat: { coach: 7, seatCode: "01A" } },
          { seat: { coach: 1, seatCode: "01A" }, seatClass: "first" }
        ]) {
          const raw = await rawRequest(server.baseUrl, "POST", "/orders", {
            headers: { authorization: `Bearer ${customer!.token}` }, body: { runId: run.runId, fromStation: "AAA", toStation: "BBB", ...body }
          })
          assert.equal(raw.status, 422, JSON.stringify(body))
          assert.equal((raw.json as { _tag: string })._tag, body.seatClass ? "UnknownSeatClass" : "UnknownSeat", JSON.stringify(body))
        }
        const sameClass = await server.run(customer!.client.orders.hold({
          payload: { runId: run.runId, fromStation: "AAA" as StationCode, toStation: "BBB" as StationCode, seatClass: "second", seat: { coach: 1, seatCode: "01D" } }
        }))
        assert.equal(sameClass.seatCode, "01D")
      })
    })

    test(`${crowdSize} buyers choose one seat at once: one wins, the rest are SeatTaken, and the earlier hold stands`, async () => {
      await withTestServer({ inventory: variant }, async (server) => {
        const customers = await crowd(server, crowdSize)
        const run = await server.run(createRun(server.baseUrl, { trainCode: "G502", stations: ["AAA", "BBB", "CCC"], seatCount: 20 }))
        const results = await server.run(Effect.forEach(customers, (customer) => Effect.either(holdSeat(customer, run, "AAA", "CCC", "03C")),
          { concurrency: "unbounded" }))
        const winners = results.filter(Either.isRight).map((result) => result.right)
        assert.equal(winners.length, 1)
        for (const result of results) if (Either.isLeft(result)) assert.equal(result.left._tag, "SeatTaken")
        // a later booking never displaces the earlier one
        const late = await server.run(Effect.flip(holdSeat(customers[0]!, run, "BBB", "CCC", "03C")))
        assert.equal(late._tag, "SeatTaken")
        const winner = winners[0]!
        const owner = customers.find((customer) => results[customers.indexOf(customer)]!._tag === "Right")!
        const still = await server.run(owner.client.orders.getOrder({ path: { orderId: winner.orderId } }))
        assert.deepEqual([still.state, still.seatCode, still.heldAtMs], ["held", "03C", winner.heldAtMs])
        await noDoubleBooking(server)
      })
    })

    test("buyers choosing one seat on four disjoint segments at once all get it", async () => {
      await withTestServer({ inventory: variant }, async (server) => {
        const customers = await crowd(server, 4)
        const stations = ["AAA", "BBB", "CCC", "DDD", "EEE"]
        const run = await server.run(createRun(server.baseUrl, { trainCode: "G503", stations, seatCount: 3 }))
        const results = await server.run(Effect.all(customers.map((customer, index) =>
          holdSeat(customer, run, stations[index]!, stations[index + 1]!, "01A")), { concurrency: "unbounded" }))
        assert.deepEqual(results.map((order) => order.seatCode), ["01A", "01A", "01A", "01A"])
        await noDoubleBooking(server)
      })
    })
  })
}

describe("chosen seats, unsafe inventory", () => {
  test("when allowed, a crowd choosing one seat double-books it and the auditor reports it", async () => {
    await withTestServer({ inventory: "unsafe", allowUnsafeInventory: true }, async (server) => {
      const customers = await crowd(server, crowdSize)
      let winners = 0
      for (let round = 0; round < maxUnsafeRounds && winners <= 1; round++) {
        const run = await server.run(createRun(server.baseUrl, { trainCode: `G51${round}`, stations: ["AAA", "BBB"], seatCount: 5 }))
        const results = await server.run(Effect.forEach(customers, (customer) => Effect.either(holdSeat(customer, run, "AAA", "BBB", "01C")),
          { concurrency: "unbounded" }))
        winners = results.filter(Either.isRight).length
      }
      assert.ok(winners > 1, `expected a double booking within ${maxUnsafeRounds} rounds, got ${winners} winner(s)`)
      const invariants = await server.run(audit(new History()))
      assert.ok((invariants.find((invariant) => invariant.name === "no-double-booking")?.violations ?? 0) > 0)
    })
  })
})
