/**
 * What a served instance sees of each request it answers, in one middleware: its method, the contract's route
 * (`/orders/:orderId`, so what is kept groups by endpoint and carries no IDs), the status the client got and the
 * duration by the server's Clock. Two observers read it: the request log (`chunyun serve` without `--quiet`), one line
 * per request, e.g. `POST /orders 201 3.2 ms`, and the counters of `GET /metrics` (Metrics.ts). A path outside the
 * contract (`/openapi.json`, `/docs`, a typo) has no route: the log writes it as sent, without its query and cut to
 * `maxLoggedPathChars`.
 *
 * Per request it costs the route's lookup, two readings of the Clock and each observer's own work; no object is made
 * for the observers: the route is found by testing the contract's patterns against the URL as it came (no copy of
 * the path), and the observers are called with the request's parts as arguments.
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

/** A path a served instance answers outside the contract (the OpenAPI document, the API page). */
export interface ServedPath {
  readonly method: string
  readonly path: string
}

/** The contract's routes and `served` by method, each pattern ending where the path ends (at `?`, `#` or the end). */
const routesByMethod = (served: ReadonlyArray<ServedPath>): ReadonlyMap<string, ReadonlyArray<LoggedRoute>> => {
  const byMethod = new Map<string, Array<LoggedRoute>>()
  for (const route of [...contractRoutes(), ...served]) {
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

/**
 * Told of each answered request: `route` is the contract's template (or a `ServedPath`), undefined for any other
 * path; `url` is the request's as it came; `durationMs` is by the server's Clock (with `--clock-scale`, scenario time).
 */
export type RequestObserver = (method: string, route: string | undefined, url: string, status: number, durationMs: number) => void

/**
 * The observers as a server middleware (`HttpApiBuilder.serve(observeRequests(…))`): it sees the answer after the
 * contract's errors were encoded, so the status is the one the client gets (499 when the client went away first).
 */
export const observeRequests = (observers: ReadonlyArray<RequestObserver>, served: ReadonlyArray<ServedPath> = []) => {
  const routes = routesByMethod(served)
  const routeOf = (method: string, url: string) => {
    const candidates = routes.get(method)
    if (candidates !== undefined) {
      for (const route of candidates) if (route.pattern.test(url)) return route.path
    }
    return undefined
  }
  return HttpMiddleware.make((app) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.clockWith((clock) => {
        const startNanos = clock.unsafeCurrentTimeNanos()
        return Effect.onExit(app, (exit) => Effect.sync(() => {
          const status = Exit.isSuccess(exit) ? exit.value.status : Cause.isInterruptedOnly(exit.cause) ? clientClosedStatus : 500
          const durationMs = Number(clock.unsafeCurrentTimeNanos() - startNanos) / 1e6
          const route = routeOf(request.method, request.url)
          for (const observe of observers) observe(request.method, route, request.url, status, durationMs)
        }))
      })))
}

/** The request log's observer: one line a request, `POST /orders 201 3.2 ms` (`1.25` ms → `1.3 ms`), written whole. */
export const requestLogLines = (write: (line: string) => void): RequestObserver => (method, route, url, status, durationMs) =>
  write(`${method} ${route ?? pathAsSent(url)} ${status} ${durationMs.toFixed(1)} ms\n`)
