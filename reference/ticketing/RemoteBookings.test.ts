/**
 * Remote bookings paid by card at a kiosk (seed 001 claim 8), over real HTTP on either store: booked in the app or
 * by a call-centre agent with the card that will pay, known to every kiosk, paid only by swiping that card (another
 * card is refused before the bank: bank, ledger and store unchanged), never by the wallet, the gateway or as a
 * walk-up sale; too many other cards lock the booking; the store keeps a keyed token of the card, never its number;
 * an unpaid booking expires as any hold.
 */
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { after, before, describe, test } from "node:test"
import { Clock, Effect } from "effect"
import type { OrderId } from "../Domain.js"
import { Orders } from "./Orders.js"
import type { CardNumber } from "./RemoteBookings/Api.js"
import { cardTokenKeyOf, cardTokenOf } from "./RemoteBookings/CardTokens.js"
import {
  assertLedgerConsistent, balanceOfAccount, bankCaptures, cardState, issueCard, newKiosk, transfersOf
} from "../testing/Payments.js"
import type { TestCard, TestKiosk } from "../testing/Payments.js"
import { bookByPhone, bookInApp, newAgent, payBooking } from "../testing/RemoteBookings.js"
import {
  createRun, freshPhone, newCustomer, rawRequest, serviceDateInDays, startTestServer, storeQuery, tagOf, withTestServer
} from "../testing/TestServer.js"
import type { TestRun, TestServer } from "../testing/TestServer.js"

const fareFenPerSegment = 12_500
const startFen = 100_000

/** a run two days away: a booking's hold is its whole `remoteBookingHoldTtlMs`, not cut short by the sales close */
const laterRun = (server: TestServer, trainCode: string) => server.run(Effect.gen(function* () {
  const nowMs = yield* Clock.currentTimeMillis
  return yield* createRun(server.baseUrl, {
    trainCode, stations: ["SHH", "NJH", "BJP"], seatCount: 20, fareFenPerSegment, serviceDate: serviceDateInDays(nowMs, 2), firstDepartureMinuteOfDay: 600
  })
}))

/** What the bank, the ledger and the store say about an order's money: unchanged by a refused swipe. */
const moneyFacts = async (server: TestServer, orderId: OrderId, cards: ReadonlyArray<TestCard>) => ({
  cards: await Promise.all(cards.map((card) => cardState(server, card.token))),
  captures: await bankCaptures(server),
  centreFen: await balanceOfAccount(server, "centre"),
  cardClearingFen: await balanceOfAccount(server, "card-clearing"),
  transfers: await transfersOf(server, orderId),
  reservations: (await server.run(storeQuery(`SELECT id FROM pending_transfers WHERE order_id = ?`, orderId))).length,
  cardPayments: (await server.run(storeQuery(`SELECT pending_transfer_id FROM card_payments WHERE order_id = ?`, orderId))).length
})

