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
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Duplex } from "node:stream"
import { HttpApiBuilder, HttpApiError, HttpApiSchema, HttpServerError, HttpServerRequest } from "@effect/platform"
import type { HttpApiEndpoint, HttpApp } from "@effect/platform"
import { Cause, Effect, Option, Runtime } from "effect"
import type * as AST from "effect/SchemaAST"
import { ChunyunApi } from "../Api.js"
import { RequestGuardConfig } from "../Settings/RequestGuard.js"
import type { RequestGuardSettings } from "../Settings/RequestGuard.js"
import {
  InternalServerError, JsonTooDeep, LengthRequired, MethodNotAllowed, RequestTimedOut, RequestTooLarge, UnknownRoute, UnsupportedCharset,
  UnsupportedMediaType
} from "./RequestGuard/Errors.js"

/** One endpoint of the contract as the guard sees it: how to recognise its path, and what bodies it reads. */
interface Route {
  readonly method: string
  /** as the contract writes it (`/orders/:orderId`): what a log line names */
  readonly path: string
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
        path: props.path,
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

/** The `charset` parameter of a content type, lower case and unquoted; undefined when it names none. */
export const charsetOf = (contentType: string) => {
  for (const parameter of contentType.split(";").slice(1)) {
    const [name, ...value] = parameter.split("=")
    if (name?.trim().toLowerCase() === "charset") return value.join("=").trim().replace(/^"(.*)"$/, "$1").toLowerCase()
  }
  return undefined
}
const utf8Charsets = ["utf-8", "utf8"]

/**
 * The deepest nesting of arrays and objects in a JSON text, counted without parsing it (brackets inside
 * strings do not count), stopping as soon as it passes `maxDepth`. Malformed text is the parser's to refuse.
 */
export const jsonDepthExceeds = (text: string, maxDepth: number) => {
  let depth = 0
  let inString = false
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index)
    if (inString) {
      if (char === 0x5c) index++ // a backslash: the next character is escaped
      else if (char === 0x22) inString = false
    } else if (char === 0x22) {
      inString = true
    } else if (char === 0x5b || char === 0x7b) {
      if (++depth > maxDepth) return true
    } else if (char === 0x5d || char === 0x7d) {
      depth--
    }
  }
  return false
}

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

const guard = (settings: RequestGuardSettings, routes: ReadonlyArray<Route>) => (app: HttpApp.Default) =>
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
    // an empty segment names no route: the platform's router would skip it and answer the route without it
    if (path.includes("//")) return yield* new UnknownRoute({ method: request.method, path: clip(path, settings.maxErrorMessageChars) })
    const route = routes.find((candidate) => candidate.method === request.method && candidate.pattern.test(path))
    const contentType = request.headers["content-type"]
    const readsBody = route !== undefined && route.mediaTypes.length > 0 && hasBody(request.headers)
    if (readsBody && contentType !== undefined && !route.mediaTypes.includes(mediaTypeOf(contentType))) {
      return yield* new UnsupportedMediaType({ contentType: clip(contentType, settings.maxErrorMessageChars), accepted: route.mediaTypes })
    }
    const charset = contentType === undefined ? undefined : charsetOf(contentType)
    if (readsBody && charset !== undefined && !utf8Charsets.includes(charset)) {
      return yield* new UnsupportedCharset({ charset: clip(charset, settings.maxErrorMessageChars), accepted: ["utf-8"] })
    }
    // the platform keeps the text it read: the handler's decoding reads the same bytes, once
    const depthChecked = readsBody && route.mediaTypes.includes("application/json")
      ? Effect.flatMap(Effect.orDie(request.text), (text) => jsonDepthExceeds(text, settings.maxJsonDepth)
        ? Effect.fail(new JsonTooDeep({ maxDepth: settings.maxJsonDepth, message: `the request body nests arrays and objects deeper than ${settings.maxJsonDepth}` }))
        : app)
      : app
    return yield* withRequestTimeout(depthChecked, settings.requestTimeoutMs).pipe(
      HttpServerRequest.withMaxBodySize(Option.some(settings.maxRequestBodyBytes)),
      Effect.catchAllCause((cause) => Option.getOrElse(
        refusalFor(Cause.squash(cause), { method: request.method, path }, settings, routes),
        // a failure of the contract is encoded with its status; a defect would be an empty 500
        () => Option.isSome(Cause.failureOption(cause)) || Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause) : internalError(request.method, route?.path ?? clip(path, settings.maxErrorMessageChars), cause)
      ))
    )
  })

/**
 * The request's work, cut off after `timeoutMs` of wall time (0: never) with `RequestTimedOut`. The work runs as
 * a fiber of its own that is observed, not joined: a late request is answered now and finishes on its own (as
 * it would after its client hung up). The timer is the wall's, not the Clock's: a served instance's Clock may run
 * a scenario's time, faster than the wall, and the cut-off never enters a trace. A race of fibers did the same
 * at about 0.25 ms of CPU a request (forks, then merging the winner's fiber refs back); this is a timer and an
 * observer.
 */
