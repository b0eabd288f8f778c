/**
 * Two-phase transfers against the real store of a running server: a reservation moves no balance, a post
 * moves it once, a void releases it, each resolution happens once, and double entry holds after each step.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Either } from "effect"
import { centreAccountId, walletAccountId } from "../Accounts/Repo.js"
import { FenTotal } from "../../Domain.js"
import type { Fen, OrderId, StationCode, TransferId } from "../../Domain.js"
import { Ids } from "../../Ids.js"
import { gatewayClearingAccountId, TwoPhaseLedger } from "./Ledger.js"
import type { PendingPurpose } from "./Ledger.js"
import { assertLedgerConsistent, balanceOfAccount, transfersOf } from "../../testing/Payments.js"
import { createRun, newCustomer, startTestServer, storeQuery } from "../../testing/TestServer.js"
import type { TestCustomer, TestRun, TestServer } from "../../testing/TestServer.js"

const timeoutMs = 60_000

describe("two-phase ledger", () => {
  let server: TestServer
  let run: TestRun
  let buyer: TestCustomer
  before(async () => {
    server = await startTestServer()
    run = await server.run(createRun(server.baseUrl, { trainCode: "L900", stations: ["SHH", "BJP"], seatCount: 20 }))
    buyer = await server.run(newCustomer(server.baseUrl))
  })
  after(() => server.close())

  const heldOrder = async () => (await server.run(buyer.client.orders.hold({
    payload: { runId: run.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode }
  }))).orderId
  const newTransferId = () => server.run(Effect.flatMap(Ids, (ids) => ids.transferId))
  const inTransaction = <A, E>(work: (ledger: TwoPhaseLedger) => Effect.Effect<A, E, never>) =>
    server.run(Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const ledger = yield* TwoPhaseLedger
      return yield* sql.withTransaction(work(ledger))
    }).pipe(Effect.either))
  const reserve = async (orderId: OrderId, amountFen: number, debit = gatewayClearingAccountId, purpose: PendingPurpose = "gateway-payment") => {
    const id = await newTransferId()
    // the server's own sweeper voids what times out by its clock: reserve on that clock
    const nowMs = Date.now()
    const outcome = await inTransaction((ledger) => ledger.reserve({ id, debit, credit: centreAccountId, amountFen: FenTotal.make(amountFen), purpose, orderId, nowMs, timeoutMs }))
    return { id, outcome, nowMs }
  }
  const post = async (pendingId: TransferId) => {
    const transferId = await newTransferId()
    return { transferId, outcome: await inTransaction((ledger) => ledger.post(pendingId, transferId, Date.now())) }
  }
  const pendingOf = async (accountId: string) => {
    const [row] = await server.run(storeQuery<{ debits: number; credits: number }>(
      `SELECT pending_debits_fen AS debits, pending_credits_fen AS credits FROM account_balances WHERE id = ?`, accountId))
    return { debits: Number(row?.debits), credits: Number(row?.credits) }
  }

  test("reserve moves no balance; post moves it once as an order-payment transfer; nothing resolves twice", async () => {
    const orderId = await heldOrder()
    const centre = await balanceOfAccount(server, centreAccountId)
    const gatewayPending = await pendingOf(gatewayClearingAccountId)
    const { id, outcome } = await reserve(orderId, 7_000)
    assert.deepEqual(outcome, Either.right(true))
    assert.equal(await balanceOfAccount(server, centreAccountId), centre)
    assert.deepEqual(await pendingOf(gatewayClearingAccountId), { debits: gatewayPending.debits + 7_000, credits: gatewayPending.credits })
    await assertLedgerConsistent(server)

    const posted = await post(id)
    assert.deepEqual(posted.outcome, Either.right(posted.transferId))
    assert.equal(await balanceOfAccount(server, centreAccountId), centre + 7_000)
    assert.deepEqual(await pendingOf(gatewayClearingAccountId), gatewayPending)
    assert.deepEqual(await transfersOf(server, orderId), { "order-payment": 1 })
    await assertLedgerConsistent(server)

    assert.deepEqual((await post(id)).outcome, Either.right(undefined))
    assert.deepEqual(await inTransaction((ledger) => ledger.voidPending(id, Date.now())), Either.right(false))
    assert.equal(await balanceOfAccount(server, centreAccountId), centre + 7_000)
    await assertLedgerConsistent(server)
  })

  test("void releases the reservation; a voided one cannot be posted", async () => {
    const orderId = await heldOrder()
    const centre = await balanceOfAccount(server, centreAccountId)
    const { id } = await reserve(orderId, 4_000)
    assert.deepEqual(await inTransaction((ledger) => ledger.voidPending(id, Date.now())), Either.right(true))
    await assertLedgerConsistent(server)
    assert.deepEqual(await inTransaction((ledger) => ledger.voidPending(id, Date.now())), Either.right(false))
    assert.deepEqual((await post(id)).outcome, Either.right(undefined))
    assert.equal(await balanceOfAccount(server, centreAccountId), centre)
    assert.deepEqual(await transfersOf(server, orderId), {})
    await assertLedgerConsistent(server)
  })

  test("an order has one live reservation: a second one is refused and rolled back", async () => {
    const orderId = await heldOrder()
    await reserve(orderId, 3_000)
    const before = await pendingOf(gatewayClearingAccountId)
    const second = await reserve(orderId, 3_000)
    assert.ok(Either.isLeft(second.outcome))
    assert.equal(Either.isLeft(second.outcome) && second.outcome.left._tag, "LiveReservationExists")
    assert.deepEqual(await pendingOf(gatewayClearingAccountId), before)
    await assertLedgerConsistent(server)
  })

  test("a wallet cannot reserve more than its balance minus what it has reserved already", async () => {
    await server.run(buyer.client.accounts.topUp({ headers: { "idempotency-key": "ledger-topup-1" }, payload: { amountFen: 10_000 as Fen } }))
    const wallet = walletAccountId(buyer.customerId)
    const first = await reserve(await heldOrder(), 8_000, wallet, "card-payment")
    assert.deepEqual(first.outcome, Either.right(true))
    const second = await reserve(await heldOrder(), 5_000, wallet, "card-payment")
    assert.deepEqual(second.outcome, Either.right(false))
    assert.deepEqual(await pendingOf(wallet), { debits: 8_000, credits: 0 })
    const third = await reserve(await heldOrder(), 2_000, wallet, "card-payment")
    assert.deepEqual(third.outcome, Either.right(true))
    await assertLedgerConsistent(server)
  })

  test("timedOut lists only live reservations past their timeout", async () => {
    const orderId = await heldOrder()
    const { id, nowMs } = await reserve(orderId, 1_000)
    const listed = async (nowMs: number) =>
      (await server.run(Effect.flatMap(TwoPhaseLedger, (ledger) => ledger.timedOut(nowMs, 10_000)))).map((row) => row.id)
    assert.equal((await listed(nowMs + timeoutMs - 1)).includes(id), false)
    assert.equal((await listed(nowMs + timeoutMs)).includes(id), true)
    await inTransaction((ledger) => ledger.voidPending(id, nowMs))
    assert.equal((await listed(nowMs + timeoutMs)).includes(id), false)
  })
})
