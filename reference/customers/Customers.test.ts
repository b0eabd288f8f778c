/**
 * Registration and sessions over real HTTP: one account per phone number (also when the same number
 * registers concurrently), login with the password, and a session token that identifies its customer.
 */
import assert from "node:assert/strict"
import { createHmac } from "node:crypto"
import { after, before, describe, test } from "node:test"
import { setTimeout as sleep } from "node:timers/promises"
import { Effect, Either } from "effect"
import { defaultSettings } from "../Config.js"
import { makeResidentId } from "./Customers/ResidentId.js"
import { Passwords } from "./Passwords.js"
import { paymentPasswordKeyOf } from "../delivery/Issuance/Keys.js"
import { CryptoConfig } from "../Settings/Crypto.js"
import type { PhoneNumber } from "../Domain.js"
import { customerWithResidentId } from "../testing/Customers.js"
import {
  anonymousClient, bearer, freshPhone, freshResidentId, newCustomer, rawRequest, startTestServer, storeQuery, tagOf, testPassword,
  testPasswordHashCostN, testPaymentPassword, withTestServer
} from "../testing/TestServer.js"
import type { TestServer } from "../testing/TestServer.js"

const concurrentRegistrations = 10
/** concurrent logins, the right password at `rightPasswordAt` among wrong ones */
const passwordBurstSize = 100
const rightPasswordAt = 60

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

  test(`${passwordBurstSize} concurrent logins with the right password late among wrong ones: at most maxLoginPasswordFailures are checked, then the account is locked for loginLockoutMs`, async () => {
    // Node's default scrypt cost: each check takes long enough for the burst's checks to overlap, as in production
    await withTestServer({ passwordHashCostN: defaultSettings.passwordHashCostN }, async (own) => {
      const customer = await own.run(newCustomer(own.baseUrl))
      const anonymous = await own.run(anonymousClient(own.baseUrl))
      const login = (password: string) => anonymous.customers.login({ payload: { phone: customer.phone, password } })
      const maxFailures = own.settings.maxLoginPasswordFailures
      const outcomes = await own.run(Effect.all(
        Array.from({ length: passwordBurstSize }, (_, index) => Effect.either(login(index === rightPasswordAt ? testPassword : `wrong password ${index}`))),
        { concurrency: "unbounded" }
      ))
      const tags = outcomes.map((outcome) => Either.isRight(outcome) ? "session" : outcome.left._tag)
      const checked = tags.filter((tag) => tag === "InvalidCredentials").length
      assert.ok(checked <= maxFailures, `${checked} wrong login passwords were checked, the limit is ${maxFailures}`)
      assert.equal(tags[rightPasswordAt], "LoginLocked", `the right password, sent after ${rightPasswordAt} wrong ones, was answered ${tags[rightPasswordAt]}`)
      assert.deepEqual(new Set(tags), new Set(["InvalidCredentials", "LoginLocked"]))

      // the session the customer already had cannot guess the password either: changing it is refused unchecked
      const change = await rawRequest(own.baseUrl, "PUT", "/customers/me/password", {
        headers: bearer(customer.token), body: { oldPassword: testPassword, newPassword: "a brand new password" }
      })
      assert.equal(change.status, 423)
      assert.equal(tagOf(change.json), "LoginLocked")

      const locked = await rawRequest(own.baseUrl, "POST", "/sessions", { body: { phone: customer.phone, password: testPassword } })
      assert.equal(locked.status, 423)
      const retryAfterMs = (locked.json as { retryAfterMs: number }).retryAfterMs
      assert.ok(retryAfterMs > 0 && retryAfterMs <= own.settings.loginLockoutMs, `retryAfterMs ${retryAfterMs}`)
      own.advanceClock(own.settings.loginLockoutMs)
      const session = await own.run(login(testPassword))
      assert.equal(session.customerId, customer.customerId)
      // the right password gave back its attempt: a wrong one now has the whole count before it
      for (let failures = 1; failures <= maxFailures; failures++) {
        assert.equal((await own.run(Effect.flip(login("wrong again"))))._tag, "InvalidCredentials")
      }
      assert.equal((await own.run(Effect.flip(login(testPassword))))._tag, "LoginLocked")
    })
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

  test("a bad resident ID is InvalidResidentId (422) naming the problem, and registers nothing", async () => {
    const valid = makeResidentId("440305", "19900715", "123")
    const cases = [
      { residentId: valid.slice(0, 17) + (valid[17] === "0" ? "1" : "0"), problem: /check digit does not match/ },
      { residentId: makeResidentId("440305", "19900230", "123"), problem: /birth date 19900230 is not a real date/ },
      { residentId: makeResidentId("440305", "20990101", "123"), problem: /birth date 20990101 is not a real date/ },
      { residentId: makeResidentId("990305", "19900715", "123"), problem: /region 990305 is not in a known province/ },
      { residentId: "44030519900715123", problem: /17 digits and a check digit or X/ }
    ]
    for (const { residentId, problem } of cases) {
      const phone = freshPhone()
      const raw = await rawRequest(server.baseUrl, "POST", "/customers", { body: { ...registration(phone), residentId } })
      assert.equal(raw.status, 422, residentId)
      assert.equal(tagOf(raw.json), "InvalidResidentId")
      assert.match(String((raw.json as { problem?: unknown }).problem), problem)
      const login = await rawRequest(server.baseUrl, "POST", "/sessions", { body: { phone, password: testPassword } })
      assert.equal(login.status, 401, "a refused registration left a customer behind")
    }
  })

  test("a customer reads their own profile: province and birth date from the ID, the ID itself masked", async () => {
    const residentId = makeResidentId("510107", "19850304", "457")
    const customer = await server.run(customerWithResidentId(server.baseUrl, residentId, "Li Hua"))
    const profile = await server.run(customer.client.profile.getProfile())
    assert.equal(profile.customerId, customer.customerId)
    assert.equal(profile.phone, customer.phone)
    assert.equal(profile.name, "Li Hua")
    assert.equal(profile.residentIdMasked, `510107********${residentId.slice(14)}`)
    assert.equal(profile.province, "Sichuan")
    assert.equal(profile.birthDate, "1985-03-04")
    assert.deepEqual(profile.classification.region, "Sichuan")
    assert.equal(profile.netSpendFen, 0)
    const raw = await rawRequest(server.baseUrl, "GET", "/customers/me", { headers: bearer(customer.token) })
    assert.ok(!raw.text.includes(residentId), "the full resident ID left the server")
    // another customer's token reads the other customer, never this one
    const other = await server.run(newCustomer(server.baseUrl))
    assert.equal((await server.run(other.client.profile.getProfile())).customerId, other.customerId)
    // a lower-case check character x is the same number
    const withX = makeResidentId("110105", "19491231", "002")
    assert.equal(withX.at(-1), "X")
    const lower = await server.run(customerWithResidentId(server.baseUrl, withX.toLowerCase()))
    assert.equal((await server.run(lower.client.profile.getProfile())).residentIdMasked, "110105********002X")
    assert.equal((await rawRequest(server.baseUrl, "GET", "/customers/me")).status, 401)
  })

  test("a customer changes their name", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const changed = await server.run(customer.client.profile.changeName({ payload: { name: "Wang Fang" } }))
    assert.equal(changed.name, "Wang Fang")
    assert.equal((await server.run(customer.client.profile.getProfile())).name, "Wang Fang")
    const empty = await rawRequest(server.baseUrl, "PATCH", "/customers/me", { headers: bearer(customer.token), body: { name: "" } })
    assert.equal(empty.status, 400)
  })

  test("the password changes only with the old one; afterwards only the new one logs in", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const anonymous = await server.run(anonymousClient(server.baseUrl))
    const wrong = await rawRequest(server.baseUrl, "PUT", "/customers/me/password", {
      headers: bearer(customer.token), body: { oldPassword: "not the old password", newPassword: "a brand new password" }
    })
    assert.equal(wrong.status, 403)
    assert.deepEqual(wrong.json, { _tag: "OldPasswordWrong" })
    await server.run(anonymous.customers.login({ payload: { phone: customer.phone, password: testPassword } }))

    const fresh = await server.run(customer.client.profile.changePassword({ payload: { oldPassword: testPassword, newPassword: "a brand new password" } }))
    // every session of the old password ended (the one that made the change too); the answer's session works
    assert.equal((await rawRequest(server.baseUrl, "GET", "/customers/me", { headers: bearer(customer.token) })).status, 401)
    assert.equal((await rawRequest(server.baseUrl, "GET", "/customers/me", { headers: bearer(fresh.token) })).status, 200)
    const refused = await server.run(Effect.flip(anonymous.customers.login({ payload: { phone: customer.phone, password: testPassword } })))
    assert.equal(refused._tag, "InvalidCredentials")
    const session = await server.run(anonymous.customers.login({ payload: { phone: customer.phone, password: "a brand new password" } }))
    assert.equal(session.customerId, customer.customerId)
  })

  test("the payment password changes only with the old one; wrong old ones count towards the lockout", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const change = (oldPaymentPassword: string, newPaymentPassword: string) =>
      customer.client.profile.changePaymentPassword({ payload: { oldPaymentPassword, newPaymentPassword } })
    await server.run(change(testPaymentPassword, "135791"))
    const stale = await server.run(Effect.flip(change(testPaymentPassword, "999999")))
    assert.equal(stale._tag === "PaymentPasswordWrong" && stale.attemptsLeft, server.settings.maxPaymentPasswordFailures - 1)
    await server.run(change("135791", "246802"))
    const maxFailures = server.settings.maxPaymentPasswordFailures
    for (let failures = 1; failures <= maxFailures; failures++) {
      const refused = await server.run(Effect.flip(change("000000", "111111")))
      assert.equal(refused._tag === "PaymentPasswordWrong" && refused.attemptsLeft, maxFailures - failures)
    }
    const locked = await rawRequest(server.baseUrl, "PUT", "/customers/me/payment-password", {
      headers: bearer(customer.token), body: { oldPaymentPassword: "246802", newPaymentPassword: "111111" }
    })
    assert.equal(locked.status, 423)
    assert.equal(tagOf(locked.json), "PaymentLocked")
  })

  test("the payment password is kept as an HMAC under the store's key; a scrypt hash of an older store still verifies", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const storedHash = async () => (await server.run(storeQuery<{ hash: string }>(
      "SELECT payment_password_hash AS hash FROM customers WHERE id = ?", customer.customerId)))[0]!.hash
    const [, keyId, saltHex, macHex] = (await storedHash()).split("$")
    assert.match(await storedHash(), /^hmac-sha256\$1\$[0-9a-f]{32}\$[0-9a-f]{64}$/)
    const [key] = await server.run(storeQuery<{ seed_hex: string }>("SELECT seed_hex FROM signing_keys WHERE key_id = ?", Number(keyId)))
    const macUnder = (keyBytes: Uint8Array) => createHmac("sha256", keyBytes).update(Buffer.from(saltHex!, "hex")).update(testPaymentPassword).digest("hex")
    assert.equal(macUnder(paymentPasswordKeyOf(Buffer.from(key!.seed_hex, "hex"))), macHex, "the MAC is under the key derived from the store's signing seed")
    assert.notEqual(macUnder(paymentPasswordKeyOf(new Uint8Array(32))), macHex, "another store's key gives another MAC")

    const scryptHash = await Effect.runPromise(Effect.flatMap(Passwords, (passwords) => passwords.hash(testPaymentPassword)).pipe(
      Effect.provide(Passwords.Default), Effect.provide(CryptoConfig.layer({ passwordHashCostN: testPasswordHashCostN }))))
    await server.run(storeQuery("UPDATE customers SET payment_password_hash = ? WHERE id = ?", scryptHash, customer.customerId))
    const change = (oldPaymentPassword: string, newPaymentPassword: string) =>
      customer.client.profile.changePaymentPassword({ payload: { oldPaymentPassword, newPaymentPassword } })
    const wrong = await server.run(Effect.flip(change("000000", "135791")))
    assert.equal(wrong._tag, "PaymentPasswordWrong", "a wrong password does not verify against the scrypt hash")
    await server.run(change(testPaymentPassword, "135791"))
    assert.match(await storedHash(), /^hmac-sha256\$/, "the changed password is kept as an HMAC")
    await server.run(change("135791", testPaymentPassword))
  })
})
