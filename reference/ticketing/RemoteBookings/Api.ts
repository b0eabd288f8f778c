/**
 * Remote bookings paid by card at a kiosk (seed 001, claim 8): the booker books through the booking centre (the app,
 * or a call-centre agent on the phone), which records the passenger's name and the number of the card that will
 * pay; the seat is held for `remoteBookingHoldTtlMs`; at any kiosk the booker swipes that card, the kiosk sends the
 * swipe with the booking's reference, and only the booked card is sent on to the bank (the kiosk's endpoints are in
 * Payments/Api.ts, beside the walk-up card payment). Call-centre agents are accounts an operator creates; an agent
 * signs in with a password and books for a caller named by phone number.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, HttpApiSecurity } from "@effect/platform"
import { Context, Schema } from "effect"
import { AdminAuth, CustomerAuth } from "../../customers/Auth/Api.js"
import { CustomerName } from "../../customers/Customers/Api.js"
import { InvalidCredentials, Password, PhoneNumber, RunId, StationCode, Unauthorized } from "../../Domain.js"
import { Order, withHoldRefusals } from "../Orders/Api.js"

/** A bank card's number (PAN) as the booker gives it: 13 to 19 digits. Never stored, never in an answer. */
export const CardNumber = Schema.String.pipe(Schema.pattern(/^\d{13,19}$/), Schema.brand("CardNumber"))
export type CardNumber = typeof CardNumber.Type
/** The passenger's name as the booker confirms it (the customers' name schema). */
export const PassengerName = CustomerName
export const AgentId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{1,32}$/), Schema.brand("AgentId"))
export type AgentId = typeof AgentId.Type
export const RemoteBookingChannel = Schema.Literal("app", "call-centre")
export type RemoteBookingChannel = typeof RemoteBookingChannel.Type

export const RemoteBookingRequest = Schema.Struct({
  runId: RunId,
  fromStation: StationCode,
  toStation: StationCode,
  passengerName: PassengerName,
  /** the card that will pay at the kiosk: the server keeps its keyed token, BIN and last four digits only */
  cardNumber: CardNumber
})
export type RemoteBookingRequest = typeof RemoteBookingRequest.Type
/** An agent's booking for a caller: the caller's phone number names the customer the ticket belongs to. */
export const CallerBookingRequest = Schema.Struct({ ...RemoteBookingRequest.fields, callerPhone: PhoneNumber })
export type CallerBookingRequest = typeof CallerBookingRequest.Type

export const RemoteBooking = Schema.Struct({
  ...Order.fields,
  channel: RemoteBookingChannel,
  passengerName: Schema.String,
  /** BIN and last four digits of the booked card: what the kiosk shows the booker before the swipe */
  cardBin: Schema.String,
  cardLast4: Schema.String,
  /** what the passenger presents at the gate: the phone number, or the walk-up code printed on the ticket */
  holder: Schema.String
})
export type RemoteBooking = typeof RemoteBooking.Type

export const AgentSession = Schema.Struct({ agentId: AgentId, token: Schema.String, expiresAtMs: Schema.Number })

/** The card swiped is not the card the booking was made with: nothing was sent to the bank, nothing charged. */
export class CardNotBooked extends Schema.TaggedError<CardNotBooked>()(
  "CardNotBooked", { orderId: Schema.String, message: Schema.String }, HttpApiSchema.annotations({ status: 403 })
) {}
/** The booking took `maxWrongCardSwipesPerRemoteBooking` swipes of other cards and takes no more, the booked card's neither. */
export class RemoteBookingLocked extends Schema.TaggedError<RemoteBookingLocked>()(
  "RemoteBookingLocked", { orderId: Schema.String, message: Schema.String }, HttpApiSchema.annotations({ status: 423 })
) {}
/** The card number the kiosk sent is not the card its token names (another BIN or last four digits). */
export class CardReadInconsistent extends Schema.TaggedError<CardReadInconsistent>()(
  "CardReadInconsistent", { message: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}
/** Too many wrong passwords in a row: the agent signs in again once an operator sets a new password. */
export class AgentLocked extends Schema.TaggedError<AgentLocked>()(
  "AgentLocked", { agentId: Schema.String }, HttpApiSchema.annotations({ status: 423 })
) {}

export class CurrentAgent extends Context.Tag("CurrentAgent")<CurrentAgent, { readonly id: AgentId }>() {}

export class AgentAuth extends HttpApiMiddleware.Tag<AgentAuth>()("AgentAuth", {
  failure: Unauthorized,
  provides: CurrentAgent,
  security: { agentSession: HttpApiSecurity.apiKey({ key: "x-agent-session", in: "header" }) }
}) {}

export class RemoteBookingsApi extends HttpApiGroup.make("remoteBookings")
  .add(
    // the web or app booking centre: the logged-in customer books for themselves
    withHoldRefusals(HttpApiEndpoint.post("bookRemoteCard", "/remote-bookings").setPayload(RemoteBookingRequest).addSuccess(RemoteBooking, { status: 201 }))
      .middleware(CustomerAuth)
  )
  .add(
    HttpApiEndpoint.post("agentLogin", "/agent/sessions")
      .setPayload(Schema.Struct({ agentId: AgentId, password: Password }))
      .addSuccess(AgentSession, { status: 201 })
      .addError(InvalidCredentials)
      .addError(AgentLocked)
  )
  .add(
    // the call centre: a signed-in agent books for the caller on the line
    withHoldRefusals(HttpApiEndpoint.post("bookForCaller", "/agent/remote-bookings").setPayload(CallerBookingRequest).addSuccess(RemoteBooking, { status: 201 }))
      .middleware(AgentAuth)
  ) {}

export class AgentsAdminApi extends HttpApiGroup.make("agentsAdmin")
  .add(
    // creates the agent, or sets a new password: that unlocks a locked agent and ends its sessions
    HttpApiEndpoint.put("putAgent", "/admin/agents/:agentId")
      .setPath(Schema.Struct({ agentId: AgentId }))
      .setPayload(Schema.Struct({ password: Password }))
      .addSuccess(Schema.Struct({ agentId: AgentId }))
  )
  .middleware(AdminAuth) {}
