/**
 * Anonymous devices (seed 004 [0056]–[0068]) over real HTTP: a device registers by its ID (the server
 * checks the CRC-64 check code), then tops up, holds, pays and gets a ticket like a phone customer; the
 * ticket is bound to the device ID, so a gate admits it when the device ID is presented and refuses a phone number.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect, Either } from "effect"
import { defaultSettings } from "./Config.js"
import { buyJourney, freshDeviceId, newDevice } from "./testing/Customers.js"
import {
  anonymousClient, createRun, newCustomer, newGate, rawRequest, startTestServer, storeQuery, tagOf, withTestServer
} from "./testing/TestServer.js"
import type { TestGate, TestRun, TestServer } from "./testing/TestServer.js"

/** concurrent device logins, the right payment password at `rightPasswordAt` among wrong ones */
const passwordBurstSize = 60
const rightPasswordAt = 40

describe("anonymous devices", () => {
  let server: TestServer
  let run: TestRun
  let gate: TestGate
  before(async () => {
    server = await startTestServer()
    run = await server.run(createRun(server.baseUrl, { trainCode: "G7", stations: ["BJP", "TJP"], seatCount: 20 }))
    gate = await server.run(newGate(server.baseUrl, "bjp-device-gate", "BJP"))
  })
  after(() => server.close())

  const customerCount = async () =>
    Number((await server.run(storeQuery<{ count: number }>(`SELECT COUNT(*) AS count FROM customers`)))[0]?.count)

  test("a device registers, tops up, holds, pays; its ticket admits with the device ID, not with a phone number", async () => {
    const device = await server.run(newDevice(server.baseUrl, freshDeviceId("08:15:42")))
    const { order, paid } = await server.run(buyJourney(device, run, "device-1"))
    assert.equal(paid.state, "issued")
    const ticket = await server.run(device.client.issuance.getTicket({ path: { orderId: order.orderId } }))

    const profile = await server.run(device.client.profile.getProfile())
    assert.equal(profile.phone, null)
    assert.equal(profile.deviceId, device.deviceId)
    assert.equal(profile.netSpendFen, order.priceFen)
    assert.deepEqual(profile.classification, { vip: false, region: "unknown", ageBand: "unknown" })

    const someonesPhone = (await server.run(newCustomer(server.baseUrl))).phone
    const withPhone = await rawRequest(server.baseUrl, "POST", "/gates/scans", {
      headers: { "x-device-key": gate.deviceKey }, body: { qr: ticket.qr, presentedHolder: someonesPhone }
    })
    assert.equal(withPhone.status, 403)
    assert.equal(tagOf(withPhone.json), "BindingMismatch")

    const admission = await server.run(gate.client.checkin.scan({ payload: { qr: ticket.qr, presentedHolder: device.deviceId } }))
    assert.equal(admission.ticketId, ticket.ticketId)
    const [stored] = await server.run(storeQuery<{ holder: string }>(`SELECT holder FROM tickets WHERE id = ?`, ticket.ticketId))
    assert.equal(stored?.holder, device.deviceId)
  })

  test("an ID whose check code does not match is InvalidDeviceId (422) and creates nothing", async () => {
    const valid = freshDeviceId()
    const before = await customerCount()
    for (const corrupted of [
      valid.slice(0, 20) + (valid[20] === "0" ? "1" : "0") + valid.slice(21), // a field byte
      valid.slice(0, 79) + (valid[79] === "0" ? "1" : "0") // the check code itself
    ]) {
      const raw = await rawRequest(server.baseUrl, "POST", "/devices", { body: { deviceId: corrupted, paymentPassword: "975310" } })
      assert.equal(raw.status, 422)
      assert.deepEqual(raw.json, { _tag: "InvalidDeviceId", problem: "check code (CRC-64/XZ) does not match the fields" })
    }
    const short = await rawRequest(server.baseUrl, "POST", "/devices", { body: { deviceId: valid.slice(0, 64), paymentPassword: "975310" } })
    assert.equal(short.status, 422)
    assert.match(String((short.json as { problem?: unknown }).problem), /80 or 96 lowercase hex/)
    assert.equal(await customerCount(), before)
    // the uncorrupted ID still registers
    await server.run(newDevice(server.baseUrl, valid))
    assert.equal(await customerCount(), before + 1)
  })

  test("the same device ID registers once (409), also when it registers concurrently", async () => {
    const deviceId = freshDeviceId()
    const anonymous = await server.run(anonymousClient(server.baseUrl))
    const outcomes = await server.run(Effect.all(
      Array.from({ length: 6 }, () => Effect.either(anonymous.customers.registerDevice({ payload: { deviceId, paymentPassword: "975310" } }))),
      { concurrency: "unbounded" }
    ))
    assert.equal(outcomes.filter((outcome) => outcome._tag === "Right").length, 1)
    for (const outcome of outcomes) if (outcome._tag === "Left") assert.equal(outcome.left._tag, "DeviceAlreadyRegistered")
    const [row] = await server.run(storeQuery<{ count: number }>(`SELECT COUNT(*) AS count FROM customers WHERE device_id = ?`, deviceId))
    assert.equal(Number(row?.count), 1)
  })

  test("a device's customer has no login password to change (409) and its payment password locks like anyone's", async () => {
    const device = await server.run(newDevice(server.baseUrl))
    const noPassword = await rawRequest(server.baseUrl, "PUT", "/customers/me/password", {
      headers: { authorization: `Bearer ${device.token}` }, body: { oldPassword: "whatever it was", newPassword: "something new here" }
    })
    assert.equal(noPassword.status, 409)
    assert.equal(tagOf(noPassword.json), "NoLoginPassword")
    const maxFailures = server.settings.maxPaymentPasswordFailures
    for (let failures = 1; failures <= maxFailures; failures++) {
      const refused = await server.run(Effect.flip(device.client.profile.changePaymentPassword({
        payload: { oldPaymentPassword: "000000", newPaymentPassword: "111111" }
      })))
      assert.deepEqual(refused._tag === "PaymentPasswordWrong" && refused.attemptsLeft, maxFailures - failures)
    }
    const locked = await server.run(Effect.flip(buyJourney(device, run, "device-locked")))
    assert.equal(locked._tag, "PaymentLocked")
  })

  test(`${passwordBurstSize} concurrent device logins with the right password late among wrong ones: at most maxPaymentPasswordFailures are checked, no session opens`, async () => {
    // Node's default scrypt cost: each check takes long enough for the burst's checks to overlap, as in production
    await withTestServer({ passwordHashCostN: defaultSettings.passwordHashCostN }, async (own) => {
      const device = await own.run(newDevice(own.baseUrl))
      const anonymous = await own.run(anonymousClient(own.baseUrl))
      const maxFailures = own.settings.maxPaymentPasswordFailures
      const outcomes = await own.run(Effect.all(
        Array.from({ length: passwordBurstSize }, (_, index) => Effect.either(anonymous.customers.deviceLogin({
          payload: { deviceId: device.deviceId, paymentPassword: index === rightPasswordAt ? device.paymentPassword : "000000" }
        }))),
        { concurrency: "unbounded" }
      ))
      const tags = outcomes.map((outcome) => Either.isRight(outcome) ? "session" : outcome.left._tag)
      const checked = tags.filter((tag) => tag === "PaymentPasswordWrong").length
      assert.ok(checked <= maxFailures, `${checked} wrong payment passwords were checked, the limit is ${maxFailures}`)
      assert.equal(tags[rightPasswordAt], "PaymentLocked", `the right password, sent after ${rightPasswordAt} wrong ones, was answered ${tags[rightPasswordAt]}`)
      assert.deepEqual(new Set(tags), new Set(["PaymentPasswordWrong", "PaymentLocked"]))
      const [sessions] = await own.run(storeQuery<{ count: number }>(`SELECT COUNT(*) AS count FROM sessions WHERE customer_id = ?`, device.customerId))
      // the registration's own session only
      assert.equal(Number(sessions?.count), 1)
    })
  })

  test("a registered device signs in again with its ID and payment password; an unknown one cannot", async () => {
    const device = await server.run(newDevice(server.baseUrl))
    const anonymous = await server.run(anonymousClient(server.baseUrl))
    const session = await server.run(anonymous.customers.deviceLogin({ payload: { deviceId: device.deviceId, paymentPassword: device.paymentPassword } }))
    assert.equal(session.customerId, device.customerId)
    assert.notEqual(session.token, device.token)
    const wrong = await rawRequest(server.baseUrl, "POST", "/devices/sessions", { body: { deviceId: device.deviceId, paymentPassword: "000000" } })
    assert.equal(wrong.status, 403)
    assert.deepEqual(wrong.json, { _tag: "PaymentPasswordWrong", attemptsLeft: server.settings.maxPaymentPasswordFailures - 1 })
    const unknown = await rawRequest(server.baseUrl, "POST", "/devices/sessions", { body: { deviceId: freshDeviceId(), paymentPassword: "975310" } })
    assert.equal(unknown.status, 401)
    assert.equal(tagOf(unknown.json), "InvalidCredentials")
  })
})
