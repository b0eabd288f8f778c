/**
 * The crash test (invariant payment-ends-in-one-ticket, docs/design.md): `chunyun serve` is a child process on a durable store; customers
 * pay over HTTP while it SIGKILLs itself at a named fault point (reference/FaultPoints.ts) or is SIGKILLed by
 * the test at a random instant. Each restart on the same store must finish every captured-but-unissued
 * order, and at the end the auditor finds nothing, every payment answered 201 ends issued with the ticket it
 * named, and every payment cut off by the crash either committed and was issued, or left no trace.
 *
 * The normal suite runs `quickKillPoints`; `CHUNYUN_CRASH_FULL=1` runs all `fullKillPoints` (23 fault
 * points at distinct hits plus 3 random instants).
 */
import assert from "node:assert/strict"
import { setTimeout as sleep } from "node:timers/promises"
import { after, before, describe, test } from "node:test"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect } from "effect"
import type { Fen, OrderId, RunId, StationCode, TrainCode } from "./Domain.js"
import { crashLine } from "./FaultPoints.js"
import type { CrashAt } from "./Settings/Faults.js"
import { auditViolations, openDurableStore, spawnServer, storeRuntime } from "./testing/Ops.js"
import type { ChildServer, DurableStore } from "./testing/Ops.js"
import { adminClient, customerClient, departingSoon, newCustomer, storeQuery, testPasswordHashCostN, waitUntil } from "./testing/TestServer.js"
import type { TestCustomer } from "./testing/TestServer.js"
import { testStoreKind } from "./testing/TestStore.js"

type KillPoint = { readonly kind: "fault"; readonly crashAt: CrashAt } | { readonly kind: "random"; readonly afterMs: number }
const fault = (point: CrashAt["point"], hit: number): KillPoint => ({ kind: "fault", crashAt: { point, hit } })

/**
 * In this order, so each sweep point finds a row the crash before it left pending (pay.after-commit kills
 * after the commit and before the issue; issue.after-claim rolls its claim back), and the issue points at
 * hit 1 after such a crash are hit by the restarted server's own sweeper, a crash during recovery.
 */
const fullKillPoints: ReadonlyArray<KillPoint> = [
  fault("pay.before-transaction", 1), fault("pay.after-transfer", 1), fault("pay.before-outbox", 2),
  fault("pay.before-commit", 1), fault("pay.after-commit", 1), fault("sweep.before-issue", 1),
  fault("pay.after-commit", 4), fault("sweep.after-issue", 1), fault("issue.after-claim", 2),
  fault("issue.after-ticket-insert", 3), fault("issue.before-commit", 3), fault("issue.after-commit", 2),
  { kind: "random", afterMs: 150 }, fault("pay.after-transfer", 5), fault("pay.before-commit", 7),
  fault("pay.after-commit", 10), fault("issue.after-claim", 1), fault("issue.after-ticket-insert", 1),
  fault("issue.before-commit", 1), fault("issue.after-commit", 1), { kind: "random", afterMs: 420 },
  fault("pay.before-outbox", 9), fault("pay.before-transaction", 12), fault("pay.after-commit", 20),
  fault("pay.before-commit", 3), { kind: "random", afterMs: 700 }
]
const quickKillPoints: ReadonlyArray<KillPoint> = [
  fault("pay.after-transfer", 1), fault("pay.after-commit", 2), fault("sweep.before-issue", 1),
  fault("issue.after-ticket-insert", 2), fault("issue.after-commit", 1), { kind: "random", afterMs: 300 }
]
const killPoints = process.env.CHUNYUN_CRASH_FULL === "1" ? fullKillPoints : quickKillPoints

const payingCustomers = 12
/** a worker stops after this many orders in one life of the server (a point never reached fails the test) */
const maxOrdersPerWorkerPerLife = 40
const coaches = 20
const seatsPerCoach = 200
const farePerSegmentFen = 12_500
const topUpFen = 5_000_000
/** how long a restarted server may take to issue what the crash left */
const recoveryTimeoutMs = 20_000
/** a fault point on the paying path is reached within this much load, or the test fails */
const killTimeoutMs = 20_000

type Outcome = "answered" | "cut-off" | "refused"
interface Attempt { readonly orderId: OrderId; readonly outcome: Outcome; readonly ticketId: string | null; readonly detail: string }

/**
 * The fault points name the steps of issuing after the payment's commit (the outbox row left for the sweeper), so
 * a life with one serves `--issuance after-commit`; a random kill hits the default design (inline: the ticket in
 * the payment's own transaction). Lives of both share the store: each finishes what the other left.
 */
const serveArgs = (store: DurableStore, killPoint?: KillPoint) => [
  ...store.serveArgs, "--password-cost", String(testPasswordHashCostN),
  ...(killPoint?.kind === "fault" ? ["--crash-at", `${killPoint.crashAt.point}:${killPoint.crashAt.hit}`, "--issuance", "after-commit"] : [])
]

