/**
 * Scale-out on PostgreSQL under Read Committed: four `chunyun serve` processes on one database, and
 * customers spread over them racing over real HTTP. One seat goes to exactly one of a crowd; segments of
 * a seat never overlap, and a hold is refused only when every seat really is taken on its segments;
 * one idempotency key charges once whichever processes its retries reach. The auditor's SQL then runs
 * against the same database. Runs in the PostgreSQL pass of `npm test` (CHUNYUN_TEST_STORE=postgres).
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { NodeHttpClient } from "@effect/platform-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, ManagedRuntime } from "effect"
import { audit } from "../../simulator/Auditor.js"
import { History } from "../../simulator/History.js"
import { startServerProcess } from "../../simulator/Real.js"
import { generateServeSecrets } from "../ServeSecrets.js"
import type { ServerProcess } from "../../simulator/Real.js"
import type { Order } from "../ticketing/Orders/Api.js"
import { segmentMask } from "../ticketing/Orders/Repo.js"
import { bearer, createRun, newCustomer, rawRequest, tagOf, testPasswordHashCostN } from "../testing/TestServer.js"
import type { RawResponse, TestCustomer, TestRun } from "../testing/TestServer.js"
import { freshTestSchema, testStoreKind } from "../testing/TestStore.js"
import type { TestSchema } from "../testing/TestStore.js"
import { loader } from "./migrations.js"
import { postgresStore } from "./Postgres.js"
import { testCliEntry } from "../testing/Ops.js"

const processCount = 4
/** customers racing for one seat: a quarter through each process */
const crowdSize = 80
const registrationBatchSize = 20
/** as many seats as customers racing for them: every one must get a seat */
const seatsForAll = 40
const cliEntry = testCliEntry
/** five stops: the ten journeys between them overlap in every way two segments can */
const segmentStations = ["AAA", "BBB", "CCC", "DDD", "EEE"] as const
const segmentSeats = 2
const customersPerJourney = 3
const journeyFareFen = 10_000
/** stores opened on one empty schema at once, in this process */
const concurrentStarts = 8

const skip = testStoreKind() === "postgres" ? false : "runs in the PostgreSQL pass (CHUNYUN_TEST_STORE=postgres)"

interface Journey { readonly from: number; readonly to: number }
const journeys: ReadonlyArray<Journey> = segmentStations.flatMap((_, from) =>
  segmentStations.slice(from + 1).map((__, offset) => ({ from, to: from + 1 + offset })))
const overlaps = (a: Journey, b: Journey) => a.from < b.to && b.from < a.to

