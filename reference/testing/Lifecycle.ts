/**
 * Test helpers for the lifecycle: runs departing a chosen time from now, a bought ticket, cancel and
 * change calls, and the ledger's consistency read straight from the store.
 */
import assert from "node:assert/strict"
import { Clock, Effect } from "effect"
import { defaultSettings } from "../Config.js"
import type { Fen, OrderId, ServiceDate, StationCode } from "../Domain.js"
import type { TestCustomer, TestRun, TestRunSpec, TestServer } from "./TestServer.js"
import { createRun, newCustomer, storeQuery } from "./TestServer.js"

const msPerMinute = 60_000
const minutesPerDay = 1440
/** room after the first stop for the later ones (5 minutes apart) on the same service date */
const lastFirstMinute = minutesPerDay - 60

/**
 * A service date and first-stop minute of day such that the first stop leaves about `msAhead` from `nowMs`
 * (within a minute). When the stops would cross midnight, a run still to leave leaves up to an hour later (the next
 * service date's first minutes), and one that has left (negative `msAhead`) left up to an hour earlier (the last
 * minute its stops fit in), so it has left whatever the time of day.
 */
export const departingIn = (nowMs: number, msAhead: number, utcOffsetMinutes = defaultSettings.utcOffsetMinutes) => {
  // up to the whole minute the first stop leaves at, so the service date is the date of that minute (a time in the
  // day's last minute is the next day's 00:00, not this day's)
  let localMs = Math.ceil((nowMs + msAhead + utcOffsetMinutes * msPerMinute) / msPerMinute) * msPerMinute
  let minuteOfDay = (localMs / msPerMinute) % minutesPerDay
  if (minuteOfDay > lastFirstMinute && msAhead < 0) {
    localMs -= (minuteOfDay - lastFirstMinute) * msPerMinute
    minuteOfDay = lastFirstMinute
  } else if (minuteOfDay > lastFirstMinute) {
    localMs += (minutesPerDay - minuteOfDay + 1) * msPerMinute
    minuteOfDay = (localMs / msPerMinute) % minutesPerDay
  }
  return { serviceDate: new Date(localMs).toISOString().slice(0, 10) as ServiceDate, firstDepartureMinuteOfDay: minuteOfDay }
}

/** `createRun` with the first stop leaving `msAhead` from now. */
export const createRunDepartingIn = (baseUrl: string, msAhead: number, spec: Omit<TestRunSpec, "serviceDate" | "firstDepartureMinuteOfDay">) =>
  Effect.flatMap(Clock.currentTimeMillis, (nowMs) => createRun(baseUrl, { ...spec, ...departingIn(nowMs, msAhead) }))

let keysIssued = 0
/** An idempotency key no other call in this process has returned. */
export const freshKey = (purpose: string) => `${purpose}-${process.pid}-${++keysIssued}`

export const defaultTopUpFen = 1_000_000

/** A customer with `topUpFen` in the wallet. */
export const fundedCustomer = (baseUrl: string, topUpFen = defaultTopUpFen) =>
  Effect.gen(function* () {
    const customer = yield* newCustomer(baseUrl)
    yield* customer.client.accounts.topUp({ headers: { "idempotency-key": freshKey("top-up") }, payload: { amountFen: topUpFen as Fen } })
    return customer
  })

export const holdOn = (customer: TestCustomer, run: TestRun, from = run.stations[0]!, to = run.stations.at(-1)!) =>
  customer.client.orders.hold({ payload: { runId: run.runId, fromStation: from, toStation: to } })

export const payFor = (customer: TestCustomer, orderId: OrderId, key = freshKey("pay")) =>
  customer.client.accounts.pay({ path: { orderId }, headers: { "idempotency-key": key }, payload: { paymentPassword: customer.paymentPassword } })

/** Hold and pay `from → to` on `run`: the order, issued, and its ticket. */
export const buyTicket = (customer: TestCustomer, run: TestRun, from?: StationCode, to?: StationCode) =>
  Effect.gen(function* () {
    const held = yield* holdOn(customer, run, from, to)
    yield* payFor(customer, held.orderId)
    const ticket = yield* customer.client.issuance.getTicket({ path: { orderId: held.orderId } })
    const order = yield* customer.client.orders.getOrder({ path: { orderId: held.orderId } })
    return { order, ticket }
  })