describe(`crash test: SIGKILL while paying, restart, audit (${killPoints.length} kill points)`, () => {
  let store: DurableStore
  let runtime: ReturnType<typeof storeRuntime>
  let customers: ReadonlyArray<TestCustomer>
  let runId: RunId
  const attempts: Array<Attempt> = []
  const children: Array<ChildServer> = []

  const start = (killPoint?: KillPoint) => {
    const child = spawnServer(serveArgs(store, killPoint))
    children.push(child)
    return child
  }
  const pendingOutbox = async () =>
    Number((await runtime.runPromise(storeQuery<{ n: number }>(
      `SELECT COUNT(*) AS n FROM outbox WHERE processed_at_ms IS NULL`)))[0]?.n ?? 0)

  before(async () => {
    store = await openDurableStore(testStoreKind())
    const setup = start()
    const baseUrl = await setup.listening
    assert.ok(baseUrl, `set-up server exited: ${setup.stderr()}`)
    const soon = departingSoon(Date.now(), 2)
    const prepared = await Effect.runPromise(Effect.gen(function* () {
      const admin = yield* adminClient(baseUrl, setup.adminKey)
      const created = yield* admin.catalog.createRun({
        payload: {
          trainCode: "G9" as TrainCode, serviceDate: soon.serviceDate,
          stops: [
            { station: "BJP" as StationCode, name: "Beijing South", departureMinuteOfDay: soon.firstDepartureMinuteOfDay },
            { station: "TJP" as StationCode, name: "Tianjin", departureMinuteOfDay: soon.firstDepartureMinuteOfDay + 5 }
          ],
          coaches: Array.from({ length: coaches }, (_, index) => ({ coach: index + 1, seatClass: "second" as const, seatCount: seatsPerCoach })),
          fareFenPerSegment: [farePerSegmentFen as Fen]
        }
      })
      const registered = yield* Effect.forEach(Array.from({ length: payingCustomers }), (_, index) =>
        Effect.tap(newCustomer(baseUrl), (customer) => customer.client.accounts.topUp({
          headers: { "idempotency-key": `crash-topup-${index}` }, payload: { amountFen: topUpFen as Fen }
        })), { concurrency: 4 })
      // one paid order per customer before any crash: their 201s must still hold after every kill
      const settled = yield* Effect.forEach(registered, (customer, index) => Effect.gen(function* () {
        const order = yield* customer.client.orders.hold({ payload: { runId: created.runId, fromStation: "BJP" as StationCode, toStation: "TJP" as StationCode } })
        const paid = yield* customer.client.accounts.pay({
          path: { orderId: order.orderId }, headers: { "idempotency-key": `crash-setup-${index}` }, payload: { paymentPassword: customer.paymentPassword }
        })
        return { orderId: order.orderId, outcome: "answered" as const, ticketId: paid.ticketId, detail: "before the first crash" }
      }), { concurrency: 4 })
      return { runId: created.runId, registered, settled }
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
    runId = prepared.runId
    customers = prepared.registered
    attempts.push(...prepared.settled)
    await setup.stop()
    runtime = storeRuntime(store.layer)
  })

  after(async () => {
    for (const child of children) if (!child.hasExited()) child.process.kill("SIGKILL")
    await Promise.all(children.map((child) => child.exited))
    await runtime?.dispose()
    await store?.release()
  })

  /** Every worker holds and pays until the server is gone; each payment's answer is recorded. */
  const driveLoad = (baseUrl: string, child: ChildServer, life: number) =>
    Effect.forEach(customers, (customer, worker) => Effect.gen(function* () {
      const client = yield* customerClient(baseUrl, customer.token)
      for (let index = 0; index < maxOrdersPerWorkerPerLife && !child.hasExited(); index++) {
        const held = yield* Effect.either(client.orders.hold({ payload: { runId, fromStation: "BJP" as StationCode, toStation: "TJP" as StationCode } }))
        if (held._tag === "Left") return
        const orderId = held.right.orderId
        const paid = yield* Effect.either(client.accounts.pay({
          path: { orderId }, headers: { "idempotency-key": `crash-${life}-${worker}-${index}` },
          payload: { paymentPassword: customer.paymentPassword }
        }))
        if (paid._tag === "Right") {
          attempts.push({ orderId, outcome: "answered", ticketId: paid.right.ticketId, detail: "" })
          continue
        }
        const error = paid.left
        const cutOff = error._tag === "RequestError" || error._tag === "ResponseError"
        attempts.push({ orderId, outcome: cutOff ? "cut-off" : "refused", ticketId: null, detail: error._tag })
        if (cutOff) return
      }
    }), { concurrency: "unbounded", discard: true }).pipe(Effect.provide(NodeHttpClient.layerUndici))

  /** After a restart: the outbox drains, the auditor finds nothing, and every payment's answer agrees with the store. */
  const assertRecovered = async (context: string) => {
    assert.ok(await waitUntil(async () => (await pendingOutbox()) === 0, recoveryTimeoutMs),
      `${context}: the restarted server left ${await pendingOutbox()} outbox rows unissued`)
    assert.deepEqual(await runtime.runPromise(auditViolations), [], `${context}: the auditor found violations`)
    const rows = await runtime.runPromise(storeQuery<{ id: string; state: string; ticket_id: string | null; transfers: number }>(
      `SELECT o.id, o.state, k.id AS ticket_id,
         (SELECT COUNT(*) FROM transfers t WHERE t.order_id = o.id AND t.purpose = 'order-payment') AS transfers
       FROM orders o LEFT JOIN tickets k ON k.order_id = o.id`))
    const byId = new Map(rows.map((row) => [row.id, row]))
    for (const attempt of attempts) {
      const row = byId.get(attempt.orderId)
      assert.ok(row, `${context}: order ${attempt.orderId} missing`)
      const captured = Number(row.transfers) === 1
      if (attempt.outcome === "answered") {
        assert.equal(row.state, "issued", `${context}: order ${attempt.orderId} was answered 201 but is ${row.state}`)
        if (attempt.ticketId !== null) assert.equal(row.ticket_id, attempt.ticketId, `${context}: the 201 named another ticket`)
      } else if (attempt.outcome === "refused") {
        assert.equal(captured, false, `${context}: order ${attempt.orderId} was refused (${attempt.detail}) yet captured`)
      }
      // a captured payment is issued with one ticket; an uncaptured one has no ticket and is not issued
      assert.equal(captured, row.state === "issued" && row.ticket_id !== null,
        `${context}: order ${attempt.orderId}: ${row.transfers} payments, state ${row.state}, ticket ${row.ticket_id}`)
    }
    const [centre] = await runtime.runPromise(storeQuery<{ balance_fen: number }>(`SELECT balance_fen FROM account_balances WHERE id = 'centre'`))
    const [issued] = await runtime.runPromise(storeQuery<{ n: number }>(`SELECT COUNT(*) AS n FROM orders WHERE state = 'issued'`))
    assert.equal(Number(centre?.balance_fen), Number(issued?.n) * farePerSegmentFen, `${context}: the centre holds other than the fares of the issued orders`)
  }

  test("every kill point: the process dies by SIGKILL there, and the next server finishes what it left", { timeout: 600_000 }, async () => {
    const pairs = killPoints.flatMap((point) => point.kind === "fault" ? [`${point.crashAt.point}:${point.crashAt.hit}`] : [])
    assert.equal(new Set(pairs).size, pairs.length, "each fault point is listed at a distinct hit")
    for (const [life, killPoint] of killPoints.entries()) {
      const context = `life ${life} (${killPoint.kind === "fault" ? `${killPoint.crashAt.point}:${killPoint.crashAt.hit}` : `random kill after ${killPoint.afterMs} ms`})`
      if (killPoint.kind === "fault" && killPoint.crashAt.point.startsWith("sweep.")) {
        assert.ok((await pendingOutbox()) >= killPoint.crashAt.hit, `${context}: the crash before left no pending outbox row for the sweeper`)
      }
      const lifeStartMs = performance.now()
      const child = start(killPoint)
      const baseUrl = await child.listening
      if (process.env.CHUNYUN_CRASH_TRACE === "1") console.log(`${context}: listening after ${Math.round(performance.now() - lifeStartMs)} ms`)
      // a point on the paying path leaves recovery alone: check this life's server finished the last one's orders
      if (baseUrl !== undefined && (killPoint.kind === "random" || killPoint.crashAt.point.startsWith("pay."))) {
        await assertRecovered(`${context}, on restart`)
      }
      if (baseUrl !== undefined && killPoint.kind === "random") {
        void sleep(killPoint.afterMs).then(() => child.process.kill("SIGKILL"))
      }
      if (baseUrl !== undefined) {
        const load = Effect.runPromise(driveLoad(baseUrl, child, life))
        const patience = new AbortController()
        const died = await Promise.race([
          child.exited.then(() => true),
          sleep(killTimeoutMs, undefined, { signal: patience.signal }).then(() => false, () => false)
        ])
        patience.abort()
        await load
        assert.ok(died, `${context}: the server was still alive after ${killTimeoutMs} ms of load`)
      }
      const exit = await child.exited
      assert.equal(exit.signal, "SIGKILL", `${context}: exited ${JSON.stringify(exit)} rather than by SIGKILL; stderr: ${child.stderr()}`)
      if (process.env.CHUNYUN_CRASH_TRACE === "1") console.log(`${context}: dead after ${Math.round(performance.now() - lifeStartMs)} ms`)
      if (killPoint.kind === "fault") assert.ok(child.stderr().includes(crashLine(killPoint.crashAt)), `${context}: died elsewhere: ${child.stderr()}`)
    }
    // a clean restart: the sweeper finishes every captured-but-unissued order
    const final = start()
    assert.ok(await final.listening, `the final server exited: ${final.stderr()}`)
    await assertRecovered("after the last kill")
    const cutOff = attempts.filter((attempt) => attempt.outcome === "cut-off").length
    assert.ok(cutOff > 0, "no payment was cut off by a crash: the test drove no real crash")
    const exit = await final.stop()
    assert.equal(exit.signal === null ? exit.code : exit.signal, 0, `the final server did not stop cleanly: ${final.stderr()}`)
  })
})
