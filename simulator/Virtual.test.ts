/**
 * The server of a virtual run (`virtualServer`): the simulated bank is one party for the web handler, the
 * handler that replaces it after a crash, and the sweepers. A kiosk card payment cut off by a crash after the
 * bank captured is given back by the sweeper at that bank, and the card still pays after the restart. A run that
 * fails still releases its server and store (the run's scope).
 */
import assert from "node:assert/strict"
import { test } from "node:test"
import { FetchHttpClient } from "@effect/platform"
import * as SqlClient from "@effect/sql/SqlClient"
import { Cause, Context, Effect, Exit, Layer, Random, Runtime } from "effect"
import { makeClient, serverBaseUrl } from "../devices/Client.js"
import { defaultSettings } from "../reference/Config.js"
import type { StationCode } from "../reference/Domain.js"
import { Payments } from "../reference/payments/Payments.js"
import type { CardToken } from "../reference/payments/Payments/BankPort.js"
import { SimulatedBank } from "../reference/Simulated/Bank.js"
import { SqliteDatabase, sqliteStore, temporaryDatabase } from "../reference/Store/Sqlite.js"
import { issueCard, newKiosk } from "../reference/testing/Payments.js"
import { createRun } from "../reference/testing/TestServer.js"
import { smallScenario } from "./testing/smallScenario.js"
import { maxInMemoryStorePassengers, runtimeInScope, virtualRun, virtualServer, virtualStoreOf } from "./Virtual.js"
import { VirtualClock } from "./VirtualClock.js"

const startMs = Date.parse("2027-01-28T07:00:00+08:00")
const cardBalanceFen = 100_000
const fareFenPerSegment = 12_500
/** every transaction waits this long at the disk, so the payment's capture parks before its commit */
const storeDelayMs = 1_000
const settings = { passwordHashCostN: 256, cardAuthorisationTimeoutMs: 60_000 }

