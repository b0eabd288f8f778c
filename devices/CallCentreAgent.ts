/**
 * A call-centre agent of the booking centre (seed 001, claims 2 and 8): a person at a telephone who books for
 * callers through an agent session. The operator created the agent with a password; the agent signs in once and
 * again only when the session has ended, and takes one call at a time (the others wait in the queue, first come
 * first served). For each call: the caller names the train, the segment, the passenger and the card that will pay
 * at a kiosk; the agent books it and reads back the booking's reference, its price and the card's last four digits.
 * The card number goes to the server in the booking and nowhere else: the history shows BIN + last four.
 */
import { Effect } from "effect"
import type { PhoneNumber, RunId, StationCode } from "../reference/Domain.js"
import { heldSeatDetail } from "./HeldSeat.js"
import type { AgentId, CardNumber } from "../reference/ticketing/RemoteBookings/Api.js"
import type { EventDetail, HistoryKind } from "./HistoryEvents.js"
import { sent } from "./Instruments.js"
import { withCredentials } from "./Client.js"
import type { ApiClient } from "./Client.js"
import { maskedPan } from "./CardReader.js"

/** What an agent needs of the run: the scenario's clock (its history and network are services: devices/Instruments.ts). */
export interface AgentEnvironment {
  readonly sleepScenario: (ms: number) => Effect.Effect<void>
}

/** how often a caller on hold looks whether the agent is free (polled on the scenario's clock, as a kiosk's line is) */
export const callQueuePollMs = 1_000

/** A caller's booking as the agent types it in. */
export interface CallerBooking {
  readonly passengerIndex: number
  readonly callerPhone: PhoneNumber
  readonly runId: RunId
  readonly fromStation: StationCode
  readonly toStation: StationCode
  readonly passengerName: string
  readonly cardNumber: string
}

type Detail = EventDetail

export const makeCallCentreAgent = (env: AgentEnvironment, agentId: AgentId, password: string, client: ApiClient) => {
  const actor = `agent-${agentId}`
  const line: Array<number> = []
  let nextInLine = 0
  let busy = false
  let session: string | undefined
  const takeCall = Effect.gen(function* () {
    const ticket = nextInLine++
    line.push(ticket)
    while (busy || line[0] !== ticket) yield* env.sleepScenario(callQueuePollMs)
    line.shift()
    busy = true
  })
  const call = <A, E, R>(kind: HistoryKind, effect: Effect.Effect<A, E, R>, detailOf?: (value: A) => Detail) =>
    sent(actor, kind, effect, detailOf)

  const signIn = Effect.gen(function* () {
    const signedIn = yield* call("agent-login", client.remoteBookings.agentLogin({ payload: { agentId, password } }), (answer) => ({ agentId: answer.agentId }))
    session = signedIn.token
    return signedIn.token
  })

  const bookOnce = (token: string, booking: CallerBooking) =>
    call("book-for-caller", client.remoteBookings.bookForCaller({
      payload: {
        callerPhone: booking.callerPhone, runId: booking.runId, fromStation: booking.fromStation, toStation: booking.toStation,
        passengerName: booking.passengerName, cardNumber: booking.cardNumber as CardNumber
      }
    }).pipe(withCredentials({ "x-agent-session": token })), (booked) => ({
      orderId: booked.orderId, priceFen: booked.priceFen, coach: booked.coach, seat: booked.seatCode, ...heldSeatDetail(booked),
      card: maskedPan(booked.cardBin, booked.cardLast4), passenger: booking.passengerIndex
    }))

  /** One call: the booking made through the agent's session (signed in again once if the session ended). */
  const book = (booking: CallerBooking) =>
    Effect.gen(function* () {
      const token = session ?? (yield* signIn)
      return yield* bookOnce(token, booking).pipe(
        Effect.catchTag("Unauthorized", () => Effect.flatMap(signIn, (fresh) => bookOnce(fresh, booking))))
    })

  return {
    agentId, actor,
    /** one caller at a time: the others wait on hold */
    serve: <A, E, R>(conversation: (agent: { book: typeof book }) => Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(takeCall, () => conversation({ book }), () => Effect.sync(() => { busy = false }))
  }
}
export type CallCentreAgent = ReturnType<typeof makeCallCentreAgent>
