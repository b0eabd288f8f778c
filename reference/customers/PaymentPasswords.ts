/**
 * The six-digit payment password, kept as HMAC-SHA256 under a server key (TicketKeys `paymentPasswordKeys`) over a
 * random salt and the digits. A slow hash cannot protect a secret of a million values: scrypt at Node's default cost
 * would try all of them in about 14 CPU-hours, at the lowest cost a server accepts in about ten minutes, while every
 * payment pays for one run of it. What protects the digits is the attempt counter against guessing online, and
 * against a stolen customers table a key that the table does not hold. Hashes made by scrypt before (stored as
 * `scrypt$…`) still verify, through Passwords.
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { Effect } from "effect"
import { TicketKeys } from "../delivery/Issuance/Keys.js"
import { randomBytes } from "../Ids.js"
import { Passwords } from "./Passwords.js"

const scheme = "hmac-sha256"
const saltBytes = 16

const macOf = (key: Uint8Array, salt: Uint8Array, digits: string) => createHmac("sha256", key).update(salt).update(digits).digest()

export class PaymentPasswords extends Effect.Service<PaymentPasswords>()("PaymentPasswords", {
  effect: Effect.gen(function* () {
    const keys = yield* TicketKeys
    const passwords = yield* Passwords
    const currentKey = keys.paymentPasswordKeys.get(keys.keyId)
    if (!currentKey) return yield* Effect.dieMessage("no payment-password key for the current signing key")

    /** `hmac-sha256$<key ID>$<salt hex>$<mac hex>` */
    const hash = (digits: string) =>
      Effect.map(randomBytes(saltBytes), (salt) =>
        `${scheme}$${keys.keyId}$${Buffer.from(salt).toString("hex")}$${macOf(currentKey, salt, digits).toString("hex")}`)

    const verify = (digits: string, stored: string): Effect.Effect<boolean> => {
      if (stored.startsWith("scrypt$")) return passwords.verify(digits, stored)
      const [storedScheme, keyIdText, saltHex, macHex] = stored.split("$")
      if (storedScheme !== scheme || !saltHex || !macHex) return Effect.dieMessage("malformed payment password hash")
      const key = keys.paymentPasswordKeys.get(Number(keyIdText))
      if (!key) return Effect.dieMessage(`payment password hashed under key ${keyIdText}, which the store does not hold`)
      const expected = Buffer.from(macHex, "hex")
      const actual = macOf(key, Buffer.from(saltHex, "hex"), digits)
      return Effect.succeed(expected.length === actual.length && timingSafeEqual(expected, actual))
    }
    return { hash, verify } as const
  }),
  dependencies: [TicketKeys.Default, Passwords.Default]
}) {}
