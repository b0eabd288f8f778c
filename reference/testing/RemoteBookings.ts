/**
 * Test helpers of remote bookings paid by card at a kiosk: call-centre agents and their clients, bookings in the
 * app, and the kiosk's swipe of a card for a booking.
 */
import { HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../Api.js"
import type { OrderId, PhoneNumber, StationCode } from "../Domain.js"
import type { AgentId, CardNumber } from "../ticketing/RemoteBookings/Api.js"
import type { TestCard, TestKiosk } from "./Payments.js"
import { adminClient, anonymousClient } from "./TestServer.js"
import type { ChunyunClient, TestCustomer, TestRun } from "./TestServer.js"

export const agentPassword = "agent password 1"

export const agentClient = (baseUrl: string, sessionToken: string) =>
  HttpApiClient.make(ChunyunApi, {
    baseUrl,
    transformClient: HttpClient.mapRequest(HttpClientRequest.setHeader("x-agent-session", sessionToken))
  })

export interface TestAgent {
  readonly agentId: AgentId
  readonly token: string
  readonly client: ChunyunClient
}

/** An agent created by the operator and signed in. */
export const newAgent = (baseUrl: string, agentId: string, password = agentPassword) =>
  Effect.gen(function* () {
    const admin = yield* adminClient(baseUrl)
    yield* admin.agentsAdmin.putAgent({ path: { agentId: agentId as AgentId }, payload: { password } })
    const anonymous = yield* anonymousClient(baseUrl)
    const session = yield* anonymous.remoteBookings.agentLogin({ payload: { agentId: agentId as AgentId, password } })
    const agent: TestAgent = { agentId: session.agentId, token: session.token, client: yield* agentClient(baseUrl, session.token) }
    return agent
  })

const journeyOf = (run: TestRun) => ({ runId: run.runId, fromStation: run.stations[0]! as StationCode, toStation: run.stations.at(-1)! as StationCode })

/** The customer books in the app, to pay with `card` at a kiosk. */
export const bookInApp = (customer: TestCustomer, run: TestRun, card: Pick<TestCard, "pan">, passengerName = "Li Lei") =>
  customer.client.remoteBookings.bookRemoteCard({ payload: { ...journeyOf(run), passengerName, cardNumber: card.pan as CardNumber } })

/** The agent books for the caller on the line. */
export const bookByPhone = (agent: TestAgent, callerPhone: PhoneNumber, run: TestRun, card: Pick<TestCard, "pan">, passengerName = "Han Meimei") =>
  agent.client.remoteBookings.bookForCaller({ payload: { ...journeyOf(run), callerPhone, passengerName, cardNumber: card.pan as CardNumber } })

/** The kiosk's swipe of `card` (with its PIN block, or another) for the booking. */
export const payBooking = (kiosk: TestKiosk, orderId: OrderId, key: string, card: TestCard, pinBlock = card.pinBlock) =>
  kiosk.client.kiosk.payRemoteBooking({
    path: { orderId }, headers: { "idempotency-key": key }, payload: { cardToken: card.token, cardNumber: card.pan as CardNumber, pinBlock }
  })
