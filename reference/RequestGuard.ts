/**
 * The server's front door: whatever arrives, the answer is a 4xx whose JSON body has a `_tag` naming
 * the problem. The platform answers some requests on its own with an empty body (no such route, a
 * wrong method, a body that is not JSON) and quotes the whole offending input in decode errors; this
 * middleware turns each of those into a tagged error of the contract, refuses oversized bodies before
 * reading them (by their content-length; a body without one is refused unread), and refuses a body
 * sent in a format the endpoint does not read.
 *
 * The routes are read from `ChunyunApi` itself, so endpoints added to the contract are guarded without
 * a change here.
 */
import { createServer } from "node:http"
import type { Duplex } from "node:stream"
import { HttpApiBuilder, HttpApiError, HttpApiSchema, HttpServerError, HttpServerRequest } from "@effect/platform"
import type { HttpApiEndpoint, HttpApp } from "@effect/platform"
import { Cause, Effect, Option } from "effect"
import type * as AST from "effect/SchemaAST"
import { ChunyunApi } from "./Api.js"
import { ServerConfig } from "./Config.js"
import type { ServerSettings } from "./Config.js"
import { LengthRequired, MethodNotAllowed, RequestTooLarge, UnknownRoute, UnsupportedMediaType } from "./RequestGuard/Errors.js"

