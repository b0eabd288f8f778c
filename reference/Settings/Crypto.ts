/**
 * The server's crypto work: the cost of its scrypt password hashes and where hashes and ticket signatures
 * run (Passwords.ts, Issuance.ts, Payments/Kiosks.ts).
 */
import { Context, Layer } from "effect"

/** password hash cost and where crypto runs */
export interface CryptoSettings {
  /** scrypt cost parameter N (power of two). 16384 is Node's default; a scenario may lower it and says so */
  readonly passwordHashCostN: number
  /**
   * Where the server's crypto runs (scrypt password hashes, Ed25519 ticket signatures): on libuv's thread pool (a real
   * server: the event loop serves other requests meanwhile) or on the server's own thread (virtual mode: its
   * one-thread simulation would only sit idle waiting for the pool).
   */
  readonly cryptoWork: "thread-pool" | "inline"
}

export const defaultCryptoSettings: CryptoSettings = {
  passwordHashCostN: 16_384,
  cryptoWork: "thread-pool"
}

/** The crypto settings a server runs with. */
export class CryptoConfig extends Context.Tag("CryptoConfig")<CryptoConfig, CryptoSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<CryptoSettings> = {}) => Layer.succeed(CryptoConfig, { ...defaultCryptoSettings, ...overrides })
}