describe("remote bookings paid by the booked card at a kiosk", () => {
  let server: TestServer
  let run: TestRun
  let kiosk: TestKiosk
  before(async () => {
    server = await startTestServer()
    run = await laterRun(server, "K700")
    kiosk = await server.run(newKiosk(server.baseUrl, "remote-kiosk-1", "SHH"))
  })
  after(() => server.close())

  const orderState = async (orderId: OrderId) => (await server.run(kiosk.client.kiosk.getRemoteBooking({ path: { orderId } }))).state

  test("booked in the app, shown at any kiosk, paid by swiping the booked card: ticket, receipt, money in the ledger", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const card = await server.run(issueCard(server.baseUrl, { balanceFen: startFen }))
    const booking = await server.run(bookInApp(customer, run, card, "Li Lei"))
    assert.deepEqual([booking.state, booking.channel, booking.passengerName, booking.holder], ["held", "app", "Li Lei", customer.phone])
    assert.deepEqual([booking.cardBin, booking.cardLast4], [card.pan.slice(0, 6), card.pan.slice(-4)])
    assert.equal(booking.holdExpiresAtMs - booking.heldAtMs, server.settings.remoteBookingHoldTtlMs)
    assert.deepEqual(await server.run(kiosk.client.kiosk.getRemoteBooking({ path: { orderId: booking.orderId } })), booking)

    const centreBefore = await balanceOfAccount(server, "centre")
    const paid = await server.run(payBooking(kiosk, booking.orderId, "remote-pay-0001", card))
    assert.equal(paid.state, "issued")
    assert.notEqual(paid.ticketId, null)
    assert.equal(paid.amountFen, 2 * fareFenPerSegment)
    assert.deepEqual(await cardState(server, card.token), { balanceFen: startFen - paid.amountFen, heldFen: 0, lost: false })
    assert.equal(await balanceOfAccount(server, "centre"), centreBefore + paid.amountFen)
    const [payment] = await server.run(storeQuery<{ debit_account_id: string }>(
      `SELECT debit_account_id FROM transfers WHERE order_id = ? AND purpose = 'order-payment'`, booking.orderId))
    assert.equal(payment?.debit_account_id, "card-clearing")
    const ticket = await server.run(customer.client.issuance.getTicket({ path: { orderId: booking.orderId } }))
    assert.equal(ticket.ticketId, paid.ticketId)

    const job = (await server.run(kiosk.client.kiosk.printJobs())).find((candidate) => candidate.jobId === paid.printJobId)
    assert.ok(job, "the payment's print job")
    assert.equal(job.kind, "sale")
    assert.ok(job.receiptText.includes("Remote booking for: Li Lei") && job.receiptText.includes(`${card.pan.slice(0, 6)}******${card.pan.slice(-4)}`), job.receiptText)
    // a replay answers the stored payment without the bank
    const captures = await bankCaptures(server)
    assert.equal((await server.run(payBooking(kiosk, booking.orderId, "remote-pay-0001", card))).transferId, paid.transferId)
    assert.equal(await bankCaptures(server), captures)
    await assertLedgerConsistent(server)
  })

  test("the store keeps a keyed token of the card (HMAC under the server's key), never its number", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const card = await server.run(issueCard(server.baseUrl, { balanceFen: startFen }))
    const booking = await server.run(bookInApp(customer, run, card))
    await server.run(payBooking(kiosk, booking.orderId, "remote-pay-0002", card))
    const [row] = await server.run(storeQuery<{ card_token: string; card_bin: string; card_last4: string }>(
      `SELECT card_token, card_bin, card_last4 FROM remote_bookings WHERE order_id = ?`, booking.orderId))
    assert.equal(row?.card_token, cardTokenOf(cardTokenKeyOf(server.settings.adminKey), card.pan))
    assert.notEqual(row?.card_token, createHash("sha256").update(card.pan).digest("hex"), "not an unkeyed hash")
    assert.notEqual(row?.card_token, cardTokenOf(cardTokenKeyOf(`${server.settings.adminKey}x`), card.pan), "the key is the server's")
    const [swiped] = await server.run(storeQuery<{ card_token: string }>(`SELECT card_token FROM card_payments WHERE order_id = ?`, booking.orderId))
    assert.equal(swiped?.card_token, row?.card_token)
    let dump = ""
    for (const table of ["remote_bookings", "card_payments", "print_jobs", "idempotency_keys", "pending_transfers", "orders", "customers"]) {
      dump += JSON.stringify(await server.run(storeQuery(`SELECT * FROM ${table}`)))
    }
    for (const secret of [card.pan, card.pan.slice(6, -4), card.pinBlock]) assert.ok(!dump.includes(secret), `the store holds ${secret}`)
  })

  test("another card is refused with CardNotBooked: nothing reaches the bank, the ledger or the store; the booked card then pays", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const booked = await server.run(issueCard(server.baseUrl, { balanceFen: startFen }))
    const other = await server.run(issueCard(server.baseUrl, { balanceFen: startFen }))
    const booking = await server.run(bookInApp(customer, run, booked))
    const before = await moneyFacts(server, booking.orderId, [booked, other])
    const refused = await rawRequest(server.baseUrl, "POST", `/kiosk/remote-bookings/${booking.orderId}/card-payment`, {
      headers: { "x-device-key": kiosk.deviceKey, "idempotency-key": "remote-pay-0003" },
      body: { cardToken: other.token, cardNumber: other.pan, pinBlock: other.pinBlock }
    })
    assert.equal(refused.status, 403, refused.text)
    assert.equal(tagOf(refused.json), "CardNotBooked")
    assert.ok(!refused.text.includes(booked.pan.slice(-4)), "the refusal does not name the booked card")
    // a card number that is not the card its token names is refused too
    const inconsistent = await rawRequest(server.baseUrl, "POST", `/kiosk/remote-bookings/${booking.orderId}/card-payment`, {
      headers: { "x-device-key": kiosk.deviceKey, "idempotency-key": "remote-pay-0004" },
      body: { cardToken: other.token, cardNumber: booked.pan, pinBlock: booked.pinBlock }
    })
    assert.equal(inconsistent.status, 422, inconsistent.text)
    assert.equal(tagOf(inconsistent.json), "CardReadInconsistent")
    assert.deepEqual(await moneyFacts(server, booking.orderId, [booked, other]), before)
    assert.deepEqual(before.transfers, {})
    assert.equal(await orderState(booking.orderId), "held")

    const paid = await server.run(payBooking(kiosk, booking.orderId, "remote-pay-0005", booked))
    assert.equal(paid.state, "issued")
    assert.deepEqual(await cardState(server, other.token), { balanceFen: startFen, heldFen: 0, lost: false })
    assert.equal((await cardState(server, booked.token))?.balanceFen, startFen - paid.amountFen)
    await assertLedgerConsistent(server)
  })

  test("after maxWrongCardSwipesPerRemoteBooking other cards the booking takes no swipe, the booked card's neither: no oracle for its number", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const booked = await server.run(issueCard(server.baseUrl, { balanceFen: startFen }))
    const other = await server.run(issueCard(server.baseUrl, { balanceFen: startFen }))
    const booking = await server.run(bookInApp(customer, run, booked))
    const before = await moneyFacts(server, booking.orderId, [booked, other])
    for (let swipe = 1; swipe <= server.settings.maxWrongCardSwipesPerRemoteBooking; swipe++) {
      const refused = await server.run(Effect.flip(payBooking(kiosk, booking.orderId, `remote-wrong-${swipe}`, other)))
      assert.equal(refused._tag, "CardNotBooked", `swipe ${swipe}`)
    }
    const locked = await rawRequest(server.baseUrl, "POST", `/kiosk/remote-bookings/${booking.orderId}/card-payment`, {
      headers: { "x-device-key": kiosk.deviceKey, "idempotency-key": "remote-wrong-booked" },
      body: { cardToken: booked.token, cardNumber: booked.pan, pinBlock: booked.pinBlock }
    })
    assert.equal(locked.status, 423, locked.text)
    assert.equal(tagOf(locked.json), "RemoteBookingLocked")
    assert.deepEqual(await moneyFacts(server, booking.orderId, [booked, other]), before)
    assert.equal(await orderState(booking.orderId), "held")
  })

  test("a remote booking is paid by its card only: the wallet, the gateway and the walk-up payment are refused", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const card = await server.run(issueCard(server.baseUrl, { balanceFen: startFen }))
    const booking = await server.run(bookInApp(customer, run, card))
    await server.run(customer.client.accounts.topUp({ headers: { "idempotency-key": "remote-topup-1" }, payload: { amountFen: startFen as never } }))
    const byWallet = await server.run(Effect.flip(customer.client.accounts.pay({
      path: { orderId: booking.orderId }, headers: { "idempotency-key": "remote-wallet-1" }, payload: { paymentPassword: customer.paymentPassword }
    })))
    assert.deepEqual({ ...byWallet }, { _tag: "OrderNotPayable", orderId: booking.orderId, state: "held-for-booked-card" })
    const byGateway = await server.run(Effect.flip(customer.client.gateway.payByGateway({
      path: { orderId: booking.orderId }, headers: { "idempotency-key": "remote-gateway-1" }
    })))
    assert.deepEqual({ ...byGateway }, { _tag: "OrderNotPayable", orderId: booking.orderId, state: "held-for-booked-card" })
    const asWalkUp = await server.run(Effect.flip(kiosk.client.kiosk.payByCard({
      path: { orderId: booking.orderId }, headers: { "idempotency-key": "remote-walkup-1" }, payload: { cardToken: card.token, pinBlock: card.pinBlock }
    })))
    assert.equal(asWalkUp._tag, "OrderNotFound")
    assert.deepEqual(await transfersOf(server, booking.orderId), {})
    assert.equal((await server.run(customer.client.accounts.getWallet())).balanceFen, startFen)
    assert.equal(await orderState(booking.orderId), "held")
    // and an order that is no remote booking is not one at the kiosk
    const plain = await server.run(customer.client.orders.hold({ payload: { runId: run.runId, fromStation: run.stations[0]!, toStation: run.stations[1]! } }))
    const notRemote = await server.run(Effect.flip(payBooking(kiosk, plain.orderId, "remote-plain-1", card)))
    assert.equal(notRemote._tag, "OrderNotFound")
  })

  test("a call-centre agent books for a caller; the session is the agent's own; wrong passwords lock the agent until reset", async () => {
    const agent = await server.run(newAgent(server.baseUrl, "agent-7"))
    const callerPhone = freshPhone()
    const card = await server.run(issueCard(server.baseUrl, { balanceFen: startFen }))
    const booking = await server.run(bookByPhone(agent, callerPhone, run, card, "Han Meimei"))
    assert.deepEqual([booking.channel, booking.passengerName, booking.holder, booking.state], ["call-centre", "Han Meimei", callerPhone, "held"])
    const [row] = await server.run(storeQuery<{ agent_id: string }>(`SELECT agent_id FROM remote_bookings WHERE order_id = ?`, booking.orderId))
    assert.equal(row?.agent_id, "agent-7")
    const paid = await server.run(payBooking(kiosk, booking.orderId, "remote-pay-0006", card))
    assert.equal(paid.state, "issued")

    const body = { callerPhone, runId: run.runId, fromStation: "SHH", toStation: "BJP", passengerName: "X", cardNumber: card.pan }
    const customer = await server.run(newCustomer(server.baseUrl))
    for (const headers of [{}, { "x-agent-session": customer.token }, { authorization: `Bearer ${agent.token}` }]) {
      const refused = await rawRequest(server.baseUrl, "POST", "/agent/remote-bookings", { headers, body })
      assert.equal(refused.status, 401, refused.text)
    }
    const login = (password: string) => rawRequest(server.baseUrl, "POST", "/agent/sessions", { body: { agentId: "agent-7", password } })
    for (let attempt = 1; attempt <= server.settings.maxLoginPasswordFailures; attempt++) {
      const wrong = await login("not the password")
      assert.deepEqual([wrong.status, tagOf(wrong.json)], [401, "InvalidCredentials"])
    }
    const locked = await login("agent password 1")
    assert.deepEqual([locked.status, tagOf(locked.json)], [423, "AgentLocked"])
    const unknown = await rawRequest(server.baseUrl, "POST", "/agent/sessions", { body: { agentId: "agent-none", password: "agent password 1" } })
    assert.deepEqual([unknown.status, tagOf(unknown.json)], [401, "InvalidCredentials"])
    // a new password from the operator unlocks the agent and ends the old session
    const again = await server.run(newAgent(server.baseUrl, "agent-7", "agent password 2"))
    assert.equal((await rawRequest(server.baseUrl, "POST", "/agent/remote-bookings", { headers: { "x-agent-session": agent.token }, body })).status, 401)
    assert.equal((await server.run(bookByPhone(again, callerPhone, run, card))).channel, "call-centre")
  })
})

