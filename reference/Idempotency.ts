/**
 * Idempotency keys (seed 000's "pay once"): same scope + key + same request → the stored answer;
 * same key + another request → IdempotencyKeyReused. Must run inside the caller's transaction, so the
 * answer is stored atomically with the effect it describes.
 */
import { createHash } from "node:crypto"
import { Effect, Option, Schema } from "effect"
import { IdempotencyKeyReused } from "./Domain.js"
import { Queries } from "./Store/Queries.js"

export const requestHash = (request: unknown) => createHash("sha256").update(JSON.stringify(request)).digest("hex")

interface StoredKey { readonly request_hash: string; readonly response_json: string }

export const lookupKey = <A, I>(scope: string, key: string, request: unknown, schema: Schema.Schema<A, I>) =>
  Effect.gen(function* () {
    const queries = yield* Queries
    const stored = yield* queries.first<StoredKey>("SELECT request_hash, response_json FROM idempotency_keys WHERE scope = ? AND idempotency_key = ?", [scope, key])
    if (!stored) return Option.none<A>()
    if (stored.request_hash !== requestHash(request)) return yield* new IdempotencyKeyReused({ key })
    return Option.some(yield* Schema.decode(Schema.parseJson(schema))(stored.response_json).pipe(Effect.orDie))
  })

export const idempotent = <A, I, E, R>(
  options: { scope: string; key: string; request: unknown; schema: Schema.Schema<A, I>; nowMs: number },
  work: Effect.Effect<A, E, R>
) =>
  Effect.gen(function* () {
    const queries = yield* Queries
    const replay = yield* lookupKey(options.scope, options.key, options.request, options.schema)
    if (Option.isSome(replay)) return replay.value
    const result = yield* work
    const json = yield* Schema.encode(Schema.parseJson(options.schema))(result).pipe(Effect.orDie)
    yield* queries.run(`INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, response_json, created_at_ms) VALUES (?, ?, ?, ?, ?)`,
      [options.scope, options.key, requestHash(options.request), json, options.nowMs])
    return result
  })
