/**
 * Registration and sessions over real HTTP: one account per phone number (also when the same number
 * registers concurrently), login with the password, and a session token that identifies its customer.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { setTimeout as sleep } from "node:timers/promises"
import { Effect, Either } from "effect"
import type { PhoneNumber } from "./Domain.js"
import {
  anonymousClient, bearer, freshPhone, freshResidentId, newCustomer, rawRequest, startTestServer, tagOf, testPassword, testPaymentPassword,
  withTestServer
} from "./testing/TestServer.js"
import type { TestServer } from "./testing/TestServer.js"

const concurrentRegistrations = 10

describe("customers", () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
  })
  after(() => server.close())

  const registration = (phone: PhoneNumber) => ({ phone, password: testPassword, paymentPassword: testPaymentPassword, residentId: freshResidentId() })

  test("registering the same phone twice is PhoneAlreadyRegistered (409)", async () => {
    const phone = freshPhone()
    const anonymous = await server.run(anonymousClient(server.baseUrl))
    const registered = await server.run(anonymous.customers.register({ payload: registration(phone) }))
    assert.equal(registered.phone, phone)
    assert.match(registered.customerId, /^C[0-9a-f]{16}$/)

    const raw = await rawRequest(server.baseUrl, "POST", "/customers", {
      body: { ...registration(phone), password: "another password entirely" }
    })
    assert.equal(raw.status, 409)
    assert.deepEqual(raw.json, { _tag: "PhoneAlreadyRegistered", phone })

    // the first registration's password still logs in; the refused one's does not
    const session = await server.run(anonymous.customers.login({ payload: { phone, password: testPassword } }))
    assert.equal(session.customerId, registered.customerId)
    const refused = await server.run(Effect.flip(anonymous.customers.login({ payload: { phone, password: "another password entirely" } })))
    assert.equal(refused._tag, "InvalidCredentials")
  })

  test(`${concurrentRegistrations} concurrent registrations of one phone: exactly one account`, async () => {
    const phone = freshPhone()
    const anonymous = await server.run(anonymousClient(server.baseUrl))
    const outcomes = await server.run(Effect.all(
      Array.from({ length: concurrentRegistrations }, () => Effect.either(anonymous.customers.register({ payload: registration(phone) }))),
      { concurrency: "unbounded" }
    ))
    assert.equal(outcomes.filter(Either.isRight).length, 1)
    for (const outcome of outcomes.filter(Either.isLeft)) assert.equal(outcome.left._tag, "PhoneAlreadyRegistered")
  })

  test("a session token identifies its customer; each login is a new session", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const anonymous = await server.run(anonymousClient(server.baseUrl))
    const second = await server.run(anonymous.customers.login({ payload: { phone: customer.phone, password: customer.password } }))
    assert.notEqual(second.token, customer.token)
    assert.equal(second.customerId, customer.customerId)
    assert.ok(second.expiresAtMs > Date.now(), "the session is already expired")
    for (const token of [customer.token, second.token]) {
      const wallet = await rawRequest(server.baseUrl, "GET", "/wallet", { headers: bearer(token) })
      assert.equal(wallet.status, 200)
      assert.deepEqual(wallet.json, { balanceFen: 0 })
    }
  })

  test("a session expires after sessionTtlMs", async () => {
    await withTestServer({ sessionTtlMs: 400 }, async (shortLived) => {
      const customer = await shortLived.run(newCustomer(shortLived.baseUrl))
      assert.equal((await rawRequest(shortLived.baseUrl, "GET", "/wallet", { headers: bearer(customer.token) })).status, 200)
      await sleep(500)
      const raw = await rawRequest(shortLived.baseUrl, "GET", "/wallet", { headers: bearer(customer.token) })
      assert.equal(raw.status, 401)
      assert.equal(tagOf(raw.json), "Unauthorized")
    })
  })
})
