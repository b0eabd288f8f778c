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

interface JsonCodec<A> {
  readonly decode: (json: string) => Effect.Effect<A, unknown>
  readonly encode: (value: A) => Effect.Effect<string, unknown>
}
/**
 * A schema's JSON codec, built once per schema: `Schema.parseJson(schema)` is a new schema each time it is
 * called, and a new schema's decoder or encoder is compiled anew (60-70 µs here, against 4 µs for a built one).
 */
const codecs = new WeakMap<Schema.Schema<any, any>, JsonCodec<any>>()
const jsonCodec = <A, I>(schema: Schema.Schema<A, I>): JsonCodec<A> => {
  const built = codecs.get(schema)
  if (built !== undefined) return built
  const json = Schema.parseJson(schema)
  const codec: JsonCodec<A> = { decode: Schema.decode(json), encode: Schema.encode(json) }
  codecs.set(schema, codec)
  return codec
}

export const lookupKey = <A, I>(scope: string, key: string, request: unknown, schema: Schema.Schema<A, I>) =>
  Effect.gen(function* () {
    const queries = yield* Queries
    const stored = yield* queries.first<StoredKey>("SELECT request_hash, response_json FROM idempotency_keys WHERE scope = ? AND idempotency_key = ?", [scope, key])
    if (!stored) return Option.none<A>()
    if (stored.request_hash !== requestHash(request)) return yield* new IdempotencyKeyReused({ key })
    return Option.some(yield* jsonCodec(schema).decode(stored.response_json).pipe(Effect.orDie))
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
    const json = yield* jsonCodec(options.schema).encode(result).pipe(Effect.orDie)
    yield* queries.run(`INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, response_json, created_at_ms) VALUES (?, ?, ?, ?, ?)`,
      [options.scope, options.key, requestHash(options.request), json, options.nowMs])
    return result
  })
