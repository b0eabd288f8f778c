/**
 * Wallets and payments over real HTTP: top-ups, paying once per idempotency key, the payment password
 * and its lockout, refused payments that change nothing, and the ledger's sums afterwards.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect, Either } from "effect"
import { defaultSettings } from "../Config.js"
import type { Fen, OrderId, StationCode } from "../Domain.js"
import {
  bearer, createRun, newCustomer, rawRequest, startTestServer, storeQuery, tagOf, withTestServer
} from "../testing/TestServer.js"
import type { TestCustomer, TestRun, TestServer } from "../testing/TestServer.js"

const fareFenPerSegment = 12_500
/** SHH → BJP is two segments */
const journeyPriceFen = 2 * fareFenPerSegment
const concurrentReplays = 8
/** concurrent payments of one order, the right password at `rightPasswordAt` among wrong ones */
const passwordBurstSize = 60
const rightPasswordAt = 40

describe("accounts", () => {
  let server: TestServer
  let run: TestRun
  before(async () => {
    server = await startTestServer()
    run = await server.run(createRun(server.baseUrl, {
      trainCode: "D300", stations: ["SHH", "NJH", "BJP"], seatCount: 60, fareFenPerSegment
    }))
  })
  after(() => server.close())

  const customer = () => server.run(newCustomer(server.baseUrl))
  const topUp = (who: TestCustomer, key: string, amountFen: number) =>
    server.run(who.client.accounts.topUp({ headers: { "idempotency-key": key }, payload: { amountFen: amountFen as Fen } }))
  const balanceOf = async (who: TestCustomer) => (await server.run(who.client.accounts.getWallet())).balanceFen
  const hold = (who: TestCustomer) =>
    server.run(who.client.orders.hold({
      payload: { runId: run.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode }
    }))
  const payEffect = (who: TestCustomer, orderId: OrderId, key: string, paymentPassword = who.paymentPassword) =>
    who.client.accounts.pay({ path: { orderId }, headers: { "idempotency-key": key }, payload: { paymentPassword } })
  const pay = (who: TestCustomer, orderId: OrderId, key: string, paymentPassword?: string) =>
    server.run(payEffect(who, orderId, key, paymentPassword))
  const payRefusal = (who: TestCustomer, orderId: OrderId, key: string, paymentPassword?: string) =>
    server.run(Effect.flip(payEffect(who, orderId, key, paymentPassword)))
  const rawPay = (who: TestCustomer, orderId: OrderId, key: string, paymentPassword: string) =>
    rawRequest(server.baseUrl, "POST", `/orders/${orderId}/payment`, {
      headers: { ...bearer(who.token), "idempotency-key": key }, body: { paymentPassword }
    })
  /** attemptsLeft of a PaymentPasswordWrong, or the tag of any other refusal */
  const attemptsLeftOf = (error: { readonly _tag: string }) =>
    "attemptsLeft" in error && error._tag === "PaymentPasswordWrong" ? error.attemptsLeft : error._tag
  const orderState = async (who: TestCustomer, orderId: OrderId) =>
    (await server.run(who.client.orders.getOrder({ path: { orderId } }))).state
  const paymentTransfers = async (orderId: OrderId) => {
    const [row] = await server.run(storeQuery<{ count: number }>(
      `SELECT COUNT(*) AS count FROM transfers WHERE order_id = ? AND purpose = 'order-payment'`, orderId
    ))
    return Number(row?.count)
  }

  /** Double entry: nothing is created or lost, and the centre holds exactly what paid orders cost. */
  const assertLedgerBalances = async () => {
    const [sums] = await server.run(storeQuery<Record<string, number>>(`SELECT
      (SELECT balance_fen FROM account_balances WHERE id = 'centre') AS centre,
      (SELECT COALESCE(SUM(amount_fen), 0) FROM transfers WHERE purpose = 'order-payment') AS payments,
      (SELECT COALESCE(SUM(price_fen), 0) FROM orders WHERE state IN ('paid', 'issued')) AS paid_orders,
      (SELECT COALESCE(SUM(balance_fen), 0) FROM account_balances) AS all_accounts,
      (SELECT -balance_fen FROM account_balances WHERE id = 'bank-clearing') AS topped_up,
      (SELECT COALESCE(SUM(amount_fen), 0) FROM transfers WHERE purpose = 'top-up') AS top_ups,
      (SELECT COUNT(*) FROM orders o WHERE o.state IN ('paid', 'issued') AND (SELECT COUNT(*) FROM transfers t
         WHERE t.order_id = o.id AND t.purpose = 'order-payment') <> 1) AS paid_orders_without_one_transfer`))
    const numbers = Object.fromEntries(Object.entries(sums ?? {}).map(([name, value]) => [name, Number(value)]))
    assert.ok((numbers.payments ?? 0) > 0, "the ledger check ran before any payment")
    assert.equal(numbers.centre, numbers.payments)
    assert.equal(numbers.centre, numbers.paid_orders)
    assert.equal(numbers.all_accounts, 0)
    assert.equal(numbers.topped_up, numbers.top_ups)
    assert.equal(numbers.paid_orders_without_one_transfer, 0)
  }

  test("a top-up credits the wallet once per idempotency key", async () => {
    const buyer = await customer()
    assert.equal(await balanceOf(buyer), 0)
    const first = await topUp(buyer, "topup-key-0001", 100_000)
    assert.equal(first.balanceFen, 100_000)
    const replay = await topUp(buyer, "topup-key-0001", 100_000)
    assert.deepEqual(replay, first)
    assert.equal(await balanceOf(buyer), 100_000)

    const second = await topUp(buyer, "topup-key-0002", 50_000)
    assert.notEqual(second.transferId, first.transferId)
    assert.equal(second.balanceFen, 150_000)

    // keys belong to their customer: another customer's identical key is a new top-up
    const other = await customer()
    const othersTopUp = await topUp(other, "topup-key-0001", 100_000)
    assert.notEqual(othersTopUp.transferId, first.transferId)
    assert.equal(await balanceOf(other), 100_000)
    assert.equal(await balanceOf(buyer), 150_000)
  })

  test(`${concurrentReplays} concurrent top-ups with one key credit once`, async () => {
    const buyer = await customer()
    const outcomes = await server.run(Effect.all(
      Array.from({ length: concurrentReplays }, () => Effect.either(buyer.client.accounts.topUp({
        headers: { "idempotency-key": "topup-key-race" }, payload: { amountFen: 30_000 as Fen }
      }))),
      { concurrency: "unbounded" }
    ))
    const results = outcomes.map((outcome) => Either.getOrThrowWith(outcome, (error) => new Error(`top-up refused: ${error._tag}`)))
    assert.equal(new Set(results.map((result) => result.transferId)).size, 1)
    assert.equal(await balanceOf(buyer), 30_000)
  })

  test("a top-up above maxTopUpFen is TopUpTooLarge (422); concurrent top-ups never take a wallet past maxWalletBalanceFen", async () => {
    const buyer = await customer()
    const { maxTopUpFen, maxWalletBalanceFen } = server.settings
    const tooLarge = await rawRequest(server.baseUrl, "POST", "/wallet/top-ups", {
      headers: { ...bearer(buyer.token), "idempotency-key": "topup-too-large" }, body: { amountFen: maxTopUpFen + 1 }
    })
    assert.equal(tooLarge.status, 422)
    assert.deepEqual(tooLarge.json, { _tag: "TopUpTooLarge", amountFen: maxTopUpFen + 1, maxTopUpFen })
    assert.equal(await balanceOf(buyer), 0)

    // twice as many of the largest top-ups as the cap holds, all at once
    const attempts = 2 * Math.ceil(maxWalletBalanceFen / maxTopUpFen)
    const outcomes = await server.run(Effect.all(
      Array.from({ length: attempts }, (_, index) => Effect.either(buyer.client.accounts.topUp({
        headers: { "idempotency-key": `topup-cap-${index}` }, payload: { amountFen: maxTopUpFen as Fen }
      }))),
      { concurrency: "unbounded" }
    ))
    const credited = outcomes.filter(Either.isRight).length
    for (const outcome of outcomes) if (Either.isLeft(outcome)) assert.equal(outcome.left._tag, "WalletBalanceLimitReached")
    assert.equal(credited, Math.floor(maxWalletBalanceFen / maxTopUpFen))
    assert.equal(await balanceOf(buyer), credited * maxTopUpFen)
    const [topUps] = await server.run(storeQuery<{ total: number }>(
      `SELECT COALESCE(SUM(amount_fen), 0) AS total FROM transfers WHERE purpose = 'top-up' AND credit_account_id = ?`, `W${buyer.customerId}`))
    assert.equal(Number(topUps?.total), credited * maxTopUpFen)
  })

  test("the same top-up key with another amount is IdempotencyKeyReused (409) and credits nothing", async () => {
    const buyer = await customer()
    await topUp(buyer, "topup-key-0003", 10_000)
    const raw = await rawRequest(server.baseUrl, "POST", "/wallet/top-ups", {
      headers: { ...bearer(buyer.token), "idempotency-key": "topup-key-0003" }, body: { amountFen: 99_000 }
    })
    assert.equal(raw.status, 409)
    assert.deepEqual(raw.json, { _tag: "IdempotencyKeyReused", key: "topup-key-0003" })
    assert.equal(await balanceOf(buyer), 10_000)
  })

  test("paying a held order moves the fare once; a replay of the key returns the same transfer", async () => {
    const buyer = await customer()
    await topUp(buyer, "topup-key-0004", 100_000)
    const order = await hold(buyer)
    assert.equal(order.priceFen, journeyPriceFen)

    const paid = await pay(buyer, order.orderId, "pay-key-0001")
    assert.equal(paid.orderId, order.orderId)
    assert.equal(paid.amountFen, journeyPriceFen)
    assert.equal(paid.state, "issued")
    assert.notEqual(paid.ticketId, null)
    assert.equal(await balanceOf(buyer), 100_000 - journeyPriceFen)

    const replay = await pay(buyer, order.orderId, "pay-key-0001")
    assert.deepEqual(replay, paid)
    assert.equal(await balanceOf(buyer), 100_000 - journeyPriceFen)
    assert.equal(await paymentTransfers(order.orderId), 1)

    // a new key for the same order is a second payment attempt: refused, nothing charged
    const again = await payRefusal(buyer, order.orderId, "pay-key-0002")
    assert.equal(again._tag, "OrderNotPayable")
    assert.equal(await balanceOf(buyer), 100_000 - journeyPriceFen)
    await assertLedgerBalances()
  })

  test(`${concurrentReplays} concurrent payments with one key charge once`, async () => {
    const buyer = await customer()
    await topUp(buyer, "topup-key-0005", 100_000)
    const order = await hold(buyer)
    const outcomes = await server.run(Effect.all(
      Array.from({ length: concurrentReplays }, () => Effect.either(payEffect(buyer, order.orderId, "pay-key-0003"))),
      { concurrency: "unbounded" }
    ))
    const results = outcomes.map((outcome) => Either.getOrThrowWith(outcome, (error) => new Error(`payment refused: ${error._tag}`)))
    assert.equal(new Set(results.map((result) => result.transferId)).size, 1)
    assert.equal(await balanceOf(buyer), 100_000 - journeyPriceFen)
    assert.equal(await paymentTransfers(order.orderId), 1)
    await assertLedgerBalances()
  })

  test("the same payment key for another order (or a top-up) is IdempotencyKeyReused (409) and charges nothing", async () => {
    const buyer = await customer()
    await topUp(buyer, "topup-key-0006", 100_000)
    const [first, second] = [await hold(buyer), await hold(buyer)]
    await pay(buyer, first.orderId, "pay-key-0004")
    const balance = await balanceOf(buyer)

    const raw = await rawPay(buyer, second.orderId, "pay-key-0004", buyer.paymentPassword)
    assert.equal(raw.status, 409)
    assert.deepEqual(raw.json, { _tag: "IdempotencyKeyReused", key: "pay-key-0004" })
    const asTopUp = await server.run(Effect.flip(buyer.client.accounts.topUp({
      headers: { "idempotency-key": "pay-key-0004" }, payload: { amountFen: journeyPriceFen as Fen }
    })))
    assert.equal(asTopUp._tag, "IdempotencyKeyReused")

    assert.equal(await orderState(buyer, second.orderId), "held")
    assert.equal(await balanceOf(buyer), balance)
    assert.equal(await paymentTransfers(second.orderId), 0)
  })

  test("wrong payment passwords count down (403), then the account locks (423) even for the right one", async () => {
    const buyer = await customer()
    await topUp(buyer, "topup-key-0007", 100_000)
    const [paidEarlier, order] = [await hold(buyer), await hold(buyer)]
    const earlierPayment = await pay(buyer, paidEarlier.orderId, "pay-key-before-lock")
    const maxFailures = server.settings.maxPaymentPasswordFailures

    const firstRaw = await rawPay(buyer, order.orderId, "pay-key-0005", "000000")
    assert.equal(firstRaw.status, 403)
    assert.deepEqual(firstRaw.json, { _tag: "PaymentPasswordWrong", attemptsLeft: maxFailures - 1 })
    for (let failures = 2; failures <= maxFailures; failures++) {
      const refused = await payRefusal(buyer, order.orderId, `pay-key-wrong-${failures}`, "000000")
      assert.equal(attemptsLeftOf(refused), maxFailures - failures)
    }

    const locked = await rawPay(buyer, order.orderId, "pay-key-0006", buyer.paymentPassword)
    assert.equal(locked.status, 423)
    assert.equal(tagOf(locked.json), "PaymentLocked")
    assert.equal(await orderState(buyer, order.orderId), "held")
    assert.equal(await balanceOf(buyer), 100_000 - journeyPriceFen)

    // a replay of a payment made before the lock is the customer's own stored answer: no password is checked
    const replay = await pay(buyer, paidEarlier.orderId, "pay-key-before-lock", "000000")
    assert.deepEqual(replay, earlierPayment)
  })

  test(`${passwordBurstSize} concurrent payments of one order with the right password late among wrong ones: at most maxPaymentPasswordFailures are checked, the order stays unpaid`, async () => {
    // Node's default scrypt cost: each check takes long enough for the burst's checks to overlap, as in production
    await withTestServer({ passwordHashCostN: defaultSettings.passwordHashCostN }, async (own) => {
      const burstRun = await own.run(createRun(own.baseUrl, { trainCode: "D301", stations: ["SHH", "NJH", "BJP"], seatCount: 4, fareFenPerSegment }))
      const buyer = await own.run(newCustomer(own.baseUrl))
      await own.run(buyer.client.accounts.topUp({ headers: { "idempotency-key": "topup-key-burst" }, payload: { amountFen: 100_000 as Fen } }))
      const order = await own.run(buyer.client.orders.hold({
        payload: { runId: burstRun.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode }
      }))
      const maxFailures = own.settings.maxPaymentPasswordFailures
      const outcomes = await own.run(Effect.all(
        Array.from({ length: passwordBurstSize }, (_, index) => Effect.either(buyer.client.accounts.pay({
          path: { orderId: order.orderId }, headers: { "idempotency-key": `pay-key-burst-${index}` },
          payload: { paymentPassword: index === rightPasswordAt ? buyer.paymentPassword : "000000" }
        }))),
        { concurrency: "unbounded" }
      ))
      const tags = outcomes.map((outcome) => Either.isRight(outcome) ? "paid" : outcome.left._tag)
      const checked = tags.filter((tag) => tag === "PaymentPasswordWrong").length
      assert.ok(checked <= maxFailures, `${checked} wrong payment passwords were checked, the limit is ${maxFailures}`)
      assert.equal(tags[rightPasswordAt], "PaymentLocked", `the right password, sent after ${rightPasswordAt} wrong ones, was answered ${tags[rightPasswordAt]}`)
      assert.deepEqual(new Set(tags), new Set(["PaymentPasswordWrong", "PaymentLocked"]))
      assert.equal((await own.run(buyer.client.orders.getOrder({ path: { orderId: order.orderId } }))).state, "held")
      const [transfers] = await own.run(storeQuery<{ count: number }>(
        `SELECT COUNT(*) AS count FROM transfers WHERE order_id = ? AND purpose = 'order-payment'`, order.orderId))
      assert.equal(Number(transfers?.count), 0)
    })
  })

  test("a right payment password resets the count of wrong ones", async () => {
    const buyer = await customer()
    await topUp(buyer, "topup-key-0008", 100_000)
    const [first, second] = [await hold(buyer), await hold(buyer)]
    const maxFailures = server.settings.maxPaymentPasswordFailures
    for (let failures = 1; failures <= maxFailures - 1; failures++) {
      const refused = await payRefusal(buyer, first.orderId, `pay-key-reset-${failures}`, "135790")
      assert.equal(attemptsLeftOf(refused), maxFailures - failures)
    }
    await pay(buyer, first.orderId, "pay-key-0007")
    const fresh = await payRefusal(buyer, second.orderId, "pay-key-0008", "135790")
    assert.equal(attemptsLeftOf(fresh), maxFailures - 1)
  })

  test("a right payment password refused inside the payment (insufficient funds, another's order) still resets the count", async () => {
    const buyer = await customer()
    const other = await customer()
    await topUp(buyer, "topup-key-0011", 10_000)
    const [order, othersOrder] = [await hold(buyer), await hold(other)]
    const maxFailures = server.settings.maxPaymentPasswordFailures
    const wrongTwice = async (prefix: string) => {
      for (let failures = 1; failures <= 2; failures++) await payRefusal(buyer, order.orderId, `${prefix}-${failures}`, "135790")
    }
    await wrongTwice("pay-key-poor-wrong")
    assert.equal((await rawPay(buyer, order.orderId, "pay-key-poor", buyer.paymentPassword)).status, 402)
    assert.equal(attemptsLeftOf(await payRefusal(buyer, order.orderId, "pay-key-poor-after", "135790")), maxFailures - 1,
      "the right password refused for want of funds left its earlier wrong attempts counted")
    await wrongTwice("pay-key-foreign-wrong")
    assert.equal(tagOf((await rawPay(buyer, othersOrder.orderId, "pay-key-foreign", buyer.paymentPassword)).json), "OrderNotFound")
    assert.equal(attemptsLeftOf(await payRefusal(buyer, order.orderId, "pay-key-foreign-after", "135790")), maxFailures - 1,
      "the right password refused for another customer's order left its earlier wrong attempts counted")
  })

  test("insufficient funds is 402 and changes nothing; the refused key can pay after a top-up", async () => {
    const buyer = await customer()
    await topUp(buyer, "topup-key-0009", 10_000)
    const order = await hold(buyer)

    const raw = await rawPay(buyer, order.orderId, "pay-key-0009", buyer.paymentPassword)
    assert.equal(raw.status, 402)
    assert.deepEqual(raw.json, { _tag: "InsufficientFunds", balanceFen: 10_000, neededFen: journeyPriceFen })
    assert.equal(await orderState(buyer, order.orderId), "held")
    assert.equal(await balanceOf(buyer), 10_000)
    assert.equal(await paymentTransfers(order.orderId), 0)

    await topUp(buyer, "topup-key-0010", 20_000)
    const paid = await pay(buyer, order.orderId, "pay-key-0009")
    assert.equal(paid.state, "issued")
    assert.equal(await balanceOf(buyer), 30_000 - journeyPriceFen)
    await assertLedgerBalances()
  })

  test("another customer's order cannot be paid: OrderNotFound, and nobody is charged", async () => {
    const [owner, stranger] = [await customer(), await customer()]
    await topUp(stranger, "topup-key-0011", 100_000)
    const order = await hold(owner)
    const refused = await payRefusal(stranger, order.orderId, "pay-key-0010")
    assert.equal(refused._tag, "OrderNotFound")
    assert.equal(await balanceOf(stranger), 100_000)
    assert.equal(await orderState(owner, order.orderId), "held")
  })
})
