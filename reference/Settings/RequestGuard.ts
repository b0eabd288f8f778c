/**
 * Bad input and slow requests (RequestGuard.ts): body size, JSON depth, error message length, request timeout.
 */
import { Context, Layer } from "effect"

/** limits on requests */
export interface RequestGuardSettings {
  /** a request body longer than this is refused with 413 before it is parsed */
  readonly maxRequestBodyBytes: number
  /** error messages name the offending path, route or header (never a field's value); longer ones are cut to this many characters */
  readonly maxErrorMessageChars: number
  /** arrays and objects a JSON body may nest: a deeper body is refused before it is parsed (decoding recurses) */
  readonly maxJsonDepth: number
  /**
   * A request not answered by then (wall time) is answered `RequestTimedOut` (503). 0 turns it off: virtual mode,
   * where the simulated clock decides how long anything takes
   */
  readonly requestTimeoutMs: number
}

export const defaultRequestGuardSettings: RequestGuardSettings = {
  maxRequestBodyBytes: 64 * 1024,
  maxErrorMessageChars: 500,
  maxJsonDepth: 64,
  requestTimeoutMs: 30_000
}

/** The request guard settings a server runs with. */
export class RequestGuardConfig extends Context.Tag("RequestGuardConfig")<RequestGuardConfig, RequestGuardSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<RequestGuardSettings> = {}) => Layer.succeed(RequestGuardConfig, { ...defaultRequestGuardSettings, ...overrides })
}
