/**
 * The Ed25519 signing key, the salt of phone bindings and the key of payment passwords. Loaded from the store,
 * created on first start from Effect's `Random` — seeded in a simulation (byte-identical runs), the OS CSPRNG in
 * `chunyun serve`. The payment-password key is derived from the signing seed (HKDF-SHA256 with its own label), so
 * it needs no column and no draw of its own.
 */
import { hkdfSync } from "node:crypto"
import type { KeyObject } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { randomBytes } from "../../Ids.js"
import { ed25519SeedBytes, publicKeyFromRaw, signingKeyFromSeed } from "./TicketCode.js"

export const currentKeyId = 1
const bindingSaltBytes = 16
const paymentPasswordKeyBytes = 32
const paymentPasswordKeyLabel = "chunyun payment password key"

/** The HMAC key of payment passwords under the signing key with seed `seed`: HKDF-SHA256, labelled for this use only. */
export const paymentPasswordKeyOf = (seed: Uint8Array): Uint8Array =>
  new Uint8Array(hkdfSync("sha256", seed, new Uint8Array(0), paymentPasswordKeyLabel, paymentPasswordKeyBytes))

export class TicketKeys extends Effect.Service<TicketKeys>()("TicketKeys", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const load = sql<{ key_id: number; seed_hex: string; binding_salt_hex: string }>`SELECT * FROM signing_keys ORDER BY key_id`
    let rows = yield* load
    if (rows.length === 0) {
      const seed = Buffer.from(yield* randomBytes(ed25519SeedBytes)).toString("hex")
      const salt = Buffer.from(yield* randomBytes(bindingSaltBytes)).toString("hex")
      yield* sql`INSERT INTO signing_keys (key_id, seed_hex, binding_salt_hex) VALUES (${currentKeyId}, ${seed}, ${salt})
        ON CONFLICT (key_id) DO NOTHING`
      rows = yield* load
    }
    const current = rows.find((row) => Number(row.key_id) === currentKeyId)
    if (!current) return yield* Effect.dieMessage("no current signing key in the store")
    const signing = signingKeyFromSeed(Buffer.from(current.seed_hex, "hex"))
    const publicKeys = new Map<number, KeyObject>(
      rows.map((row) => [Number(row.key_id), publicKeyFromRaw(signingKeyFromSeed(Buffer.from(row.seed_hex, "hex")).publicKeyRaw)])
    )
    return {
      keyId: currentKeyId,
      privateKey: signing.privateKey,
      publicKeys: publicKeys as ReadonlyMap<number, KeyObject>,
      publicKeysRaw: rows.map((row) => ({
        keyId: Number(row.key_id),
        publicKeyBase64: Buffer.from(signingKeyFromSeed(Buffer.from(row.seed_hex, "hex")).publicKeyRaw).toString("base64")
      })),
      bindingSalt: Buffer.from(current.binding_salt_hex, "hex") as Uint8Array,
      /** the HMAC key of payment passwords under each signing key, by key ID */
      paymentPasswordKeys: new Map(rows.map((row) => [Number(row.key_id), paymentPasswordKeyOf(Buffer.from(row.seed_hex, "hex"))])) as
        ReadonlyMap<number, Uint8Array>
    }
  })
}) {}
