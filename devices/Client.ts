/**
 * Every device talks to the server through the client derived from the one HttpApi contract; no device
 * writes a URL. Deriving a client compiles every endpoint's schemas, so phones share one client and say
 * who they are through `withCredentials` (a FiberRef read when each request is built), not one client each.
 */
import { HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, FiberRef } from "effect"
import { ChunyunApi } from "../reference/Api.js"

export const serverBaseUrl = "http://chunyun.local"

const currentCredentials = FiberRef.unsafeMake<Readonly<Record<string, string>>>({})

/** Run `effect` with these headers on every request it makes (a session token, a device key). */
export const withCredentials = (headers: Readonly<Record<string, string>>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.locally(effect, currentCredentials, headers)

const deriveClient = (baseUrl: string) =>
  HttpApiClient.make(ChunyunApi, {
    baseUrl,
    transformClient: HttpClient.mapRequestEffect((request) =>
      Effect.map(FiberRef.get(currentCredentials), (credentials) => HttpClientRequest.setHeaders(request, credentials)))
  })

export type ApiClient = Effect.Effect.Success<ReturnType<typeof deriveClient>>

/**
 * `client` as seen by one holder of `headers`: every endpoint called through the view sends them, under any
 * credentials the caller set with `withCredentials` (those win on a clash). The view is a plain object of
 * wrappers, so a hundred holders share one client's compiled schemas.
 */
export const credentialedView = (client: ApiClient, headers: Readonly<Record<string, string>>): ApiClient => {
  if (Object.keys(headers).length === 0) return client
  const wrap = (endpoint: (...args: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown, unknown>) =>
    (...args: ReadonlyArray<unknown>) => Effect.flatMap(FiberRef.get(currentCredentials), (outer) =>
      Effect.locally(endpoint(...args), currentCredentials, { ...headers, ...outer }))
  const view: Record<string, unknown> = {}
  for (const [name, member] of Object.entries(client as Record<string, unknown>)) {
    if (typeof member === "function") view[name] = wrap(member as never)
    else if (member !== null && typeof member === "object") {
      view[name] = Object.fromEntries(Object.entries(member as Record<string, unknown>).map(([endpointName, endpoint]) =>
        [endpointName, typeof endpoint === "function" ? wrap(endpoint as never) : endpoint]))
    } else view[name] = member
  }
  return view as ApiClient
}

/**
 * One derived client per HTTP client and base URL: deriving compiles every endpoint's schemas (tens of ms and
 * megabytes of garbage; a run with a hundred gates derived a hundred). Keyed by the HttpClient service, so a
 * client never outlives the runtime whose connections it uses.
 */
const derivedClients = new WeakMap<HttpClient.HttpClient, Map<string, ApiClient>>()

/** The API's client at `baseUrl` with `headers` on every request: a view of the one derived client. */
export const makeClient = (baseUrl: string, headers: Readonly<Record<string, string>> = {}): Effect.Effect<ApiClient, never, HttpClient.HttpClient> =>
  Effect.flatMap(HttpClient.HttpClient, (http) => {
    const byBaseUrl = derivedClients.get(http) ?? new Map<string, ApiClient>()
    derivedClients.set(http, byBaseUrl)
    const cached = byBaseUrl.get(baseUrl)
    if (cached !== undefined) return Effect.succeed(credentialedView(cached, headers))
    return Effect.map(deriveClient(baseUrl), (client) => {
      byBaseUrl.set(baseUrl, client)
      return credentialedView(client, headers)
    })
  })

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
