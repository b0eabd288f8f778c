/**
 * Kiosk pickup of tickets bought elsewhere (seeds 001, 004) and the simulated bank's conditions, over real
 * HTTP on either store: a voucher or phone + ID queues the ticket's one print job at this kiosk, no second
 * kiosk or ticket machine can print it again; the bank's slowdown and brownout are set by the operator.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import type { OrderId, StationCode } from "../../Domain.js"
import { buyTicket, newTicketMachine } from "../../testing/Delivery.js"
import { cardState, issueCard, newKiosk } from "../../testing/Payments.js"
import type { TestKiosk } from "../../testing/Payments.js"
import {
  adminClient, anonymousClient, createRun, customerClient, freshPhone, freshResidentId, rawRequest, startTestServer, storeQuery, tagOf,
  testPassword, testPaymentPassword
} from "../../testing/TestServer.js"
import type { TestCustomer, TestRun, TestServer } from "../../testing/TestServer.js"

describe("kiosk pickup", () => {
  let server: TestServer
  let run: TestRun
  let kiosk: TestKiosk
  let otherKiosk: TestKiosk
  before(async () => {
    server = await startTestServer()
    run = await server.run(createRun(server.baseUrl, { trainCode: "K600", stations: ["SHH", "BJP"], seatCount: 40 }))
    kiosk = await server.run(newKiosk(server.baseUrl, "pickup-shh-1", "SHH"))
    otherKiosk = await server.run(newKiosk(server.baseUrl, "pickup-shh-2", "SHH"))
  })
  after(() => server.close())

  /** a customer who registered with a resident ID the test knows */
  const appCustomer = () => server.run(Effect.gen(function* () {
    const anonymous = yield* anonymousClient(server.baseUrl)
    const phone = freshPhone()
    const residentId = freshResidentId()
    const registered = yield* anonymous.customers.register({ payload: { phone, password: testPassword, paymentPassword: testPaymentPassword, residentId } })
    const session = yield* anonymous.customers.login({ payload: { phone, password: testPassword } })
    const customer: TestCustomer = {
      client: yield* customerClient(server.baseUrl, session.token), token: session.token, customerId: registered.customerId, phone,
      password: testPassword, paymentPassword: testPaymentPassword
    }
    return { customer, residentId }
  }))
  const pickup = (body: object, via = kiosk) =>
    rawRequest(server.baseUrl, "POST", "/kiosk/pickups", { headers: { "x-device-key": via.deviceKey }, body })
  const pendingJobs = (via = kiosk) => server.run(via.client.kiosk.printJobs())

  test("a voucher queues the ticket's one original at this kiosk; a second try anywhere is refused", async () => {
    const { customer } = await appCustomer()
    const { paid } = await server.run(buyTicket(customer, run))
    const voucher = await server.run(customer.client.delivery.getVoucher({ path: { orderId: paid.orderId } }))
    const jobs = await server.run(kiosk.client.kiosk.pickup({ payload: { voucherCode: voucher.display } }))
    assert.equal(jobs.length, 1)
    const [job] = jobs
    assert.deepEqual([job?.orderId, job?.ticketId, job?.kind, job?.copy], [paid.orderId, paid.ticketId, "pickup", "original"])
    assert.ok(job?.receiptText.includes("TICKET PICKUP") && !job.receiptText.includes(voucher.code), job?.receiptText)
    assert.ok((await pendingJobs()).some((pending) => pending.jobId === job?.jobId))
    assert.equal((await pendingJobs(otherKiosk)).some((pending) => pending.jobId === job?.jobId), false)

    const again = await pickup({ voucherCode: voucher.code }, otherKiosk)
    assert.equal(again.status, 409)
    assert.deepEqual([tagOf(again.json), (again.json as { machineId: string }).machineId], ["VoucherAlreadyRedeemed", "pickup-shh-1"])
    const machine = await server.run(newTicketMachine(server.baseUrl, "pickup-machine-1", "SHH hall"))
    const atMachine = await rawRequest(server.baseUrl, "POST", "/ticket-machine/redemptions", { headers: { "x-device-key": machine.deviceKey }, body: { code: voucher.code } })
    assert.equal(atMachine.status, 409)
    assert.equal((await pickup({ phone: customer.phone, residentId: "110105194601010011" })).status, 404)

    await server.run(kiosk.client.kiosk.printed({ path: { jobId: job!.jobId } }))
    assert.equal((await pendingJobs()).some((pending) => pending.jobId === job?.jobId), false)
  })

  test("phone + ID queues every unprinted ticket of the customer once; a wrong ID and an unknown phone get the same 404", async () => {
    const { customer, residentId } = await appCustomer()
    const first = await server.run(buyTicket(customer, run))
    const second = await server.run(buyTicket(customer, run))
    const wrongId = await pickup({ phone: customer.phone, residentId: freshResidentId() })
    const unknownPhone = await pickup({ phone: freshPhone(), residentId })
    assert.deepEqual([wrongId.status, unknownPhone.status], [404, 404])
    assert.deepEqual(wrongId.json, unknownPhone.json)
    assert.equal(tagOf(wrongId.json), "NothingToPickUp")

    const jobs = await server.run(kiosk.client.kiosk.pickup({ payload: { phone: customer.phone, residentId } }))
    assert.deepEqual(jobs.map((job) => job.orderId).sort(), [first.paid.orderId, second.paid.orderId].sort())
    assert.ok(jobs.every((job) => job.kind === "pickup" && job.receiptText.includes("+ ID") && !job.receiptText.includes(residentId)))
    // the vouchers are spent too: no ticket machine prints these tickets again
    const voucher = await server.run(customer.client.delivery.getVoucher({ path: { orderId: first.paid.orderId } }))
    assert.equal(typeof voucher.redeemedAtMs, "number")
    assert.equal((await pickup({ voucherCode: voucher.code }, otherKiosk)).status, 409)
    assert.equal((await pickup({ phone: customer.phone, residentId }, otherKiosk)).status, 404)
  })

  test("resident IDs guessed at a kiosk count towards the account's lockout: past maxLoginPasswordFailures the right ID prints nothing either", async () => {
    const { customer, residentId } = await appCustomer()
    await server.run(buyTicket(customer, run))
    const maxFailures = server.settings.maxLoginPasswordFailures
    const guesses = await Promise.all(Array.from({ length: 3 * maxFailures }, () => pickup({ phone: customer.phone, residentId: freshResidentId() })))
    assert.deepEqual(new Set(guesses.map((guess) => guess.status)), new Set([404]))
    const afterGuesses = await pickup({ phone: customer.phone, residentId })
    assert.equal(afterGuesses.status, 404, `the right ID after ${3 * maxFailures} wrong ones was answered ${afterGuesses.status}`)
    assert.equal(tagOf(afterGuesses.json), "NothingToPickUp")
    const [row] = await server.run(storeQuery<{ login_failures: number }>(`SELECT login_failures FROM customers WHERE id = ?`, customer.customerId))
    assert.equal(Number(row?.login_failures), maxFailures)
  })

  test("a ticket sold and printed at a kiosk cannot be picked up again; bad pickup bodies are 400 or 422", async () => {
    const { customer, residentId } = await appCustomer()
    const card = await server.run(issueCard(server.baseUrl, { balanceFen: 100_000 }))
    const order = await server.run(kiosk.client.kiosk.holdWalkUp({
      payload: { runId: run.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode, passengerPhone: customer.phone }
    }))
    await server.run(kiosk.client.kiosk.payByCard({
      path: { orderId: order.orderId }, headers: { "idempotency-key": "pickup-sale-1" }, payload: { cardToken: card.token, pinBlock: card.pinBlock }
    }))
    const sale = (await pendingJobs()).find((job) => job.orderId === order.orderId)
    assert.equal(sale?.kind, "sale")
    assert.equal((await pickup({ phone: customer.phone, residentId })).status, 404)
    const voucher = await server.run(customer.client.delivery.getVoucher({ path: { orderId: order.orderId as OrderId } }))
    const refused = await pickup({ voucherCode: voucher.code }, otherKiosk)
    assert.deepEqual([refused.status, tagOf(refused.json)], [409, "TicketAlreadyPrinted"])
    // the refusal rolled the redemption back
    assert.equal((await server.run(customer.client.delivery.getVoucher({ path: { orderId: order.orderId as OrderId } }))).redeemedAtMs, null)

    const mistyped = voucher.code.slice(0, 11) + String((Number(voucher.code[11]) + 1) % 10)
    assert.deepEqual([(await pickup({ voucherCode: mistyped })).status, tagOf((await pickup({ voucherCode: mistyped })).json)], [422, "InvalidVoucherCode"])
    for (const body of [{}, { voucherCode: "1".repeat(33) }, { phone: "12345", residentId }, { phone: customer.phone, residentId: "not-an-id" }]) {
      assert.equal((await pickup(body)).status, 400, JSON.stringify(body))
    }
    assert.equal((await rawRequest(server.baseUrl, "POST", "/kiosk/pickups", { body: { voucherCode: voucher.code } })).status, 401)
  })
})

