/**
 * Gates: when they admit, for trains, cinema showings and events (Checkin.ts).
 */
import { Context, Layer } from "effect"

/** gate windows */
export interface CheckinSettings {
  /** how long before departure a gate starts admitting, and how long after it stops */
  readonly checkinOpensBeforeDepartureMs: number
  readonly checkinClosesAfterDepartureMs: number
  /** cinema gates admit from this long before a showing starts until this long after (latecomers) */
  readonly showingCheckinOpensBeforeStartMs: number
  readonly showingCheckinClosesAfterStartMs: number
  /** event gates open earlier (crowds) and stay open longer than a cinema's */
  readonly eventCheckinOpensBeforeStartMs: number
  readonly eventCheckinClosesAfterStartMs: number
}

export const defaultCheckinSettings: CheckinSettings = {
  checkinOpensBeforeDepartureMs: 2 * 3_600_000,
  checkinClosesAfterDepartureMs: 5 * 60_000,
  showingCheckinOpensBeforeStartMs: 30 * 60_000,
  showingCheckinClosesAfterStartMs: 20 * 60_000,
  eventCheckinOpensBeforeStartMs: 3 * 3_600_000,
  eventCheckinClosesAfterStartMs: 60 * 60_000
}

/** The checkin settings a server runs with. */
export class CheckinConfig extends Context.Tag("CheckinConfig")<CheckinConfig, CheckinSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<CheckinSettings> = {}) => Layer.succeed(CheckinConfig, { ...defaultCheckinSettings, ...overrides })
}
