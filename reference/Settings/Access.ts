/**
 * Who may call the server: how long a customer's session lasts, and the key of the `/admin` endpoints
 * (Auth/, Customers.ts; RemoteBookings.ts keys its card tokens with the admin key).
 */
import { Context, Layer } from "effect"

/** sessions and the admin key */
export interface AccessSettings {
  readonly sessionTtlMs: number
  /**
   * The `x-admin-key` of `/admin` endpoints. The default is a public constant for in-process tests and virtual runs
   * only: `chunyun serve` draws its own at start or is given one, and refuses this one (reference/ServeSecrets.ts)
   */
  readonly adminKey: string
}

export const defaultAccessSettings: AccessSettings = {
  sessionTtlMs: 24 * 3_600_000,
  adminKey: "chunyun-admin"
}

/** The access settings a server runs with. */
export class AccessConfig extends Context.Tag("AccessConfig")<AccessConfig, AccessSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<AccessSettings> = {}) => Layer.succeed(AccessConfig, { ...defaultAccessSettings, ...overrides })
}
