/**
 * One line per request on a served instance (`chunyun serve` without `--quiet`): method, the contract's route
 * (`/orders/:orderId`, so the log groups by endpoint and carries no IDs), status and duration, e.g.
 * `POST /orders 201 3.2 ms`. A path outside the contract (`/openapi.json`, `/docs`, a typo) is logged as sent,
 * without its query and cut to `maxLoggedPathChars`.
 *
 * Per request it costs one write of one string: the route is found by testing the contract's patterns against
 * the URL as it came (no copy of the path), and the duration is read from the Clock at both ends.
 */
import { HttpMiddleware, HttpServerRequest } from "@effect/platform"
import { Cause, Effect, Exit } from "effect"
import { clip, contractRoutes, pathPattern } from "./RequestGuard.js"

/** longest path written for a request outside the contract */
export const maxLoggedPathChars = 200
/** what a request whose client went away before its answer is logged with (as nginx does) */
export const clientClosedStatus = 499

interface LoggedRoute {
  readonly path: string
  /** the route's pattern, matching a URL with or without a query string */
  readonly pattern: RegExp
}

/** The contract's routes by method, each pattern ending where the path ends (at `?`, `#` or the end). */
const routesByMethod = (): ReadonlyMap<string, ReadonlyArray<LoggedRoute>> => {
  const byMethod = new Map<string, Array<LoggedRoute>>()
  for (const route of contractRoutes()) {
    const anchored = pathPattern(route.path).source
    const pattern = new RegExp(`${anchored.slice(0, -1)}(?:[?#]|$)`)
    const routes = byMethod.get(route.method) ?? []
    routes.push({ path: route.path, pattern })
    byMethod.set(route.method, routes)
  }
  return byMethod
}

const pathAsSent = (url: string) => {
  const queryAt = url.search(/[?#]/)
  return clip(queryAt === -1 ? url : url.slice(0, queryAt), maxLoggedPathChars)
}

/** `1.25` ms → `1.3 ms`; whole milliseconds from a clock that has no finer ones */
const formatDurationMs = (startNanos: bigint, endNanos: bigint) => `${(Number(endNanos - startNanos) / 1e6).toFixed(1)} ms`

/**
 * The request log as a server middleware (`HttpApiBuilder.serve(requestLogger(write))`): it sees the answer
 * after the contract's errors were encoded, so the status is the one the client gets.
 */
export const requestLogger = (write: (line: string) => void) => {
  const routes = routesByMethod()
  const routeOf = (method: string, url: string) => {
    const candidates = routes.get(method)
    if (candidates !== undefined) {
      for (const route of candidates) if (route.pattern.test(url)) return route.path
    }
    return pathAsSent(url)
  }
  return HttpMiddleware.make((app) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.clockWith((clock) => {
        const startNanos = clock.unsafeCurrentTimeNanos()
        return Effect.onExit(app, (exit) => Effect.sync(() => {
          const status = Exit.isSuccess(exit) ? exit.value.status : Cause.isInterruptedOnly(exit.cause) ? clientClosedStatus : 500
          write(`${request.method} ${routeOf(request.method, request.url)} ${status} ${formatDurationMs(startNanos, clock.unsafeCurrentTimeNanos())}\n`)
        }))
      })))
}