test("a card payment cut off by a crash after the bank captured is reversed by the sweeper at the same bank; the card pays after the restart", async () => {
  const clock = new VirtualClock(startMs)
  const seen: { firstPayment?: string; secondPayment?: string; voided?: number; cardToken?: CardToken } = {}
  const { cutOff, states, card } = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const storeContext = yield* Layer.build(sqliteStore({ filename: ":memory:" }))
    const sql = Context.get(storeContext, SqlClient.SqlClient)
    const { web, services } = yield* virtualServer(settings, Layer.succeedContext(storeContext), clock, Random.make("virtual-server-test"))
    const devices = yield* runtimeInScope(Layer.mergeAll(
      FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch,
        (input: string | URL | Request, init?: RequestInit) => clock.trackExternal(web.fetch(input, init))))),
      Layer.setClock(clock.clock), Layer.setScheduler(clock.scheduler)
    ))

    clock.spawn(startMs, devices, Effect.gen(function* () {
      const run = yield* createRun(serverBaseUrl, { trainCode: "K501", stations: ["SHH", "BJP"], seatCount: 10, fareFenPerSegment })
      const kiosk = yield* newKiosk(serverBaseUrl, "kiosk-shh-1", "SHH")
      const card = yield* issueCard(serverBaseUrl, { balanceFen: cardBalanceFen })
      seen.cardToken = card.token
      const admin = yield* makeClient(serverBaseUrl, { "x-admin-key": defaultSettings.adminKey })
      const buy = (key: string) => Effect.gen(function* () {
        const order = yield* kiosk.client.kiosk.holdWalkUp({ payload: { runId: run.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode } })
        return yield* kiosk.client.kiosk.payByCard({
          path: { orderId: order.orderId }, headers: { "idempotency-key": key }, payload: { cardToken: card.token, pinBlock: card.pinBlock }
        })
      })
      yield* admin.backup.setStoreConditions({ payload: { delayMs: storeDelayMs } })
      const first = yield* Effect.either(buy("pay-before-crash"))
      seen.firstPayment = first._tag === "Left" ? first.left._tag : first.right.state
      // the handler that replaced the killed one knows the card, as the bank outside the server does
      const second = yield* Effect.either(buy("pay-after-restart"))
      seen.secondPayment = second._tag === "Left" ? `${second.left._tag}${"reason" in second.left ? `:${String(second.left.reason)}` : ""}` : second.right.state
    }))

    // the crash: as soon as the bank's authorisation is recorded and the capture waits at the slow disk
    clock.spawn(startMs, services, Effect.gen(function* () {
      for (;;) {
        yield* Effect.sleep(100)
        const [payment] = yield* sql<{ authorisation_id: string | null }>`SELECT authorisation_id FROM card_payments WHERE state = 'authorising'`
        if (payment?.authorisation_id) break
      }
      yield* web.crashAction.start()
      yield* web.crashAction.end()
      // the sweeper, once the reservation has timed out
      yield* Effect.sleep(settings.cardAuthorisationTimeoutMs + 1_000)
      seen.voided = yield* Effect.flatMap(Payments, (payments) => payments.voidTimedOutReservations)
    }))

    yield* Effect.promise(() => clock.run())
    const runInServer = Runtime.runPromise(services)
    return {
      cutOff: web.cutOff,
      states: yield* Effect.promise(() => runInServer(sql<{ state: string }>`SELECT state FROM card_payments ORDER BY created_at_ms`)),
      card: seen.cardToken === undefined ? undefined
        : yield* Effect.promise(() => runInServer(Effect.flatMap(SimulatedBank, (bank) => bank.cardState(seen.cardToken!))))
    }
  })))
  assert.equal(cutOff, 1, "the payment was in flight when the server was killed")
  assert.equal(seen.firstPayment, "RequestError")
  assert.equal(seen.secondPayment, "issued")
  assert.equal(seen.voided, 1)
  assert.deepEqual(states.map((row) => row.state), ["voided", "captured"])
  // the first capture given back, the second kept: one fare taken from the card
  assert.deepEqual(card, { balanceFen: cardBalanceFen - fareFenPerSegment, heldFen: 0, lost: false })
})

test("a virtual run that fails releases what its scope acquired: the store is closed once the run has failed", async () => {
  let sql: SqlClient.SqlClient | undefined
  const store = sqliteStore({ filename: ":memory:" }).pipe(Layer.tap((context) => Effect.sync(() => { sql = Context.get(context, SqlClient.SqlClient) })))
  // a journey dies: the history's listener throws from inside the journey's fiber at its 20th event
  const boom = new Error("the listener failed")
  let events = 0
  const onHistoryEvent = () => { if (++events === 20) throw boom }
  const exit = await Effect.runPromiseExit(Effect.scoped(virtualRun(smallScenario, 7, undefined, { onHistoryEvent }, store)))
  assert.ok(Exit.isFailure(exit), "the run failed")
  const failure = Cause.squash(exit.cause)
  assert.ok(Cause.isCause(failure) && Cause.squash(failure) === boom, "with the journey's cause")
  assert.ok(sql !== undefined, "the store was built")
  const afterRun = await Effect.runPromiseExit(sql`SELECT 1 AS one`)
  assert.ok(Exit.isFailure(afterRun), "the store's connection was closed by the run's scope")
})

test("a run keeps its store in memory up to maxInMemoryStorePassengers passengers, and in SQLite's temporary database past it", async () => {
  const filenameOf = (passengers: number) =>
    Effect.runPromise(Effect.scoped(Effect.map(Layer.build(virtualStoreOf(passengers)), (context) => Context.get(context, SqliteDatabase).filename)))
  assert.equal(await filenameOf(maxInMemoryStorePassengers), ":memory:")
  assert.equal(await filenameOf(maxInMemoryStorePassengers + 1), temporaryDatabase)
})
