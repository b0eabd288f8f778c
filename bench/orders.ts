/**
 * The order of the end-to-end benchmark: hold a seat, pay from the wallet, receive the ticket. Customers
 * are registered, logged in and topped up beforehand (not measured), so an iteration is the three calls a
 * passenger makes per order. The train has 32 stops and `maxSeatsPerRun` seats; each order takes one
 * segment, so a run holds 31 × 5,000 orders before it sells out.
 */
import type { Pool } from "undici"
import { maxSeatsPerRun } from "../reference/Domain.js"
import { residentIdOf } from "../simulator/Population.js"
import { send } from "./driver.js"
import type { Recorder } from "./driver.js"

export const benchStopCount = 32
export const benchCoachCount = 25
export const benchFareFen = 100
/** one top-up pays this many orders */
export const topUpFen = 5_000_000
/** polls of the ticket after a payment that did not issue it at once, and the wait between them */
export const maxTicketPolls = 50
export const ticketPollIntervalMs = 5

const stationOf = (index: number) => `S${String.fromCharCode(65 + Math.floor(index / 26))}${String.fromCharCode(65 + (index % 26))}`

export const benchTrain = {
  trainCode: "B1",
  serviceDate: "2027-01-28",
  stops: Array.from({ length: benchStopCount }, (_, index) => ({ station: stationOf(index), name: `Stop ${index}`, departureMinuteOfDay: 6 * 60 + index * 20 })),
  coaches: Array.from({ length: benchCoachCount }, (_, index) => ({ coach: index + 1, seatClass: "second", seatCount: maxSeatsPerRun / benchCoachCount })),
  fareFenPerSegment: Array.from({ length: benchStopCount - 1 }, () => benchFareFen)
}

export interface Customer { readonly token: string; readonly paymentPassword: string }
export interface Prepared { readonly runId: string; readonly customers: ReadonlyArray<Customer> }

const expect = (what: string, status: number, answer: { status: number; body: string }) => {
  if (answer.status !== status) throw new Error(`${what}: HTTP ${answer.status} ${answer.body.slice(0, 300)}`)
  return JSON.parse(answer.body) as Record<string, unknown>
}

/** The train run and `customerCount` customers with money, through the API (admin key: the server's default). */
export const prepare = async (pool: Pool, adminKey: string, customerCount: number, phoneOffset = 0): Promise<Prepared> => {
  const run = expect("create run", 201, await send(pool, "POST", "/admin/runs", { "x-admin-key": adminKey }, benchTrain))
  const customers = await Promise.all(Array.from({ length: customerCount }, async (_, slot) => {
    const index = phoneOffset + slot
    const phone = `15${String(index).padStart(9, "0")}`
    const password = `bench-${phone}`
    const paymentPassword = String(100_000 + index)
    expect("register", 201, await send(pool, "POST", "/customers", {}, { phone, password, paymentPassword, residentId: residentIdOf(index) }))
    const session = expect("login", 201, await send(pool, "POST", "/sessions", {}, { phone, password }))
    const token = String(session.token)
    expect("top up", 201, await send(pool, "POST", "/wallet/top-ups", { authorization: `Bearer ${token}`, "idempotency-key": `bench-top-up-${index}` }, { amountFen: topUpFen }))
    return { token, paymentPassword }
  }))
  return { runId: String(run.runId), customers }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * One order as an iteration: hold (latency from the intended start), pay, then the ticket (payment →
 * issuance from the payment's send): in the payment's answer, or asked for until it is issued. Iteration n buys segment n mod 31 as customer n mod customers.
 */
export const orderIteration = (pool: Pool, prepared: Prepared, recorder: Recorder, counts: { issued: number; soldOut: number; requests: number }) =>
  async (intendedMs: number, index: number) => {
    const customer = prepared.customers[index % prepared.customers.length]!
    const segment = index % (benchStopCount - 1)
    const auth = { authorization: `Bearer ${customer.token}` }
    counts.requests++
    const held = await send(pool, "POST", "/orders", auth, { runId: prepared.runId, fromStation: stationOf(segment), toStation: stationOf(segment + 1) })
    recorder.record("hold", performance.now() - intendedMs)
    if (held.status === 409) { counts.soldOut++; return }
    const orderId = String(expect("hold", 201, held).orderId)
    const payStartMs = performance.now()
    counts.requests++
    const paid = expect("pay", 201, await send(pool, "POST", `/orders/${orderId}/payment`,
      { ...auth, "idempotency-key": `bench-pay-${orderId}` }, { paymentPassword: customer.paymentPassword }))
    // the payment's answer carries the ticket when it was issued before the answer left: no request for it
    if (paid.ticket !== undefined) {
      const doneMs = performance.now()
      recorder.record("payment_to_issuance", doneMs - payStartMs)
      recorder.record("order", doneMs - intendedMs)
      counts.issued++
      return
    }
    for (let poll = 0; poll <= maxTicketPolls; poll++) {
      if (poll > 0 || paid.ticketId === null) await sleep(ticketPollIntervalMs)
      counts.requests++
      const ticket = await send(pool, "GET", `/orders/${orderId}/ticket`, auth)
      if (ticket.status === 200) {
        const doneMs = performance.now()
        recorder.record("payment_to_issuance", doneMs - payStartMs)
        recorder.record("order", doneMs - intendedMs)
        counts.issued++
        return
      }
    }
    throw new Error(`order ${orderId}: no ticket after ${maxTicketPolls} polls`)
  }
