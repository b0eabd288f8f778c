/**
 * Kiosk sales over real HTTP (seed 001): a walk-up passenger pays by bank card + PIN through the simulated
 * bank; declines change nothing; one capture however many concurrent attempts; print jobs with receipts
 * that survive printer faults and never print a second original; nothing of the card beyond BIN + last 4
 * reaches the store.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Either } from "effect"
import type { OrderId, StationCode } from "../../Domain.js"
import { Ids } from "../../Ids.js"
import { Payments } from "../Payments.js"
import { TwoPhaseLedger } from "./Ledger.js"
import { Bank } from "./BankPort.js"
import type { CardToken } from "./BankPort.js"
import { formatPinBlock } from "./PinBlock.js"
import {
  assertLedgerConsistent, balanceOfAccount, bankCaptures, cardState, gatewayChargeState, issueCard, newKiosk, transfersOf
} from "../../testing/Payments.js"
import type { TestCard, TestKiosk } from "../../testing/Payments.js"
import { cancelOrder } from "../../testing/Lifecycle.js"
import {
  createRun, newCustomer, newGate, rawRequest, startTestServer, storeQuery, tagOf, waitUntil, withTestServer
} from "../../testing/TestServer.js"
import type { TestRun, TestServer } from "../../testing/TestServer.js"

const fareFenPerSegment = 12_500
const journeyPriceFen = 2 * fareFenPerSegment
const concurrentAttempts = 8

describe("kiosk card payments", () => {
  let server: TestServer
  let run: TestRun
  let kiosk: TestKiosk
  let otherKiosk: TestKiosk
  before(async () => {
    server = await startTestServer()
    run = await server.run(createRun(server.baseUrl, { trainCode: "K500", stations: ["SHH", "NJH", "BJP"], seatCount: 60, fareFenPerSegment }))
    kiosk = await server.run(newKiosk(server.baseUrl, "kiosk-shh-1", "SHH"))
    otherKiosk = await server.run(newKiosk(server.baseUrl, "kiosk-shh-2", "SHH"))
  })
  after(() => server.close())

  const holdWalkUp = (passengerPhone?: string) =>
    server.run(kiosk.client.kiosk.holdWalkUp({
      payload: {
        runId: run.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode,
        ...(passengerPhone === undefined ? {} : { passengerPhone: passengerPhone as never })
      }
    }))
  const payEffect = (orderId: OrderId, key: string, card: TestCard, pinBlock = card.pinBlock, via = kiosk) =>
    via.client.kiosk.payByCard({ path: { orderId }, headers: { "idempotency-key": key }, payload: { cardToken: card.token, pinBlock } })
  const rawPay = (orderId: OrderId, key: string, body: object) =>
    rawRequest(server.baseUrl, "POST", `/kiosk/orders/${orderId}/card-payment`, {
      headers: { "x-device-key": kiosk.deviceKey, "idempotency-key": key }, body
    })
  const orderState = async (orderId: OrderId) => (await server.run(kiosk.client.kiosk.getKioskOrder({ path: { orderId } }))).state

  test("an anonymous walk-up passenger pays by card + PIN: one capture, a ticket, a receipt with BIN + last 4 only", async () => {
    const card = await server.run(issueCard(server.baseUrl, { balanceFen: 100_000 }))
    const order = await holdWalkUp()
    assert.equal(order.state, "held")
    assert.match(order.holder, /^C[0-9a-f]{16}$/, "an anonymous passenger's walk-up code")
    const centreBefore = await balanceOfAccount(server, "centre")

    const paid = await server.run(payEffect(order.orderId, "kiosk-pay-0001", card))
    assert.equal(paid.state, "issued")
    assert.notEqual(paid.ticketId, null)
    assert.equal(paid.amountFen, journeyPriceFen)
    assert.equal(paid.cardBin, card.pan.slice(0, 6))
    assert.equal(paid.cardLast4, card.pan.slice(-4))
    assert.deepEqual(await cardState(server, card.token), { balanceFen: 100_000 - journeyPriceFen, heldFen: 0, lost: false })
    assert.equal(await balanceOfAccount(server, "centre"), centreBefore + journeyPriceFen)
    assert.deepEqual(await transfersOf(server, order.orderId), { "order-payment": 1 })
    const [payment] = await server.run(storeQuery<{ debit_account_id: string }>(
      `SELECT debit_account_id FROM transfers WHERE order_id = ? AND purpose = 'order-payment'`, order.orderId))
    assert.equal(payment?.debit_account_id, "card-clearing")

    // a replay answers from the store: the bank is not asked again
    const captures = await bankCaptures(server)
    assert.deepEqual(await server.run(payEffect(order.orderId, "kiosk-pay-0001", card)), paid)
    assert.equal(await bankCaptures(server), captures)
    // the same key with another card is another request
    const otherCard = await server.run(issueCard(server.baseUrl, { balanceFen: 100_000 }))
    const reused = await rawPay(order.orderId, "kiosk-pay-0001", { cardToken: otherCard.token, pinBlock: otherCard.pinBlock })
    assert.equal(reused.status, 409)
    assert.deepEqual(reused.json, { _tag: "IdempotencyKeyReused", key: "kiosk-pay-0001" })

    const jobs = await server.run(kiosk.client.kiosk.printJobs())
    const job = jobs.find((candidate) => candidate.orderId === order.orderId)
    assert.ok(job, "the paid order has a print job")
    assert.equal(job.copy, "original")
    assert.equal(job.ticketId, paid.ticketId)
    assert.ok(job.ticketText.includes(order.holder))
    assert.ok(job.receiptText.includes(`${card.pan.slice(0, 6)}******${card.pan.slice(-4)}`))
    assert.ok(job.receiptText.includes("250.00"))

    // neither the PAN, nor the PIN block, nor the PAN's hidden middle digits are anywhere in the store
    const dump = JSON.stringify(await server.run(storeQuery(`SELECT * FROM card_payments`)))
      + JSON.stringify(await server.run(storeQuery(`SELECT * FROM print_jobs`)))
      + JSON.stringify(await server.run(storeQuery(`SELECT * FROM idempotency_keys`)))
      + JSON.stringify(await server.run(storeQuery(`SELECT * FROM pending_transfers`)))
    for (const secret of [card.pan, card.pinBlock, card.pan.slice(6, -4)]) assert.ok(!dump.includes(secret), `store holds ${secret}`)
    await assertLedgerConsistent(server)
  })

  test("wrong PIN is 402 CardDeclined and changes nothing; the right PIN then pays", async () => {
    const card = await server.run(issueCard(server.baseUrl, { balanceFen: 100_000, pin: "1234" }))
    const order = await holdWalkUp()
    const wrong = await rawPay(order.orderId, "kiosk-pay-0002", { cardToken: card.token, pinBlock: formatPinBlock("4321", card.pan) })
    assert.equal(wrong.status, 402)
    assert.deepEqual(wrong.json, { _tag: "CardDeclined", reason: "wrong-pin" })
    assert.equal(await orderState(order.orderId), "held")
    assert.deepEqual(await cardState(server, card.token), { balanceFen: 100_000, heldFen: 0, lost: false })
    assert.deepEqual(await transfersOf(server, order.orderId), {})
    await assertLedgerConsistent(server)

    const paid = await server.run(payEffect(order.orderId, "kiosk-pay-0003", card))
    assert.equal(paid.state, "issued")
    assert.deepEqual(await cardState(server, card.token), { balanceFen: 100_000 - journeyPriceFen, heldFen: 0, lost: false })
  })

  test("insufficient funds and a lost card are declined, naming why; a malformed PIN block is 400", async () => {
    const poor = await server.run(issueCard(server.baseUrl, { balanceFen: journeyPriceFen - 1 }))
    const lost = await server.run(issueCard(server.baseUrl, { balanceFen: 100_000, lost: true }))
    const order = await holdWalkUp()
    const declinedPoor = await server.run(Effect.flip(payEffect(order.orderId, "kiosk-pay-0004", poor)))
    assert.deepEqual({ ...declinedPoor }, { _tag: "CardDeclined", reason: "insufficient-funds" })
    const declinedLost = await server.run(Effect.flip(payEffect(order.orderId, "kiosk-pay-0005", lost)))
    assert.deepEqual({ ...declinedLost }, { _tag: "CardDeclined", reason: "lost-card" })
    const unknown = await server.run(Effect.flip(payEffect(order.orderId, "kiosk-pay-0006", { ...poor, token: "ct_622202_0000_0123456789abcdef" as CardToken })))
    assert.deepEqual({ ...unknown }, { _tag: "CardDeclined", reason: "unknown-card" })
    const malformed = await rawPay(order.orderId, "kiosk-pay-0007", { cardToken: poor.token, pinBlock: "0412AC89ABCDEF6Z" })
    assert.equal(malformed.status, 400)
    assert.equal(tagOf(malformed.json), "HttpApiDecodeError")
    const aPan = await rawPay(order.orderId, "kiosk-pay-0008", { cardToken: poor.pan, pinBlock: poor.pinBlock })
    assert.equal(aPan.status, 400, "a PAN is not a card token")
    assert.equal(await orderState(order.orderId), "held")
    assert.deepEqual(await transfersOf(server, order.orderId), {})
    await assertLedgerConsistent(server)
  })

  test(`${concurrentAttempts} concurrent payments of one order capture once (same key, and different cards)`, async () => {
    const card = await server.run(issueCard(server.baseUrl, { balanceFen: 1_000_000 }))
    const order = await holdWalkUp()
    const capturesBefore = await bankCaptures(server)
    const outcomes = await server.run(Effect.all(
      Array.from({ length: concurrentAttempts }, () => Effect.either(payEffect(order.orderId, "kiosk-pay-race", card))),
      { concurrency: "unbounded" }))
    const paid = outcomes.filter(Either.isRight).map((outcome) => outcome.right)
    const refused = outcomes.filter(Either.isLeft).map((outcome) => outcome.left._tag)
    assert.ok(paid.length >= 1)
    assert.equal(new Set(paid.map((result) => result.transferId)).size, 1)
    for (const tag of refused) assert.equal(tag, "PaymentInProgress")
    assert.equal(await bankCaptures(server), capturesBefore + 1)
    assert.deepEqual(await transfersOf(server, order.orderId), { "order-payment": 1 })
    assert.deepEqual(await cardState(server, card.token), { balanceFen: 1_000_000 - journeyPriceFen, heldFen: 0, lost: false })
    // once settled, the key answers the one stored result
    const replay = await server.run(payEffect(order.orderId, "kiosk-pay-race", card))
    assert.equal(replay.transferId, paid[0]?.transferId)

    const second = await holdWalkUp()
    const cards = await server.run(Effect.forEach(Array.from({ length: concurrentAttempts }), () => issueCard(server.baseUrl, { balanceFen: 100_000 })))
    const racing = await server.run(Effect.all(
      cards.map((each, index) => Effect.either(payEffect(second.orderId, `kiosk-pay-race-${index}`, each))), { concurrency: "unbounded" }))
    assert.equal(racing.filter(Either.isRight).length, 1)
    for (const outcome of racing.filter(Either.isLeft)) assert.ok(["PaymentInProgress", "OrderNotPayable"].includes(outcome.left._tag))
    const charged = []
    for (const each of cards) charged.push((await cardState(server, each.token))?.balanceFen)
    assert.equal(charged.filter((balance) => balance !== 100_000).length, 1)
    assert.deepEqual(await transfersOf(server, second.orderId), { "order-payment": 1 })
    await assertLedgerConsistent(server)
  })

  test("print jobs: a fault keeps the one original pending, printed takes it off the queue, other kiosks never see it", async () => {
    const card = await server.run(issueCard(server.baseUrl, { balanceFen: 100_000 }))
    const order = await holdWalkUp()
    const paid = await server.run(payEffect(order.orderId, "kiosk-pay-0009", card))
    const jobOf = async () => (await server.run(kiosk.client.kiosk.printJobs())).find((job) => job.jobId === paid.printJobId)
    const first = await jobOf()
    assert.ok(first)
    const fault = await server.run(kiosk.client.kiosk.printFault({ path: { jobId: paid.printJobId }, payload: { fault: "paper-out" } }))
    assert.deepEqual(fault, { jobId: paid.printJobId, state: "pending", faults: 1, printedAtMs: null })
    const again = await jobOf()
    assert.deepEqual({ ...again, faults: 0, lastFault: null }, { ...first })
    assert.equal(again?.lastFault, "paper-out")

    assert.equal((await server.run(otherKiosk.client.kiosk.printJobs())).some((job) => job.jobId === paid.printJobId), false)
    const foreign = await server.run(Effect.flip(otherKiosk.client.kiosk.printed({ path: { jobId: paid.printJobId } })))
    assert.equal(foreign._tag, "PrintJobNotFound")

    const printed = await server.run(kiosk.client.kiosk.printed({ path: { jobId: paid.printJobId } }))
    assert.equal(printed.state, "printed")
    assert.equal(await jobOf(), undefined)
    // a retried acknowledgement answers the same; a fault after printing would let a second original out
    assert.deepEqual(await server.run(kiosk.client.kiosk.printed({ path: { jobId: paid.printJobId } })), printed)
    const late = await rawRequest(server.baseUrl, "POST", `/kiosk/print-jobs/${paid.printJobId}/faults`, {
      headers: { "x-device-key": kiosk.deviceKey }, body: { fault: "jam" }
    })
    assert.equal(late.status, 409)
    assert.equal(tagOf(late.json), "PrintJobAlreadyPrinted")
    assert.equal(await jobOf(), undefined)
  })

  test("a passenger who gives a registered phone number gets the ticket in their app too", async () => {
    const passenger = await server.run(newCustomer(server.baseUrl))
    const card = await server.run(issueCard(server.baseUrl, { balanceFen: 100_000 }))
    const order = await holdWalkUp(passenger.phone)
    assert.equal(order.holder, passenger.phone)
    const paid = await server.run(payEffect(order.orderId, "kiosk-pay-0010", card))
    const ticket = await server.run(passenger.client.issuance.getTicket({ path: { orderId: order.orderId } }))
    assert.equal(ticket.ticketId, paid.ticketId)
    // and another kiosk cannot pay or read this kiosk's order
    const foreign = await server.run(Effect.flip(otherKiosk.client.kiosk.getKioskOrder({ path: { orderId: order.orderId } })))
    assert.equal(foreign._tag, "OrderNotFound")
  })

  test("a card-paid kiosk ticket cancelled in the app: the ledger reverses to card clearing and the bank returns the price less the fee", async () => {
    const passenger = await server.run(newCustomer(server.baseUrl))
    const startFen = 100_000
    const card = await server.run(issueCard(server.baseUrl, { balanceFen: startFen }))
    const order = await holdWalkUp(passenger.phone)
    await server.run(payEffect(order.orderId, "kiosk-pay-cancel-1", card))
    assert.equal((await cardState(server, card.token))?.balanceFen, startFen - journeyPriceFen)
    const cancelled = await server.run(cancelOrder(passenger, order.orderId))
    assert.equal(cancelled.state, "refunded")
    // the run departs within a day: a fee is kept, so the bank must give back part, not all
    assert.ok(cancelled.feeFen > 0 && cancelled.refundFen < journeyPriceFen, `fee ${cancelled.feeFen}`)
    assert.equal((await cardState(server, card.token))?.balanceFen, startFen - journeyPriceFen + cancelled.refundFen)
    const [reversal] = await server.run(storeQuery<{ credit_account_id: string; amount_fen: number }>(
      `SELECT credit_account_id, amount_fen FROM transfers WHERE order_id = ? AND purpose = 'order-refund'`, order.orderId))
    assert.equal(reversal?.credit_account_id, "card-clearing")
    assert.equal(Number(reversal?.amount_fen), cancelled.refundFen)
  })

  test("only a registered kiosk's key opens the kiosk endpoints (401), and only the admin registers kiosks (403)", async () => {
    const gate = await server.run(newGate(server.baseUrl, "gate-k-1", "SHH"))
    for (const headers of [{}, { "x-device-key": "not-a-key" }, { "x-device-key": gate.deviceKey }]) {
      const refused = await rawRequest(server.baseUrl, "GET", "/kiosk/print-jobs", { headers })
      assert.equal(refused.status, 401)
      assert.equal(tagOf(refused.json), "Unauthorized")
    }
    const notAdmin = await rawRequest(server.baseUrl, "POST", "/admin/kiosks", { body: { kioskId: "k-rogue", station: "SHH" } })
    assert.equal(notAdmin.status, 403)
  })
})

describe("a bank slower than the card reservation", () => {
  test("the sweeper voids the reservation, the authorisation is reversed, the order stays held", async () => {
    await withTestServer({ cardAuthorisationTimeoutMs: 100, simulatedBankLatencyMs: 1_500, pendingTransferSweepIntervalMs: 50 }, async (server) => {
      const run = await server.run(createRun(server.baseUrl, { trainCode: "K501", stations: ["SHH", "BJP"], seatCount: 2 }))
      const kiosk = await server.run(newKiosk(server.baseUrl, "kiosk-slow", "SHH"))
      const card = await server.run(issueCard(server.baseUrl, { balanceFen: 100_000 }))
      const order = await server.run(kiosk.client.kiosk.holdWalkUp({ payload: { runId: run.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode } }))
      const refused = await server.run(Effect.flip(kiosk.client.kiosk.payByCard({
        path: { orderId: order.orderId }, headers: { "idempotency-key": "kiosk-slow-1" }, payload: { cardToken: card.token, pinBlock: card.pinBlock }
      })))
      assert.equal(refused._tag, "HoldExpired")
      assert.deepEqual(await cardState(server, card.token), { balanceFen: 100_000, heldFen: 0, lost: false })
      assert.equal((await server.run(kiosk.client.kiosk.getKioskOrder({ path: { orderId: order.orderId } }))).state, "held")
      const [payment] = await server.run(storeQuery<{ state: string }>(`SELECT state FROM card_payments WHERE order_id = ?`, order.orderId))
      assert.equal(payment?.state, "voided")
      assert.deepEqual(await transfersOf(server, order.orderId), {})
      await assertLedgerConsistent(server)
    })
  })
})

describe("a server that dies between the bank's capture and the post", () => {
  test("the sweeper voids the reservation and gives the captured money back at the bank", async () => {
    await withTestServer({ pendingTransferSweepIntervalMs: 50 }, async (server) => {
      const run = await server.run(createRun(server.baseUrl, { trainCode: "K502", stations: ["SHH", "BJP"], seatCount: 2 }))
      const kiosk = await server.run(newKiosk(server.baseUrl, "kiosk-crash", "SHH"))
      const card = await server.run(issueCard(server.baseUrl, { balanceFen: 100_000 }))
      const order = await server.run(kiosk.client.kiosk.holdWalkUp({ payload: { runId: run.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode } }))
      // what payByCard leaves behind when the process dies right after `bank.capture`: a live reservation
      // whose timeout has passed, and a card payment still 'authorising' that names a captured authorisation
      await server.run(Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const ledger = yield* TwoPhaseLedger
        const bank = yield* Bank
        const pendingId = yield* Effect.flatMap(Ids, (ids) => ids.transferId)
        const authorisation = yield* bank.authorise({ cardToken: card.token, pinBlock: card.pinBlock, amountFen: order.priceFen, reference: pendingId })
        yield* bank.capture(authorisation.authorisationId)
        const longAgoMs = Date.now() - 3_600_000
        yield* sql.withTransaction(Effect.gen(function* () {
          yield* ledger.reserve({
            id: pendingId, debit: "card-clearing", credit: "centre", amountFen: order.priceFen, purpose: "card-payment",
            orderId: order.orderId, nowMs: longAgoMs, timeoutMs: server.settings.cardAuthorisationTimeoutMs
          })
          yield* sql`INSERT INTO card_payments (pending_transfer_id, order_id, kiosk_id, card_bin, card_last4, state, authorisation_id, created_at_ms)
            VALUES (${pendingId}, ${order.orderId}, ${kiosk.kioskId}, '622202', '0000', 'authorising', ${authorisation.authorisationId}, ${longAgoMs})`
        }))
      }))
      assert.equal((await cardState(server, card.token))?.balanceFen, 100_000 - order.priceFen)
      assert.ok(await waitUntil(async () => (await cardState(server, card.token))?.balanceFen === 100_000, 5_000), "the capture is refunded")
      const [payment] = await server.run(storeQuery<{ state: string }>(`SELECT state FROM card_payments WHERE order_id = ?`, order.orderId))
      assert.equal(payment?.state, "voided")
      assert.equal((await server.run(kiosk.client.kiosk.getKioskOrder({ path: { orderId: order.orderId } }))).state, "held")
      assert.deepEqual(await transfersOf(server, order.orderId), {})
      await assertLedgerConsistent(server)
    })
  })
})

describe("the outside half of a refund", () => {
  test("returnToPayer reverses a card capture at the bank once, and refunds a gateway charge once", async () => {
    await withTestServer({ simulatedGatewayCallbackIntervalMs: 30 }, async (server) => {
      const run = await server.run(createRun(server.baseUrl, { trainCode: "K503", stations: ["SHH", "BJP"], seatCount: 4 }))
      const kiosk = await server.run(newKiosk(server.baseUrl, "kiosk-refund", "SHH"))
      const card = await server.run(issueCard(server.baseUrl, { balanceFen: 100_000 }))
      const order = await server.run(kiosk.client.kiosk.holdWalkUp({ payload: { runId: run.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode } }))
      await server.run(kiosk.client.kiosk.payByCard({
        path: { orderId: order.orderId }, headers: { "idempotency-key": "kiosk-refund-1" }, payload: { cardToken: card.token, pinBlock: card.pinBlock }
      }))
      assert.equal((await cardState(server, card.token))?.balanceFen, 100_000 - order.priceFen)
      const returnToPayer = (orderId: OrderId) => server.run(Effect.flatMap(Payments, (payments) => payments.returnToPayer(orderId)))
      assert.equal(await returnToPayer(order.orderId), true)
      assert.equal(await returnToPayer(order.orderId), false)
      assert.equal((await cardState(server, card.token))?.balanceFen, 100_000)

      const buyer = await server.run(newCustomer(server.baseUrl))
      const held = await server.run(buyer.client.orders.hold({ payload: { runId: run.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode } }))
      const charge = await server.run(buyer.client.gateway.payByGateway({ path: { orderId: held.orderId }, headers: { "idempotency-key": "gw-refund-1" } }))
      assert.ok(await waitUntil(async () => (await server.run(buyer.client.orders.getOrder({ path: { orderId: held.orderId } }))).state === "issued", 8_000))
      assert.equal(await returnToPayer(held.orderId), true)
      assert.equal(await returnToPayer(held.orderId), false)
      assert.equal((await gatewayChargeState(server, charge.chargeId))?.refunded, true)
      const [row] = await server.run(storeQuery<{ state: string }>(`SELECT state FROM gateway_charges WHERE id = ?`, charge.chargeId))
      assert.equal(row?.state, "refunded")
    })
  })
})
