/**
 * The wallet: the largest top-up, the largest balance, and how much of a statement is shown
 * (Accounts.ts, Lifecycle.ts's statement).
 */
import { Context, Layer } from "effect"

/** wallet limits */
export interface WalletSettings {
  /** the most one top-up may bring (`TopUpTooLarge` above it) */
  readonly maxTopUpFen: number
  /** the most a wallet may hold after a top-up (`WalletBalanceLimitReached` above it); refunds may still credit it */
  readonly maxWalletBalanceFen: number
  /** the newest entries a wallet statement shows */
  readonly maxStatementEntries: number
}

export const defaultWalletSettings: WalletSettings = {
  maxTopUpFen: 5_000_000,
  // 1 million yuan: twenty of the largest top-ups
  maxWalletBalanceFen: 100_000_000,
  maxStatementEntries: 200
}

/** The wallet settings a server runs with. */
export class WalletConfig extends Context.Tag("WalletConfig")<WalletConfig, WalletSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<WalletSettings> = {}) => Layer.succeed(WalletConfig, { ...defaultWalletSettings, ...overrides })
}