describe("PostgreSQL: four server processes on one database", { skip }, () => {
  let schema: TestSchema
  let crowd: ReadonlyArray<TestCustomer> = []
  let servers: Array<ServerProcess> = []
  const devices = ManagedRuntime.make(NodeHttpClient.layerUndici)
  /** if this process exits without `after` (a crash), the servers must not outlive it */
  const killLeftovers = () => {
    for (const server of servers) {
      try {
        if (server.pid !== undefined) process.kill(server.pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
  }
  /** one pair for the four processes: they serve one store, as one service */
  const secrets = generateServeSecrets()
  /** the server process that request number `index` goes to */
  const via = (index: number) => servers[index % servers.length]!.baseUrl

  before(async () => {
    schema = await freshTestSchema()
    // all four at once on an empty schema: migrations must not race
    const started = await Promise.allSettled(Array.from({ length: processCount }, () => startServerProcess(cliEntry, [
      "--port", "0", "--host", "127.0.0.1", "--store", schema.url, "--password-cost", String(testPasswordHashCostN)
    ], [], secrets)))
    servers = started.flatMap((outcome) => outcome.status === "fulfilled" ? [outcome.value] : [])
    process.on("exit", killLeftovers)
    const failed = started.find((outcome) => outcome.status === "rejected")
    if (failed) throw failed.reason
  })

  after(async () => {
    await Promise.all(servers.map((server) => server.stop()))
    process.off("exit", killLeftovers)
    await devices.dispose()
    await schema?.drop()
  })

  const register = (count: number) => devices.runPromise(Effect.forEach(
    Array.from({ length: count }, (_, index) => index), (index) => newCustomer(via(index)), { concurrency: registrationBatchSize }
  ))
  const hold = (customer: TestCustomer, index: number, run: TestRun, journey: Journey) =>
    rawRequest(via(index), "POST", "/orders", {
      headers: bearer(customer.token),
      body: { runId: run.runId, fromStation: run.stations[journey.from], toStation: run.stations[journey.to] }
    })
  const withStore = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
    Effect.runPromise(Effect.provide(effect, postgresStore({ url: schema.url })))

  test(`${concurrentStarts} stores opened at once on an empty schema: one migrates, the others find it migrated`, async () => {
    const empty = await freshTestSchema()
    try {
      // every migration the loader knows, each applied once
      const migrationCount = (await Effect.runPromise(loader)).length
      const count = Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ migrations: number }>`SELECT COUNT(*) AS migrations FROM effect_sql_migrations`)
      // settled, not raced: the schema is dropped only after every store has finished with it
      const outcomes = await Promise.allSettled(Array.from({ length: concurrentStarts }, () =>
        Effect.runPromise(Effect.provide(count, postgresStore({ url: empty.url })))))
      for (const outcome of outcomes) {
        assert.equal(outcome.status, "fulfilled", outcome.status === "rejected" ? String(outcome.reason) : "")
        if (outcome.status === "fulfilled") assert.deepEqual(outcome.value.map((row) => Number(row.migrations)), [migrationCount])
      }
    } finally {
      await empty.drop()
    }
  })

  test("every connection runs at Read Committed, the default this proof is about", async () => {
    const [setting] = await withStore(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ transaction_isolation: string }>`SHOW transaction_isolation`))
    assert.equal(setting?.transaction_isolation, "read committed")
  })

  test(`${crowdSize} concurrent holds for one seat through ${processCount} processes: one wins, the rest are SoldOut (409)`, async () => {
    crowd = await register(crowdSize)
    const run = await devices.runPromise(createRun(via(0), { adminKey: secrets.adminKey, trainCode: "G700", stations: ["BJP", "TJP"], seatCount: 1 }))
    const responses = await Promise.all(crowd.map((customer, index) => hold(customer, index, run, { from: 0, to: 1 })))

    const statuses = responses.map((response) => response.status)
    assert.equal(statuses.filter((status) => status === 201).length, 1, `statuses: ${statuses.join(" ")}`)
    for (const response of responses.filter((candidate) => candidate.status !== 201)) {
      assert.equal(response.status, 409, response.text)
      assert.equal(tagOf(response.json), "SoldOut")
    }
    const [stored] = await withStore(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ orders: number; mask: number }>`
      SELECT (SELECT COUNT(*) FROM orders WHERE run_id = ${run.runId}) AS orders,
             (SELECT occupied_mask FROM seats WHERE run_id = ${run.runId}) AS mask`))
    assert.deepEqual(stored, { orders: 1, mask: 1 })
  })

  test(`${seatsForAll} concurrent holds for ${seatsForAll} seats: every one gets a seat (a claim that lost its first pick takes the next)`, async () => {
    const run = await devices.runPromise(createRun(via(3), { adminKey: secrets.adminKey, trainCode: "G703", stations: ["BJP", "TJP"], seatCount: seatsForAll }))
    const responses = await Promise.all(crowd.slice(0, seatsForAll).map((customer, index) => hold(customer, index, run, { from: 0, to: 1 })))
    assert.deepEqual(responses.map((response) => response.status), responses.map(() => 201), responses.map((response) => response.text).join("\n"))
    assert.equal(new Set(responses.map((response) => (response.json as Order).seatCode)).size, seatsForAll)
  })

  test(`all ${journeys.length} journeys of a ${segmentStations.length}-stop run at once on ${segmentSeats} seats: no overlap, no needless refusal`, async () => {
    const attempts = journeys.flatMap((journey) => Array.from({ length: customersPerJourney }, () => journey))
    const customers = await register(attempts.length)
    const run = await devices.runPromise(createRun(via(1), { adminKey: secrets.adminKey,
      trainCode: "G701", stations: segmentStations, seatCount: segmentSeats, fareFenPerSegment: journeyFareFen
    }))
    const responses: ReadonlyArray<RawResponse> = await Promise.all(attempts.map((journey, index) => hold(customers[index]!, index, run, journey)))

    const wins = new Map<string, Array<Journey>>()
    const refused: Array<Journey> = []
    responses.forEach((response, index) => {
      const journey = attempts[index]!
      if (response.status === 201) {
        const order = response.json as Order
        wins.set(order.seatCode, [...(wins.get(order.seatCode) ?? []), journey])
      } else {
        assert.equal(tagOf(response.json), "SoldOut", `${response.status} ${response.text}`)
        refused.push(journey)
      }
    })
    assert.ok(wins.size > 0 && wins.size <= segmentSeats, `seats won: ${[...wins.keys()].join(", ")}`)
    for (const [seat, held] of wins) {
      held.forEach((a, i) => held.slice(i + 1).forEach((b) => assert.ok(!overlaps(a, b), `seat ${seat}: [${a.from},${a.to}) and [${b.from},${b.to}) overlap`)))
    }
    // a refusal is right only if, on every seat, a winner overlaps it: else that seat was free for it
    const seatCodes = [...wins.keys()]
    const everySeat = seatCodes.length === segmentSeats
    for (const journey of refused) {
      assert.ok(everySeat, `[${journey.from},${journey.to}) was refused while a seat had no holder`)
      for (const seat of seatCodes) {
        assert.ok(wins.get(seat)!.some((held) => overlaps(held, journey)), `[${journey.from},${journey.to}) was refused, but seat ${seat} was free on it`)
      }
    }
    const masks = await withStore(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ seat_code: string; occupied_mask: number }>`
      SELECT seat_code, occupied_mask FROM seats WHERE run_id = ${run.runId} ORDER BY seat_code`))
    for (const row of masks) {
      const union = (wins.get(row.seat_code) ?? []).reduce((mask, held) => mask | segmentMask(held.from, held.to), 0)
      assert.equal(row.occupied_mask, union, `seat ${row.seat_code}`)
    }
  })

  test("one idempotency key sent to every process at once: one top-up, one payment, one ticket", async () => {
    const [buyer] = await register(1)
    const run = await devices.runPromise(createRun(via(2), { adminKey: secrets.adminKey, trainCode: "G702", stations: ["BJP", "TJP"], seatCount: 3 }))
    const held = await hold(buyer!, 0, run, { from: 0, to: 1 })
    assert.equal(held.status, 201, held.text)
    const order = held.json as Order

    const topUps = await Promise.all(servers.map((_, index) => rawRequest(via(index), "POST", "/wallet/top-ups", {
      headers: { ...bearer(buyer!.token), "idempotency-key": "pg-topup-key-1" }, body: { amountFen: order.priceFen }
    })))
    assert.deepEqual(topUps.map((response) => response.status), servers.map(() => 201), topUps.map((response) => response.text).join("\n"))
    assert.equal(new Set(topUps.map((response) => response.text)).size, 1, "every process answers the same top-up")

    // the wallet holds exactly one fare: a second charge would be refused, not replayed
    const payments = await Promise.all(servers.map((_, index) => rawRequest(via(index + 1), "POST", `/orders/${order.orderId}/payment`, {
      headers: { ...bearer(buyer!.token), "idempotency-key": "pg-pay-key-1" }, body: { paymentPassword: buyer!.paymentPassword }
    })))
    assert.deepEqual(payments.map((response) => response.status), servers.map(() => 201), payments.map((response) => response.text).join("\n"))
    const transferIds = new Set(payments.map((response) => (response.json as { transferId: string }).transferId))
    assert.equal(transferIds.size, 1)
    const wallet = await rawRequest(via(3), "GET", "/wallet", { headers: bearer(buyer!.token) })
    assert.deepEqual(wallet.json, { balanceFen: 0 })
    const ticket = await rawRequest(via(0), "GET", `/orders/${order.orderId}/ticket`, { headers: bearer(buyer!.token) })
    assert.equal(ticket.status, 200, ticket.text)
  })

  test("after the traffic, the auditor's SQL runs on PostgreSQL and finds every invariant holding", async () => {
    const invariants = await withStore(audit(new History()))
    assert.ok(invariants.length >= 5)
    for (const invariant of invariants) assert.equal(invariant.violations, 0, `${invariant.name}: ${invariant.witness?.join(" | ")}`)
    const [counts] = await withStore(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ orders: number; tickets: number }>`
      SELECT (SELECT COUNT(*) FROM orders) AS orders, (SELECT COUNT(*) FROM tickets) AS tickets`))
    assert.ok((counts?.orders ?? 0) > 2 && (counts?.tickets ?? 0) >= 1, `the audit read too little: ${JSON.stringify(counts)}`)
  })
})