export const cancelOrder = (customer: TestCustomer, orderId: OrderId, key = freshKey("cancel"), reason?: string) =>
  customer.client.lifecycle.cancel({
    path: { orderId }, headers: { "idempotency-key": key }, payload: reason === undefined ? {} : { reason }
  })

export const changeOrder = (
  customer: TestCustomer, orderId: OrderId, target: TestRun, options: { from?: StationCode; to?: StationCode; password?: string; key?: string } = {}
) =>
  customer.client.lifecycle.change({
    path: { orderId }, headers: { "idempotency-key": options.key ?? freshKey("change") },
    payload: {
      runId: target.runId, fromStation: options.from ?? target.stations[0]!, toStation: options.to ?? target.stations.at(-1)!,
      ...(options.password === undefined ? {} : { paymentPassword: options.password })
    }
  })

export const walletOf = (customer: TestCustomer) => Effect.map(customer.client.accounts.getWallet(), (wallet) => wallet.balanceFen)

const numbers = (row: Record<string, unknown> | undefined) =>
  Object.fromEntries(Object.entries(row ?? {}).map(([name, value]) => [name, Number(value)]))

/**
 * The ledger after refunds and changes, from the store: the balances sum to zero and each equals its
 * entries; the centre holds exactly the prices of live paid or issued orders plus the fees it kept; no
 * payment was reversed beyond its amount; every refunded order has its ticket (if any) voided.
 */
export const assertLedgerConsistent = (server: TestServer) =>
  server.run(Effect.gen(function* () {
    const [sums] = yield* storeQuery<Record<string, unknown>>(`SELECT
      (SELECT COALESCE(SUM(balance_fen), 0) FROM account_balances) AS all_accounts,
      (SELECT balance_fen FROM account_balances WHERE id = 'centre') AS centre,
      (SELECT COALESCE(SUM(price_fen), 0) FROM orders WHERE state IN ('paid', 'issued')) AS live_prices,
      (SELECT COALESCE(SUM(fee_fen), 0) FROM order_events WHERE kind IN ('refunded', 'changed')) AS fees,
      (SELECT COUNT(*) FROM account_balances a WHERE a.balance_fen <>
         COALESCE((SELECT SUM(amount_fen) FROM transfers t WHERE t.credit_account_id = a.id), 0)
         - COALESCE((SELECT SUM(amount_fen) FROM transfers t WHERE t.debit_account_id = a.id), 0)) AS drifting_accounts,
      (SELECT COUNT(*) FROM transfers p WHERE p.amount_fen <
         (SELECT COALESCE(SUM(r.amount_fen), 0) FROM transfers r WHERE r.reverses_transfer_id = p.id)) AS over_reversed,
      (SELECT COUNT(*) FROM tickets k JOIN orders o ON o.id = k.order_id
         WHERE o.state IN ('refunded', 'changed') AND k.voided_at_ms IS NULL) AS live_tickets_of_closed_orders`)
    const found = numbers(sums)
    assert.equal(found.all_accounts, 0, "balances do not sum to zero")
    assert.equal(found.drifting_accounts, 0, "an account's balance differs from its entries")
    assert.equal(found.centre, (found.live_prices ?? 0) + (found.fees ?? 0), "the centre holds more or less than live prices plus fees")
    assert.equal(found.over_reversed, 0, "a payment was reversed beyond its amount")
    assert.equal(found.live_tickets_of_closed_orders, 0, "a refunded or changed order kept a live ticket")
  }))

/** How many refund transfers name the order. */
export const refundTransfersOf = (orderId: OrderId) =>
  Effect.map(storeQuery<{ count: number }>(`SELECT COUNT(*) AS count FROM transfers WHERE order_id = ? AND purpose = 'order-refund'`, orderId),
    (rows) => Number(rows[0]?.count ?? 0))