const withRequestTimeout = <A, E, R>(work: Effect.Effect<A, E, R>, timeoutMs: number): Effect.Effect<A, E | RequestTimedOut, R> =>
  timeoutMs <= 0 ? work : Effect.flatMap(Effect.runtime<R>(), (runtime) => Effect.async<A, E | RequestTimedOut>((resume) => {
    let answered = false
    const timer = setTimeout(() => {
      if (answered) return
      answered = true
      resume(Effect.fail(new RequestTimedOut({ timeoutMs, message: `the request was not answered within ${timeoutMs} ms` })))
    }, timeoutMs)
    Runtime.runFork(runtime)(work).addObserver((exit) => {
      if (answered) return
      answered = true
      clearTimeout(timer)
      resume(exit)
    })
    return Effect.sync(() => clearTimeout(timer))
  }))

/** A defect (the platform would answer an empty 500): logged with the request's method, route and cause, answered tagged. */
const internalError = (method: string, route: string, cause: Cause.Cause<unknown>) =>
  Effect.zipRight(
    Effect.logError(`${method} ${route} failed: ${Cause.pretty(cause)}`),
    Effect.fail(new InternalServerError({ message: "the server failed on this request; the cause is in its log" }))
  )

type Refusal = RequestTooLarge | UnknownRoute | MethodNotAllowed | HttpApiError.HttpApiDecodeError | JsonTooDeep | InternalServerError | RequestTimedOut

/** What the platform failed or died with, as a tagged error of the contract; none for any other failure. */
const refusalFor = (
  error: unknown,
  request: { readonly method: string; readonly path: string },
  settings: RequestGuardSettings,
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
    // the parser's own message quotes the text around the fault: say where it is, never what
    const position = /position (\d+)/.exec(`${error.description ?? ""} ${String(error.cause)}`)?.[1]
    return Option.some(Effect.fail(new HttpApiError.HttpApiDecodeError({
      issues: [],
      message: `the request body is not valid JSON${position === undefined ? "" : ` (at position ${position})`}`
    })))
  }
  return Option.none()
}

const tooLarge = (settings: RequestGuardSettings) =>
  Effect.fail(new RequestTooLarge({
    maxBytes: settings.maxRequestBodyBytes,
    message: `the request body is longer than ${settings.maxRequestBodyBytes} bytes`
  }))

/**
 * Schema's messages end with the value that failed (`Expected …, actual "6222…"`): a card number sent in the
 * wrong field would come back in the answer, and in any log of it. Keep the path and the expected type only.
 */
export const withoutActualValues = (message: string) => message.replace(/, actual .*$/gm, "")

/** `["passengers", 0, "phone"]` → `passengers[0].phone` */
export const fieldPathOf = (path: ReadonlyArray<PropertyKey>) =>
  path.map((key, index) => typeof key === "number" ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`).join("")

/**
 * What was expected, in plain words. The domain's schemas say it themselves (`expected 11 digits, starting 13 to
 * 19`: Domain.ts `expected`); otherwise Schema's text stands, less the brands (`& Brand<"RunId">`) and with a list,
 * an object or a choice of literals said as such instead of spelled out as a type.
 */
export const plainExpectation = (message: string) => {
  const type = /^Expected ([\s\S]*)$/.exec(message)?.[1]
  if (type === undefined) return message
  if (/^(ReadonlyArray<|readonly \[)/.test(type)) return "expected a list"
  if (/^\{/.test(type)) return "expected an object"
  if (/^"[^"]*"( \| "[^"]*")+$/.test(type)) return `expected one of ${type.split(" | ").join(", ")}`
  return `expected ${type.replace(/ & Brand<"[^"]*">/g, "")}`
}

/**
 * The platform's decode error as a user would read it: each issue is its field's path and what was expected there,
 * and the summary lists them (`phone: expected 11 digits, starting 13 to 19`), in place of Schema's tree of the
 * whole payload's type. The tag, status and issue paths are the platform's.
 */
const clippedDecodeError = (error: HttpApiError.HttpApiDecodeError, maxChars: number) => {
  const issues = error.issues.map((issue) => ({
    ...issue,
    message: clip(plainExpectation(withoutActualValues(issue.message)), maxChars),
    path: issue.path.map((key) => typeof key === "string" ? clip(key, maxChars) : key)
  }))
  const summary = issues.map((issue) => issue.path.length === 0 ? issue.message : `${fieldPathOf(issue.path)}: ${issue.message}`).join("; ")
  return new HttpApiError.HttpApiDecodeError({
    message: clip(issues.length === 0 ? withoutActualValues(error.message) : summary, maxChars),
    issues
  })
}

/** The guard as an API-level middleware (reference/Server.ts merges it into the app). */
export const RequestGuardLive = HttpApiBuilder.middleware(
  ChunyunApi,
  Effect.map(RequestGuardConfig, (settings) => guard(settings, contractRoutes()))
)

/** what a request that came while the server was starting is told to wait before it tries again */
export const startingRetryAfterSeconds = 1

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
    // The socket listens before the app is built (its store opened, migrations run) and the API's handler attached:
  // until then this is the only request listener, and a request is told to come back instead of hanging.
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    if (server.listenerCount("request") > 1) return
    const body = JSON.stringify({ _tag: "ServerStarting", message: "the server is starting (or stopping): try again shortly" })
    request.resume()
    response.writeHead(503, {
      "content-type": "application/json", "content-length": Buffer.byteLength(body), "retry-after": String(startingRetryAfterSeconds), connection: "close"
    })
    response.end(body)
  })
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
