/**
 * Issuance: who issues the ticket of a captured payment, and how many outbox rows one sweep takes
 * (Issuance.ts documents the variants).
 */
import { Context, Layer } from "effect"

/** who issues a paid order's ticket (reference/delivery/Issuance.ts documents each) */
export const issuanceVariants = ["after-commit", "inline", "worker"] as const
export type IssuanceVariant = typeof issuanceVariants[number]

/** the issuance variant and the outbox's batch */
export interface IssuanceSettings {
  /** who issues the ticket of a captured payment (reference/delivery/Issuance.ts): see `IssuanceVariant` */
  readonly issuance: IssuanceVariant
  readonly outboxBatchSize: number
}

export const defaultIssuanceSettings: IssuanceSettings = {
  issuance: "inline",
  outboxBatchSize: 100
}

/** The issuance settings a server runs with. */
export class IssuanceConfig extends Context.Tag("IssuanceConfig")<IssuanceConfig, IssuanceSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<IssuanceSettings> = {}) => Layer.succeed(IssuanceConfig, { ...defaultIssuanceSettings, ...overrides })
}
