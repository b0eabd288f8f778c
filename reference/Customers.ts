/**
 * Customers (seeds 000, 002): registration by phone number, login sessions, the payment password with
 * its lockout. Sessions are stored by the SHA-256 of the token, so a store dump does not leak them.
 */
import { createHash } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { LedgerRepo } from "./Accounts/Repo.js"
import { ServerConfig } from "./Config.js"
import { CustomersRepo } from "./Customers/Repo.js"
import {
  InvalidCredentials, PaymentLocked, PaymentPasswordWrong, PhoneAlreadyRegistered, Unauthorized
} from "./Domain.js"
import type { CustomerId, PhoneNumber } from "./Domain.js"
import { Ids } from "./Ids.js"
import { Passwords } from "./Passwords.js"

export const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex")

export class Customers extends Effect.Service<Customers>()("Customers", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* CustomersRepo
    const ids = yield* Ids
    const passwords = yield* Passwords
    const ledger = yield* LedgerRepo
    const config = yield* ServerConfig

    const register = (input: { phone: PhoneNumber; password: string; paymentPassword: string }) =>
      Effect.gen(function* () {
        if (yield* repo.byPhone(input.phone)) return yield* new PhoneAlreadyRegistered({ phone: input.phone })
        const id = yield* ids.customerId
        const passwordHash = yield* passwords.hash(input.password)
        const paymentHash = yield* passwords.hash(input.paymentPassword)
        const nowMs = yield* Clock.currentTimeMillis
        const inserted = yield* sql.withTransaction(Effect.gen(function* () {
          const fresh = yield* repo.insert({ id, phone: input.phone, password_hash: passwordHash, payment_password_hash: paymentHash }, nowMs)
          if (fresh) yield* ledger.openWallet(id)
          return fresh
        }))
        // a concurrent registration of the same number won the unique index
        if (!inserted) return yield* new PhoneAlreadyRegistered({ phone: input.phone })
        return { customerId: id, phone: input.phone }
      }).pipe(Effect.withSpan("Customers.register"))

    const login = (input: { phone: PhoneNumber; password: string }) =>
      Effect.gen(function* () {
        const customer = yield* repo.byPhone(input.phone)
        if (!customer) return yield* new InvalidCredentials()
        if (!(yield* passwords.verify(input.password, customer.password_hash))) return yield* new InvalidCredentials()
        const token = yield* ids.secretToken
        const expiresAtMs = (yield* Clock.currentTimeMillis) + config.sessionTtlMs
        yield* repo.insertSession(sha256Hex(token), customer.id, expiresAtMs)
        return { token, customerId: customer.id, expiresAtMs }
      }).pipe(Effect.withSpan("Customers.login"))

    const authenticate = (token: string) =>
      Effect.gen(function* () {
        const customer = yield* repo.sessionCustomer(sha256Hex(token), yield* Clock.currentTimeMillis)
        if (!customer) return yield* new Unauthorized({ message: "unknown or expired session token" })
        return customer
      })

    /** Checks the six-digit payment password; locks payments after `maxPaymentPasswordFailures` wrong tries. */
    const verifyPaymentPassword = (customerId: CustomerId, paymentPassword: string) =>
      Effect.gen(function* () {
        const customer = yield* repo.byId(customerId)
        if (!customer) return yield* Effect.dieMessage(`authenticated customer ${customerId} has no row`)
        if (customer.payment_failures >= config.maxPaymentPasswordFailures) {
          return yield* new PaymentLocked({ message: "too many wrong payment passwords; reset required" })
        }
        if (yield* passwords.verify(paymentPassword, customer.payment_password_hash)) {
          yield* repo.resetPaymentFailures(customerId)
          return
        }
        const failures = yield* repo.recordPaymentFailure(customerId)
        return yield* new PaymentPasswordWrong({ attemptsLeft: Math.max(0, config.maxPaymentPasswordFailures - failures) })
      })

    return { register, login, authenticate, verifyPaymentPassword } as const
  }),
  dependencies: [CustomersRepo.Default, LedgerRepo.Default, Ids.Default, Passwords.Default]
}) {}
