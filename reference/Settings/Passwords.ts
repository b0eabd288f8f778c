/**
 * Password attempts: how many wrong login and payment passwords are counted before a lock, how long a
 * login lock lasts, and how a refused attempt waits for attempts still being checked (Customers.ts,
 * RemoteBookings.ts for agents' logins).
 */
import { Context, Layer } from "effect"

/** limits on password attempts */
export interface PasswordSettings {
  /** payment-password attempts counted (each before its check) until a right one gives them back; then payments lock */
  readonly maxPaymentPasswordFailures: number
  /** login-password attempts counted (each before its check) until a right one gives them back; then logins lock */
  readonly maxLoginPasswordFailures: number
  /** how long logins stay locked after the attempt that reached `maxLoginPasswordFailures` */
  readonly loginLockoutMs: number
  /**
   * An attempt refused at the limit waits this long, looking again every `passwordAttemptPollMs`, for attempts
   * still being checked to be given back: concurrent retries of one right password then all pass the count
   */
  readonly passwordAttemptWaitMs: number
  readonly passwordAttemptPollMs: number
}

export const defaultPasswordSettings: PasswordSettings = {
  maxPaymentPasswordFailures: 5,
  maxLoginPasswordFailures: 10,
  loginLockoutMs: 15 * 60_000,
  passwordAttemptWaitMs: 2_000,
  passwordAttemptPollMs: 25
}

/** The password settings a server runs with. */
export class PasswordConfig extends Context.Tag("PasswordConfig")<PasswordConfig, PasswordSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<PasswordSettings> = {}) => Layer.succeed(PasswordConfig, { ...defaultPasswordSettings, ...overrides })
}
