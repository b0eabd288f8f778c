/**
 * Customers (seeds 000, 002, 004): registration by phone number and resident ID, login sessions, the
 * customer's own profile and its changes, classification, anonymous devices, and the payment password with
 * its lockout. Sessions are stored by the SHA-256 of the token, so a store dump does not leak them.
 */
import { createHash } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { LedgerRepo } from "../payments/Accounts/Repo.js"
import { CalendarConfig } from "../Settings/Calendar.js"
import { AccessConfig } from "../Settings/Access.js"
import { PasswordConfig } from "../Settings/Passwords.js"
import { CustomerConfig } from "../Settings/Customers.js"
import { classOf, localDateOf } from "./Customers/Classification.js"
import { decodeDeviceId } from "./Customers/DeviceId.js"
import { DeviceAlreadyRegistered, InvalidDeviceId, InvalidResidentId, LoginLocked, NoLoginPassword, OldPasswordWrong } from "./Customers/Errors.js"
import type { Profile } from "./Customers/Api.js"
import { CustomersRepo } from "./Customers/Repo.js"
import type { CustomerRow } from "./Customers/Repo.js"
import { checkResidentId } from "./Customers/ResidentId.js"
import {
  InvalidCredentials, PaymentLocked, PaymentPasswordWrong, PhoneAlreadyRegistered, Unauthorized
} from "../Domain.js"
import type { CustomerId, PhoneNumber } from "../Domain.js"
import { Ids } from "../Ids.js"
import { Passwords } from "./Passwords.js"
import { PaymentPasswords } from "./PaymentPasswords.js"
import { spanOptions } from "../Spans.js"

export const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex")

/** 11010519491231002X → 110105********002X: region and sequence stay readable, the birth date does not. */
export const maskResidentId = (residentId: string) => `${residentId.slice(0, 6)}********${residentId.slice(14)}`

