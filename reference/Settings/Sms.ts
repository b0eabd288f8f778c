/**
 * The SMS channel as the server runs it (Sms.ts): commands, replies and the BUY claims.
 */
import { Context, Layer } from "effect"

/** SMS orders, texts and claims */
export interface SmsSettings {
  /** tickets one SMS `BUY` may hold at once */
  readonly maxTicketsPerSmsOrder: number
  /** longest inbound text the server parses */
  readonly maxInboundSmsChars: number
  /** texts a gateway device pulls in one page */
  readonly smsOutboundPageSize: number
  /** SMS orders a `STATUS` reply lists */
  readonly smsStatusOrderCount: number
  /** tries to draw an SMS order reference the customer has not used */
  readonly maxSmsOrderRefAttempts: number
  /** an inbound text claimed this long ago and still unanswered (its server died) may be answered by a retry */
  readonly smsInboundClaimTimeoutMs: number
  /** a BUY claimed this long ago and still unfiled (its server died mid-hold) may be taken over by the same BUY sent again */
  readonly smsBuyClaimTimeoutMs: number
  /** how long a BUY waits for the same BUY that another text is holding seats for at that moment, and how often it looks */
  readonly maxSmsBuyWaitMs: number
  readonly smsBuyWaitPollMs: number
}

export const defaultSmsSettings: SmsSettings = {
  maxTicketsPerSmsOrder: 5,
  maxInboundSmsChars: 160,
  smsOutboundPageSize: 100,
  smsStatusOrderCount: 5,
  maxSmsOrderRefAttempts: 5,
  smsInboundClaimTimeoutMs: 60_000,
  smsBuyClaimTimeoutMs: 60_000,
  maxSmsBuyWaitMs: 5_000,
  smsBuyWaitPollMs: 50
}

/** The sms settings a server runs with. */
export class SmsConfig extends Context.Tag("SmsConfig")<SmsConfig, SmsSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<SmsSettings> = {}) => Layer.succeed(SmsConfig, { ...defaultSmsSettings, ...overrides })
}
