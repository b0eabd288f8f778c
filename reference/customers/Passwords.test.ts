/**
 * scrypt hashes made on the thread pool and on the server's own thread are the same function: a hash made one way
 * verifies the other way, and a wrong secret fails both ways.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Effect } from "effect"
import { Passwords } from "./Passwords.js"
import { CryptoConfig } from "../Settings/Crypto.js"
import type { CryptoSettings } from "../Settings/Crypto.js"
import { testPasswordHashCostN } from "../testing/TestServer.js"

const withPasswords = <A>(cryptoWork: CryptoSettings["cryptoWork"], use: (passwords: Passwords) => Effect.Effect<A>) =>
  Effect.runPromise(Effect.flatMap(Passwords, use).pipe(
    Effect.provide(Passwords.Default),
    Effect.provide(CryptoConfig.layer({ passwordHashCostN: testPasswordHashCostN, cryptoWork }))))

describe("password hashing, on the thread pool or inline", () => {
  for (const [made, checked] of [["thread-pool", "inline"], ["inline", "thread-pool"]] as const) {
    test(`a hash made ${made} verifies ${checked}; a wrong secret does not`, async () => {
      const stored = await withPasswords(made, (passwords) => passwords.hash("correct horse"))
      assert.match(stored, new RegExp(`^scrypt\\$${testPasswordHashCostN}\\$[0-9a-f]{32}\\$[0-9a-f]{64}$`))
      assert.equal(await withPasswords(checked, (passwords) => passwords.verify("correct horse", stored)), true)
      assert.equal(await withPasswords(checked, (passwords) => passwords.verify("wrong horse", stored)), false)
    })
  }
})