export class Customers extends Effect.Service<Customers>()("Customers", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* CustomersRepo
    const ids = yield* Ids
    const passwords = yield* Passwords
    const paymentPasswords = yield* PaymentPasswords
    const ledger = yield* LedgerRepo
    const calendarSettings = yield* CalendarConfig
    const accessSettings = yield* AccessConfig
    const passwordSettings = yield* PasswordConfig
    const customerSettings = yield* CustomerConfig

    const today = Effect.map(Clock.currentTimeMillis, (nowMs) => localDateOf(nowMs, calendarSettings.utcOffsetMinutes))

    const register = (input: { phone: PhoneNumber; password: string; paymentPassword: string; residentId: string; name?: string | undefined }) =>
      Effect.gen(function* () {
        // people type the check character X in lower case as often as not
        const residentId = input.residentId.toUpperCase()
        const checked = checkResidentId(residentId, yield* today)
        if (!checked.ok) return yield* new InvalidResidentId({ problem: checked.problem })
        if (yield* repo.byPhone(input.phone)) return yield* new PhoneAlreadyRegistered({ phone: input.phone })
        const id = yield* ids.customerId
        const passwordHash = yield* passwords.hash(input.password)
        const paymentHash = yield* paymentPasswords.hash(input.paymentPassword)
        const nowMs = yield* Clock.currentTimeMillis
        const inserted = yield* sql.withTransaction(Effect.gen(function* () {
          const fresh = yield* repo.insert({
            id, phone: input.phone, password_hash: passwordHash, payment_password_hash: paymentHash, name: input.name ?? null,
            resident_id: residentId, province: checked.facts.province, birth_date: checked.facts.birthDate
          }, nowMs)
          if (fresh) yield* ledger.openWallet(id)
          return fresh
        }))
        // a concurrent registration of the same number won the unique index
        if (!inserted) return yield* new PhoneAlreadyRegistered({ phone: input.phone })
        return { customerId: id, phone: input.phone }
      }).pipe(Effect.withSpan("Customers.register", spanOptions))

    const newSession = (customerId: CustomerId) =>
      Effect.gen(function* () {
        const token = yield* ids.secretToken
        const expiresAtMs = (yield* Clock.currentTimeMillis) + accessSettings.sessionTtlMs
        yield* repo.insertSession(sha256Hex(token), customerId, expiresAtMs)
        return { token, customerId, expiresAtMs }
      })

    /**
     * Counts an attempt (`count` is a conditional write: undefined at the limit). The count includes attempts
     * whose check is still running, which a right password gives back: an attempt refused at the limit looks
     * again for `passwordAttemptWaitMs`, so concurrent retries of one right password do not lock each other out.
     */
    const countAttempt = <A, E, R>(count: Effect.Effect<A | undefined, E, R>) =>
      Effect.gen(function* () {
        const giveUpAtMs = (yield* Clock.currentTimeMillis) + passwordSettings.passwordAttemptWaitMs
        while (true) {
          const counted = yield* count
          if (counted !== undefined || (yield* Clock.currentTimeMillis) >= giveUpAtMs) return counted
          yield* Effect.sleep(passwordSettings.passwordAttemptPollMs)
        }
      })

    const loginLimits = { maxFailures: passwordSettings.maxLoginPasswordFailures, lockoutMs: passwordSettings.loginLockoutMs }

    /**
     * Checks a login password, counting the attempt before the check (Repo `countLoginAttempt`): however many
     * requests race, no more than `maxLoginPasswordFailures` are checked before the account locks for
     * `loginLockoutMs`. A right password gives back the attempts counted up to its own.
     */
    const checkLoginPassword = <E>(customerId: CustomerId, password: string, wrong: E) =>
      Effect.gen(function* () {
        const counted = yield* countAttempt(Effect.flatMap(Clock.currentTimeMillis, (nowMs) => repo.countLoginAttempt(customerId, loginLimits, nowMs)))
        if (!counted) {
          const nowMs = yield* Clock.currentTimeMillis
          const lockedUntilMs = (yield* repo.loginLockedUntilMs(customerId)) ?? nowMs
          return yield* new LoginLocked({ retryAfterMs: Math.max(0, lockedUntilMs - nowMs) })
        }
        if (counted.password_hash === null || !(yield* passwords.verify(password, counted.password_hash))) return yield* Effect.fail(wrong)
        yield* repo.forgiveLoginAttempts(customerId, counted.login_failures)
        return counted.password_hash
      })

    /**
     * A phone number's resident ID as a kiosk checks it before printing the customer's tickets: a secret of the
     * account as its password is, so its attempts count towards the same lockout. The customer when the ID is
     * right; undefined for an unknown phone, a wrong ID and a locked account alike, so the kiosk learns no more.
     */
    const checkResidentIdOf = (phone: PhoneNumber, residentId: string) =>
      Effect.gen(function* () {
        const customer = yield* repo.byPhone(phone)
        if (!customer || customer.resident_id === null) return undefined
        const counted = yield* countAttempt(Effect.flatMap(Clock.currentTimeMillis, (nowMs) => repo.countLoginAttempt(customer.id, loginLimits, nowMs)))
        if (!counted || customer.resident_id !== residentId.toUpperCase()) return undefined
        yield* repo.forgiveLoginAttempts(customer.id, counted.login_failures)
        return customer.id
      })

    const login = (input: { phone: PhoneNumber; password: string }) =>
      Effect.gen(function* () {
        const customer = yield* repo.byPhone(input.phone)
        if (!customer || customer.password_hash === null) return yield* new InvalidCredentials()
        yield* checkLoginPassword(customer.id, input.password, new InvalidCredentials())
        return yield* newSession(customer.id)
      }).pipe(Effect.withSpan("Customers.login", spanOptions))

    /**
     * Seed 004 [0056]–[0061]: an app that stays anonymous registers by its device ID, whose check code the
     * server verifies. It gets a customer with no phone number, a wallet, the payment password it chose,
     * and a session, so it holds and pays like any customer; its tickets are bound to the device ID.
     */
    const registerDevice = (input: { deviceId: string; paymentPassword: string }) =>
      Effect.gen(function* () {
        const decoded = decodeDeviceId(input.deviceId)
        if (!decoded.ok) return yield* new InvalidDeviceId({ problem: decoded.problem })
        const id = yield* ids.customerId
        const paymentHash = yield* paymentPasswords.hash(input.paymentPassword)
        const nowMs = yield* Clock.currentTimeMillis
        const inserted = yield* sql.withTransaction(Effect.gen(function* () {
          const fresh = yield* repo.insertDevice({
            id, device_id: input.deviceId, device_install_time: decoded.device.installTime, payment_password_hash: paymentHash
          }, nowMs)
          if (fresh) yield* ledger.openWallet(id)
          return fresh
        }))
        if (!inserted) return yield* new DeviceAlreadyRegistered({ deviceId: input.deviceId })
        return yield* newSession(id)
      }).pipe(Effect.withSpan("Customers.registerDevice", spanOptions))

    const authenticate = (token: string) =>
      Effect.gen(function* () {
        const customer = yield* repo.sessionCustomer(sha256Hex(token), yield* Clock.currentTimeMillis)
        if (!customer) return yield* new Unauthorized({ message: "unknown or expired session token" })
        return customer
      })

    const existing = (customerId: CustomerId) =>
      Effect.flatMap(repo.byId(customerId), (customer) =>
        customer ? Effect.succeed(customer) : Effect.dieMessage(`authenticated customer ${customerId} has no row`))

    const classify = (customer: CustomerRow) =>
      Effect.gen(function* () {
        const netSpendFen = yield* repo.netSpendFen(customer.id)
        return { netSpendFen, ...classOf(customer, netSpendFen, customerSettings.vipSpendThresholdFen, yield* today) }
      })

    /** The customer's own view: the resident ID masked even here, the class statistics count it in. */
    const profile = (customerId: CustomerId) =>
      Effect.gen(function* () {
        const customer = yield* existing(customerId)
        const { netSpendFen, ...classification } = yield* classify(customer)
        const result: Profile = {
          customerId: customer.id, phone: customer.phone, deviceId: customer.device_id, name: customer.name,
          residentIdMasked: customer.resident_id === null ? null : maskResidentId(customer.resident_id),
          province: customer.province, birthDate: customer.birth_date, netSpendFen, classification
        }
        return result
      })

    const changeName = (customerId: CustomerId, name: string) =>
      Effect.zipRight(repo.setName(customerId, name), profile(customerId))

    const changePassword = (customerId: CustomerId, input: { oldPassword: string; newPassword: string }) =>
      Effect.gen(function* () {
        const customer = yield* existing(customerId)
        if (customer.password_hash === null) {
          return yield* new NoLoginPassword({ message: "an anonymous device's customer has no login password" })
        }
        // the old password is a login password: a stolen session guesses it no faster than a login would
        const oldHash = yield* checkLoginPassword(customerId, input.oldPassword, new OldPasswordWrong())
        const newHash = yield* passwords.hash(input.newPassword)
        // a concurrent change with the same old password replaced the hash first: this one's old password is stale
        const replaced = yield* sql.withTransaction(Effect.gen(function* () {
          if (!(yield* repo.replacePasswordHash(customerId, oldHash, newHash))) return false
          // whoever signed in with the old password (perhaps the reason for the change) is signed out
          yield* repo.deleteSessions(customerId)
          return true
        }))
        if (!replaced) return yield* new OldPasswordWrong()
        return yield* newSession(customerId)
      }).pipe(Effect.withSpan("Customers.changePassword", spanOptions))

    /**
     * Checks the six-digit payment password, counting the attempt before the check (Repo `countPaymentAttempt`):
     * however many requests race, no more than `maxPaymentPasswordFailures` are checked before payments lock.
     * A right password gives back the attempts counted up to its own: `forgive`, which the caller runs (a
     * payment runs it inside its own transaction, so a payment commits once for both).
     */
    const checkPaymentPassword = (customerId: CustomerId, paymentPassword: string) =>
      Effect.gen(function* () {
        const counted = yield* countAttempt(repo.countPaymentAttempt(customerId, passwordSettings.maxPaymentPasswordFailures))
        if (!counted) {
          yield* existing(customerId)
          return yield* new PaymentLocked({ message: "too many wrong payment passwords; reset required" })
        }
        if (yield* paymentPasswords.verify(paymentPassword, counted.payment_password_hash)) {
          return { customer: counted, forgive: repo.forgivePaymentAttempts(customerId, counted.payment_failures) }
        }
        return yield* new PaymentPasswordWrong({ attemptsLeft: Math.max(0, passwordSettings.maxPaymentPasswordFailures - counted.payment_failures) })
      })

    /** `checkPaymentPassword` with its attempts given back at once. */
    const verifyPaymentPassword = (customerId: CustomerId, paymentPassword: string) =>
      Effect.flatMap(checkPaymentPassword(customerId, paymentPassword), ({ customer, forgive }) => Effect.as(forgive, customer))

    /** The old payment password is checked like a payment's: wrong ones count towards the lockout. */
    const changePaymentPassword = (customerId: CustomerId, input: { oldPaymentPassword: string; newPaymentPassword: string }) =>
      Effect.gen(function* () {
        const customer = yield* verifyPaymentPassword(customerId, input.oldPaymentPassword)
        const newHash = yield* paymentPasswords.hash(input.newPaymentPassword)
        if (!(yield* repo.replacePaymentPasswordHash(customerId, customer.payment_password_hash, newHash))) {
          return yield* new PaymentPasswordWrong({ attemptsLeft: Math.max(0, passwordSettings.maxPaymentPasswordFailures - customer.payment_failures) })
        }
      }).pipe(Effect.withSpan("Customers.changePaymentPassword", spanOptions))

    /**
     * A device whose session expired signs in again with its ID and payment password. The device ID is made
     * of hardware facts others may know, so it is no secret on its own; wrong passwords count towards the lockout.
     */
    const deviceLogin = (input: { deviceId: string; paymentPassword: string }) =>
      Effect.gen(function* () {
        const decoded = decodeDeviceId(input.deviceId)
        if (!decoded.ok) return yield* new InvalidDeviceId({ problem: decoded.problem })
        const customer = yield* repo.byDeviceId(input.deviceId)
        if (!customer) return yield* new InvalidCredentials()
        yield* verifyPaymentPassword(customer.id, input.paymentPassword)
        return yield* newSession(customer.id)
      }).pipe(Effect.withSpan("Customers.deviceLogin", spanOptions))

    return {
      register, login, checkResidentIdOf, registerDevice, deviceLogin, authenticate, checkPaymentPassword, verifyPaymentPassword: (customerId: CustomerId, paymentPassword: string) =>
        Effect.asVoid(verifyPaymentPassword(customerId, paymentPassword)),
      profile, changeName, changePassword, changePaymentPassword
    } as const
  }),
  dependencies: [CustomersRepo.Default, LedgerRepo.Default, Ids.Default, Passwords.Default, PaymentPasswords.Default]
}) {}