/** One endpoint of the contract as the guard sees it: how to recognise its path, and what bodies it reads. */
interface Route {
  readonly method: string
  readonly pattern: RegExp
  /** media types of its payload; empty when it takes none */
  readonly mediaTypes: ReadonlyArray<string>
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** `/orders/:orderId/payment` → a pattern matching one non-empty segment where the parameter is. */
export const pathPattern = (path: string) =>
  new RegExp(`^${path.split("/").map((segment) =>
    segment.startsWith(":") ? (segment.endsWith("?") ? "[^/]*" : "[^/]+") : segment === "*" ? ".*" : escapeRegExp(segment)
  ).join("/")}/?$`)

const payloadMediaTypes = (ast: AST.AST): ReadonlyArray<string> => {
  if (ast._tag === "Union") return [...new Set(ast.types.flatMap(payloadMediaTypes))]
  if (HttpApiSchema.getMultipart(ast) !== undefined || HttpApiSchema.getMultipartStream(ast) !== undefined) {
    return ["multipart/form-data"]
  }
  return [HttpApiSchema.getEncoding(ast).contentType]
}

export const contractRoutes = (): ReadonlyArray<Route> =>
  Object.values(ChunyunApi.groups).flatMap((group) =>
    Object.values(group.endpoints).map((endpoint) => {
      const props = endpoint as HttpApiEndpoint.HttpApiEndpoint.AnyWithProps
      const route: Route = {
        method: props.method,
        pattern: pathPattern(props.path),
        // a GET's payload is its query string: no body to check
        mediaTypes: props.method === "GET" ? [] : Option.match(props.payloadSchema, { onNone: () => [], onSome: (schema) => payloadMediaTypes(schema.ast) })
      }
      return route
    }))

/** Cuts a message quoting a huge input, saying how long it was. */
export const clip = (text: string, maxChars: number) =>
  text.length <= maxChars ? text : `${text.slice(0, maxChars)}… (${text.length} characters in all)`

const mediaTypeOf = (contentType: string) => contentType.split(";")[0]!.trim().toLowerCase()

const pathOf = (url: string) => {
  const queryAt = url.search(/[?#]/)
  const path = queryAt === -1 ? url : url.slice(0, queryAt)
  // a web Request carries the whole URL, a node request only the path
  return /^[a-z]+:\/\//i.test(path) ? path.replace(/^[a-z]+:\/\/[^/]*/i, "") || "/" : path
}

const hasBody = (headers: Readonly<Record<string, string | undefined>>) =>
  headers["transfer-encoding"] !== undefined || Number(headers["content-length"] ?? "0") > 0

const isBodyLimitExceeded = (defect: HttpServerError.RequestError) =>
  String(defect.cause).includes("maxBytes exceeded") || defect.description?.includes("maxBytes exceeded") === true

const guard = (settings: ServerSettings, routes: ReadonlyArray<Route>) => (app: HttpApp.Default) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const path = pathOf(request.url)
    const declaredBytes = Number(request.headers["content-length"] ?? "0")
    if (declaredBytes > settings.maxRequestBodyBytes) {
      return yield* tooLarge(settings)
    }
    if (request.headers["transfer-encoding"] !== undefined && request.headers["content-length"] === undefined) {
      // refused unread: cutting a stream off at the limit resets the connection before the answer arrives
      return yield* new LengthRequired({ message: "send the body with a content-length (chunked bodies are not read)" })
    }
    const route = routes.find((candidate) => candidate.method === request.method && candidate.pattern.test(path))
    const contentType = request.headers["content-type"]
    if (route !== undefined && route.mediaTypes.length > 0 && contentType !== undefined && hasBody(request.headers) &&
      !route.mediaTypes.includes(mediaTypeOf(contentType))) {
      return yield* new UnsupportedMediaType({ contentType: clip(contentType, settings.maxErrorMessageChars), accepted: route.mediaTypes })
    }
    return yield* app.pipe(
      HttpServerRequest.withMaxBodySize(Option.some(settings.maxRequestBodyBytes)),
      Effect.catchAllCause((cause) => Option.getOrElse(
        refusalFor(Cause.squash(cause), { method: request.method, path }, settings, routes),
        () => Effect.failCause(cause)
      ))
    )
  })

type Refusal = RequestTooLarge | UnknownRoute | MethodNotAllowed | HttpApiError.HttpApiDecodeError

/** What the platform failed or died with, as a tagged error of the contract; none for any other failure. */
const refusalFor = (
  error: unknown,
  request: { readonly method: string; readonly path: string },
  settings: ServerSettings,
  routes: ReadonlyArray<Route>
): Option.Option<Effect.Effect<never, Refusal>> => {
  if (error instanceof HttpServerError.RouteNotFound) {
    const allowed = [...new Set(routes.filter((route) => route.pattern.test(request.path)).map((route) => route.method))]
    const path = clip(request.path, settings.maxErrorMessageChars)
    if (allowed.includes(request.method)) {
      // the path has the shape of a route, but the router could not decode it (a stray `%`)
      return Option.some(Effect.fail(new HttpApiError.HttpApiDecodeError({
        issues: [], message: `the path ${path} is not valid percent-encoding`
      })))
    }
    return Option.some(allowed.length > 0
      ? Effect.fail(new MethodNotAllowed({ method: request.method, path, allowed }))
      : Effect.fail(new UnknownRoute({ method: request.method, path })))
  }
  if (error instanceof HttpApiError.HttpApiDecodeError) {
    return Option.some(Effect.fail(clippedDecodeError(error, settings.maxErrorMessageChars)))
  }
  // the platform dies with a RequestError when the body cannot be read or parsed as what its type says
  if (error instanceof HttpServerError.RequestError && error.reason === "Decode") {
    if (isBodyLimitExceeded(error)) return Option.some(tooLarge(settings))
    return Option.some(Effect.fail(new HttpApiError.HttpApiDecodeError({
      issues: [],
      message: clip(`the request body is not valid JSON: ${error.description ?? String(error.cause)}`, settings.maxErrorMessageChars)
    })))
  }
  return Option.none()
}

const tooLarge = (settings: ServerSettings) =>
  Effect.fail(new RequestTooLarge({
    maxBytes: settings.maxRequestBodyBytes,
    message: `the request body is longer than ${settings.maxRequestBodyBytes} bytes`
  }))

const clippedDecodeError = (error: HttpApiError.HttpApiDecodeError, maxChars: number) =>
  new HttpApiError.HttpApiDecodeError({
    message: clip(error.message, maxChars),
    issues: error.issues.map((issue) => ({
      ...issue,
      message: clip(issue.message, maxChars),
      path: issue.path.map((key) => typeof key === "string" ? clip(key, maxChars) : key)
    }))
  })

/** The guard as an API-level middleware (reference/Server.ts merges it into the app). */
export const RequestGuardLive = HttpApiBuilder.middleware(
  ChunyunApi,
  Effect.map(ServerConfig, (settings) => guard(settings, contractRoutes()))
)

/**
 * How long the server keeps an idle keep-alive connection open. Node's 5 s default is shorter than what clients
 * reuse a socket after (undici keeps one up to the server's hint, a browser or a load balancer 60 s): on a busy
 * event loop a client then writes its next request on a socket the server is closing, and that request fails
 * with ECONNRESET without ever reaching a handler. A server outlives its clients' idle timers instead.
 */
export const serverKeepAliveTimeoutMs = 65_000
/** Node wants the headers timeout above the keep-alive timeout, or an idle socket's next request can be cut. */
export const serverHeadersTimeoutMs = 66_000

/**
 * A request Node's HTTP parser rejects (headers or URL over its 16 KiB limit, a request line that is not
 * HTTP) never reaches Effect: Node writes a bare status line and closes. Answer it in the same tagged
 * JSON as every other refusal.
 */
export const createGuardedServer = () => {
  const server = createServer({ keepAliveTimeout: serverKeepAliveTimeoutMs, headersTimeout: serverHeadersTimeoutMs })
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    // a connection the client already dropped has no one to answer
    if (error.code === "ECONNRESET" || !socket.writable) return void socket.destroy()
    const refusal = error.code === "HPE_HEADER_OVERFLOW"
      ? { status: "431 Request Header Fields Too Large", body: { _tag: "HeadersTooLarge", message: "the request line and headers are longer than the server reads" } }
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? { status: "408 Request Timeout", body: { _tag: "MalformedRequest", message: "the request did not arrive in time" } }
        : { status: "400 Bad Request", body: { _tag: "MalformedRequest", message: `the request is not well-formed HTTP (${error.code ?? "parse error"})` } }
    const body = JSON.stringify(refusal.body)
    socket.end(`HTTP/1.1 ${refusal.status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
  })
  return server
}