describe("an unpaid remote booking expires like any hold", () => {
  test("past remoteBookingHoldTtlMs the hold sweeper expires it and frees its seat; a swipe then charges nothing", async () => {
    await withTestServer({}, async (server) => {
      const run = await laterRun(server, "K701")
      const kiosk = await server.run(newKiosk(server.baseUrl, "remote-kiosk-2", "SHH"))
      const customer = await server.run(newCustomer(server.baseUrl))
      const card = await server.run(issueCard(server.baseUrl, { balanceFen: startFen }))
      const booking = await server.run(bookInApp(customer, run, card))
      const seatMask = async () => Number((await server.run(storeQuery<{ occupied_mask: number }>(
        `SELECT s.occupied_mask FROM seats s JOIN orders o ON o.seat_id = s.id WHERE o.id = ?`, booking.orderId)))[0]?.occupied_mask)
      assert.notEqual(await seatMask(), 0)
      // a minute short of the booking's time to pay it is still held, and the sweeper leaves it
      server.advanceClock(server.settings.remoteBookingHoldTtlMs - 60_000)
      await server.run(Effect.flatMap(Orders, (orders) => orders.releaseExpiredHolds))
      assert.equal((await server.run(kiosk.client.kiosk.getRemoteBooking({ path: { orderId: booking.orderId } }))).state, "held")
      // past it the sweep (this one, or the server's own, whichever passes first) expires it
      server.advanceClock(60_000)
      await server.run(Effect.flatMap(Orders, (orders) => orders.releaseExpiredHolds))
      assert.equal((await server.run(kiosk.client.kiosk.getRemoteBooking({ path: { orderId: booking.orderId } }))).state, "expired")
      assert.equal(await seatMask(), 0, "the seat is free again")
      const late = await server.run(Effect.flip(payBooking(kiosk, booking.orderId, "remote-late-1", card)))
      assert.deepEqual({ ...late }, { _tag: "OrderNotPayable", orderId: booking.orderId, state: "expired" })
      assert.deepEqual(await cardState(server, card.token), { balanceFen: startFen, heldFen: 0, lost: false })
      assert.deepEqual(await transfersOf(server, booking.orderId), {})
      // the booking centre refuses a card number that is not one, before anything is held
      const badCard = await rawRequest(server.baseUrl, "POST", "/remote-bookings", {
        headers: { authorization: `Bearer ${customer.token}` },
        body: { runId: run.runId, fromStation: "SHH", toStation: "BJP", passengerName: "Li Lei", cardNumber: "6222-0200" as CardNumber }
      })
      assert.equal(badCard.status, 400)
      assert.ok(!badCard.text.includes("6222-0200"), "the refusal does not quote the number")
    })
  })
})
