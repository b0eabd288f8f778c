/**
 * Refusals that happen before any endpoint's handler runs: the request is too big, names no route,
 * uses a method the route does not answer, or sends its body in a format the endpoint does not read.
 * They are added to the whole contract (reference/Api.ts), so every endpoint documents them and the
 * typed client decodes them.
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

export class RequestTooLarge extends Schema.TaggedError<RequestTooLarge>()(
  "RequestTooLarge", { maxBytes: Schema.Number, message: Schema.String }, HttpApiSchema.annotations({ status: 413 })
) {}
export class UnknownRoute extends Schema.TaggedError<UnknownRoute>()(
  "UnknownRoute", { method: Schema.String, path: Schema.String }, HttpApiSchema.annotations({ status: 404 })
) {}
export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()(
  "MethodNotAllowed",
  { method: Schema.String, path: Schema.String, allowed: Schema.Array(Schema.String) },
  HttpApiSchema.annotations({ status: 405 })
) {}
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()(
  "UnsupportedMediaType",
  { contentType: Schema.String, accepted: Schema.Array(Schema.String) },
  HttpApiSchema.annotations({ status: 415 })
) {}
/** A body streamed without a declared length: the server would have to read it to know it is too big. */
export class LengthRequired extends Schema.TaggedError<LengthRequired>()(
  "LengthRequired", { message: Schema.String }, HttpApiSchema.annotations({ status: 411 })
) {}
/** A body nested deeper than `maxJsonDepth` arrays and objects: refused before it is parsed or decoded. */
export class JsonTooDeep extends Schema.TaggedError<JsonTooDeep>()(
  "JsonTooDeep", { maxDepth: Schema.Number, message: Schema.String }, HttpApiSchema.annotations({ status: 400 })
) {}
/** A body declared in a character set other than UTF-8, the only one JSON is read in (RFC 8259). */
export class UnsupportedCharset extends Schema.TaggedError<UnsupportedCharset>()(
  "UnsupportedCharset", { charset: Schema.String, accepted: Schema.Array(Schema.String) }, HttpApiSchema.annotations({ status: 415 })
) {}
/** The server failed on a request (a defect): the cause is in the server's log, never in the answer. */
export class InternalServerError extends Schema.TaggedError<InternalServerError>()(
  "InternalServerError", { message: Schema.String }, HttpApiSchema.annotations({ status: 500 })
) {}
/** The request took longer than `requestTimeoutMs`: answered instead of left hanging (what it did may or may not have committed). */
export class RequestTimedOut extends Schema.TaggedError<RequestTimedOut>()(
  "RequestTimedOut", { timeoutMs: Schema.Number, message: Schema.String }, HttpApiSchema.annotations({ status: 503 })
) {}
/**
 * The ones below are answered by the node server itself (RequestGuard.ts `createGuardedServer`): a request the
 * HTTP parser refused, or one that came before the API's handler was attached. Listed in the contract so the
 * document shows them.
 */
export class HeadersTooLarge extends Schema.TaggedError<HeadersTooLarge>()(
  "HeadersTooLarge", { message: Schema.String }, HttpApiSchema.annotations({ status: 431 })
) {}
/** The socket is open but the server is not ready (its store is opening, migrations run): try again after `Retry-After`. */
export class ServerStarting extends Schema.TaggedError<ServerStarting>()(
  "ServerStarting", { message: Schema.String }, HttpApiSchema.annotations({ status: 503 })
) {}
export class MalformedRequest extends Schema.TaggedError<MalformedRequest>()(
  "MalformedRequest", { message: Schema.String }, HttpApiSchema.annotations({ status: 400 })
) {}
