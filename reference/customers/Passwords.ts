/**
 * scrypt password hashing. The cost N comes from CryptoConfig so a simulation of 20,000 passengers can
 * state a lower cost instead of spending half an hour in the KDF; `chunyun serve` keeps Node's default.
 */
import { scrypt, scryptSync, timingSafeEqual } from "node:crypto"
import { Effect } from "effect"
import { CryptoConfig } from "../Settings/Crypto.js"
import { randomBytes } from "../Ids.js"

const keyLengthBytes = 32
const saltBytes = 16
const blockSizeR = 8
const parallelismP = 1

const scryptOptions = (costN: number) => ({ N: costN, r: blockSizeR, p: parallelismP, maxmem: 256 * costN * blockSizeR })

/** scrypt on libuv's thread pool: the event loop goes on meanwhile */
const deriveOnThreadPool = (secret: string, salt: Buffer, costN: number) =>
  Effect.async<Buffer>((resume) => {
    scrypt(secret, salt, keyLengthBytes, scryptOptions(costN), (error, key) => resume(error ? Effect.die(error) : Effect.succeed(key)))
  })

/** scrypt on the calling thread (`cryptoWork: "inline"`) */
const deriveInline = (secret: string, salt: Buffer, costN: number) =>
  Effect.try({ try: () => scryptSync(secret, salt, keyLengthBytes, scryptOptions(costN)), catch: (error) => error }).pipe(Effect.orDie)

export class Passwords extends Effect.Service<Passwords>()("Passwords", {
  effect: Effect.gen(function* () {
    const config = yield* CryptoConfig
    const derive = config.cryptoWork === "inline" ? deriveInline : deriveOnThreadPool
    const hash = (secret: string) =>
      Effect.gen(function* () {
        const salt = Buffer.from(yield* randomBytes(saltBytes))
        const key = yield* derive(secret, salt, config.passwordHashCostN)
        return `scrypt$${config.passwordHashCostN}$${salt.toString("hex")}$${key.toString("hex")}`
      })
    const verify = (secret: string, stored: string) =>
      Effect.gen(function* () {
        const [scheme, costText, saltHex, keyHex] = stored.split("$")
        if (scheme !== "scrypt" || !costText || !saltHex || !keyHex) return yield* Effect.dieMessage("malformed password hash")
        const key = yield* derive(secret, Buffer.from(saltHex, "hex"), Number(costText))
        return timingSafeEqual(key, Buffer.from(keyHex, "hex"))
      })
    return { hash, verify } as const
  })
}) {}
