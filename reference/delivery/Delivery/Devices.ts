/**
 * Devices that call the server with a key, registered the way gates are (Catalog.registerGate): SMS
 * gateways (seed 002's SMS platform), cinema ticket machines (004) and SIM ticket carriers (003). Only the
 * SHA-256 of a key is stored; registering an ID again rotates its key.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { sha256Hex } from "../../customers/Customers.js"
import { Unauthorized } from "../../Domain.js"
import { Ids } from "../../Ids.js"

export type DeviceKind = "sms-gateway" | "ticket-machine" | "sim-carrier"

export interface AuthenticatedDevice {
  readonly id: string
  /** the machine's venue, or the carrier's MSISDN; empty for an SMS gateway */
  readonly detail: string
}

export class Devices extends Effect.Service<Devices>()("Devices", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ids = yield* Ids

    /** Registers (or re-keys) a device; answers its new key, shown this once. Call inside the caller's transaction if it has one. */
    const register = (kind: DeviceKind, id: string, detail: string) =>
      Effect.gen(function* () {
        const deviceKey = yield* ids.secretToken
        const keyHash = sha256Hex(deviceKey)
        const nowMs = yield* Clock.currentTimeMillis
        yield* sql`INSERT INTO devices (kind, id, key_hash, detail, registered_at_ms) VALUES (${kind}, ${id}, ${keyHash}, ${detail}, ${nowMs})
          ON CONFLICT (kind, id) DO UPDATE SET key_hash = ${keyHash}, detail = ${detail}`
        return deviceKey
      })

    const authenticate = (kind: DeviceKind, deviceKey: string) =>
      Effect.gen(function* () {
        const [device] = yield* sql<{ id: string; detail: string }>`SELECT id, detail FROM devices
          WHERE key_hash = ${sha256Hex(deviceKey)} AND kind = ${kind}`
        if (!device) return yield* new Unauthorized({ message: `unknown ${kind} device key` })
        const authenticated: AuthenticatedDevice = { id: device.id, detail: device.detail }
        return authenticated
      })

    return { register, authenticate } as const
  }),
  dependencies: [Ids.Default]
}) {}
