import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import { ChunyunApi } from "../../Api.js"
import { CurrentCustomer } from "../../customers/Auth/Api.js"
import { RemoteBookings } from "../RemoteBookings.js"
import { storeDefects } from "../../Sql.js"
import { AgentAuth, CurrentAgent } from "./Api.js"

export const AgentAuthLive = Layer.effect(AgentAuth, Effect.map(RemoteBookings, (remoteBookings) => ({
  agentSession: (token: Redacted.Redacted<string>) => storeDefects(remoteBookings.authenticateAgent(Redacted.value(token)))
})))

export const RemoteBookingsHttp = HttpApiBuilder.group(ChunyunApi, "remoteBookings", (handlers) =>
  Effect.map(RemoteBookings, (remoteBookings) =>
    handlers
      .handle("bookRemoteCard", ({ payload }) =>
        Effect.flatMap(CurrentCustomer, (customer) => storeDefects(remoteBookings.bookForCustomer(customer.id, payload))))
      .handle("agentLogin", ({ payload }) => storeDefects(remoteBookings.agentLogin(payload.agentId, payload.password)))
      .handle("bookForCaller", ({ payload }) =>
        Effect.flatMap(CurrentAgent, (agent) => storeDefects(remoteBookings.bookForCaller(agent.id, payload))))
  ))

export const AgentsAdminHttp = HttpApiBuilder.group(ChunyunApi, "agentsAdmin", (handlers) =>
  Effect.map(RemoteBookings, (remoteBookings) =>
    handlers.handle("putAgent", ({ path, payload }) => storeDefects(remoteBookings.putAgent(path.agentId, payload.password)))
  ))
