/**
 * Every device talks to the server through the client derived from the one HttpApi contract; no device
 * writes a URL. Credentials are added as headers by the client's transform.
 */
import { HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../reference/Api.js"

export const serverBaseUrl = "http://chunyun.local"

export const makeClient = (baseUrl: string, headers: Record<string, string> = {}) =>
  HttpApiClient.make(ChunyunApi, {
    baseUrl,
    transformClient: Object.keys(headers).length === 0
      ? undefined
      : HttpClient.mapRequest(HttpClientRequest.setHeaders(headers))
  })

export type ApiClient = Effect.Effect.Success<ReturnType<typeof makeClient>>

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
