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

export const makeClient = (baseUrl: string, headers: Readonly<Record<string, string>> = {}) =>
  HttpApiClient.make(ChunyunApi, {
    baseUrl,
    transformClient: HttpClient.mapRequestEffect((request) =>
      Effect.map(FiberRef.get(currentCredentials), (credentials) =>
        HttpClientRequest.setHeaders(request, { ...headers, ...credentials })))
  })

export type ApiClient = Effect.Effect.Success<ReturnType<typeof makeClient>>

/**
 * `client` as seen by one holder of `headers`: every endpoint, called through the view, runs `withCredentials`.
 * The view is a plain object of wrappers, so a test with a hundred customers compiles the API's schemas once.
 */
export const credentialedView = (client: ApiClient, headers: Readonly<Record<string, string>>): ApiClient => {
  const wrap = (endpoint: (...args: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown, unknown>) =>
    (...args: ReadonlyArray<unknown>) => withCredentials(headers)(endpoint(...args))
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

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