describe("the simulated bank's conditions", () => {
  let server: TestServer
  let run: TestRun
  let kiosk: TestKiosk
  before(async () => {
    server = await startTestServer()
    run = await server.run(createRun(server.baseUrl, { trainCode: "K601", stations: ["SHH", "BJP"], seatCount: 10 }))
    kiosk = await server.run(newKiosk(server.baseUrl, "bank-shh-1", "SHH"))
  })
  after(() => server.close())

  const holdAndPay = async (key: string) => {
    const card = await server.run(issueCard(server.baseUrl, { balanceFen: 100_000 }))
    const order = await server.run(kiosk.client.kiosk.holdWalkUp({ payload: { runId: run.runId, fromStation: "SHH" as StationCode, toStation: "BJP" as StationCode } }))
    const outcome = await server.run(Effect.either(kiosk.client.kiosk.payByCard({
      path: { orderId: order.orderId }, headers: { "idempotency-key": key }, payload: { cardToken: card.token, pinBlock: card.pinBlock }
    })))
    return { outcome, card: await cardState(server, card.token), state: (await server.run(kiosk.client.kiosk.getKioskOrder({ path: { orderId: order.orderId } }))).state }
  }

  test("a brownout declines as issuer-unavailable and charges nothing; set back, the bank pays again", async () => {
    const admin = await server.run(adminClient(server.baseUrl))
    const normal = await server.run(admin.paymentsAdmin.bankConditions())
    assert.deepEqual(normal, { latencyMs: 0, latencyJitterMs: 0, extraLatencyMs: 0, declineRate: 0 })
    const browned = { ...normal, extraLatencyMs: 5, declineRate: 1 }
    assert.deepEqual(await server.run(admin.paymentsAdmin.setBankConditions({ payload: browned })), browned)
    assert.deepEqual(await server.run(admin.paymentsAdmin.bankConditions()), browned)
    const declined = await holdAndPay("bank-brownout-1")
    assert.equal(declined.outcome._tag, "Left")
    if (declined.outcome._tag === "Left") assert.deepEqual({ ...declined.outcome.left }, { _tag: "CardDeclined", reason: "issuer-unavailable" })
    assert.deepEqual([declined.card, declined.state], [{ balanceFen: 100_000, heldFen: 0, lost: false }, "held"])

    await server.run(admin.paymentsAdmin.setBankConditions({ payload: normal }))
    const paid = await holdAndPay("bank-brownout-2")
    assert.equal(paid.outcome._tag, "Right")
    assert.equal(paid.state, "issued")
  })

  test("bad conditions are 400 and change nothing; only the admin sets them", async () => {
    const headers = { "x-admin-key": server.settings.adminKey }
    for (const body of [{ latencyMs: 0, latencyJitterMs: 0, extraLatencyMs: 0, declineRate: 1.5 }, { latencyMs: -1, latencyJitterMs: 0, extraLatencyMs: 0, declineRate: 0 }, { declineRate: 0 }]) {
      const refused = await rawRequest(server.baseUrl, "PUT", "/admin/bank/conditions", { headers, body })
      assert.equal(refused.status, 400, JSON.stringify(body))
      assert.equal(tagOf(refused.json), "HttpApiDecodeError")
    }
    assert.equal((await rawRequest(server.baseUrl, "PUT", "/admin/bank/conditions", { body: { latencyMs: 0, latencyJitterMs: 0, extraLatencyMs: 0, declineRate: 1 } })).status, 403)
    const admin = await server.run(adminClient(server.baseUrl))
    assert.equal((await server.run(admin.paymentsAdmin.bankConditions())).declineRate, 0)
  })
})
