/**
 * Remote bookings paid by card at a kiosk (seed 001, claim 8, steps a–b) and the call centre's agents.
 *
 * a. The booker books through the booking centre: in the app (the logged-in customer), or by telephone, where a
 *    call-centre agent books for the caller named by phone number. The centre records the passenger's name and
 *    the card that will pay: its keyed token (RemoteBookings/CardTokens.ts), BIN and last four digits, never the
 *    card number. The seat is held like any hold, for `remoteBookingHoldTtlMs`; unpaid, the hold sweeper expires it.
 * b. The booking is then known to the ticketing system (a held order) and to every kiosk (`GET
 *    /kiosk/remote-bookings/:orderId`); steps c–d, the swipe and the payment, are Payments.ts `payRemoteBooking`,
 *    which asks `bookedOrder` whether the card swiped is the one booked before anything goes to the bank.
 *
 * Agents are created by an operator with a password, sign in for a session of `agentSessionTtlMs`, and are locked
 * after `maxLoginPasswordFailures` wrong passwords in a row (each counted before its check) until an operator sets a
 * new one.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { AccessConfig } from "../Settings/Access.js"
import { RemoteBookingConfig } from "../Settings/RemoteBookings.js"
import { PasswordConfig } from "../Settings/Passwords.js"
import { sha256Hex } from "../customers/Customers.js"
import { InvalidCredentials, OrderNotFound, Unauthorized } from "../Domain.js"
import type { CustomerId, OrderId } from "../Domain.js"
import { Ids } from "../Ids.js"
import { Orders, toOrder } from "./Orders.js"
import { OrdersRepo } from "./Orders/Repo.js"
import type { OrderView } from "./Orders/Repo.js"
import { Passwords } from "../customers/Passwords.js"
import { Kiosks } from "../payments/Payments/Kiosks.js"
import { AgentLocked, CardNotBooked, RemoteBookingLocked } from "./RemoteBookings/Api.js"
import type { AgentId, CallerBookingRequest, RemoteBooking, RemoteBookingChannel, RemoteBookingRequest } from "./RemoteBookings/Api.js"
import { cardTokenKeyOf, cardTokenOf, maskedCardNumber, sameCardToken } from "./RemoteBookings/CardTokens.js"
import { spanOptions } from "../Spans.js"

interface RemoteBookingRow {
  readonly order_id: OrderId
  readonly channel: RemoteBookingChannel
  readonly passenger_name: string
  readonly card_token: string
  readonly card_bin: string
  readonly card_last4: string
}

export class RemoteBookings extends Effect.Service<RemoteBookings>()("RemoteBookings", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const orders = yield* Orders
    const ordersRepo = yield* OrdersRepo
    const kiosks = yield* Kiosks
    const passwords = yield* Passwords
    const ids = yield* Ids
    const accessSettings = yield* AccessConfig
    const remoteBookingSettings = yield* RemoteBookingConfig
    const passwordSettings = yield* PasswordConfig
    const cardTokenKey = cardTokenKeyOf(accessSettings.adminKey)

    /** The keyed token of a card number under this server's key: what a booking keeps and a swipe is matched by. */
    const cardToken = (cardNumber: string) => cardTokenOf(cardTokenKey, cardNumber)

    const rowOf = (orderId: OrderId) =>
      Effect.map(sql<RemoteBookingRow>`SELECT order_id, channel, passenger_name, card_token, card_bin, card_last4
        FROM remote_bookings WHERE order_id = ${orderId}`, (rows) => rows[0])

    const toRemoteBooking = (view: OrderView, row: RemoteBookingRow) =>
      Effect.map(kiosks.holderOf(view.customer_id), (holder): RemoteBooking => ({
        ...toOrder(view), channel: row.channel, passengerName: row.passenger_name, cardBin: row.card_bin, cardLast4: row.card_last4, holder
      }))

    /** Hold the seat for the remote booking's time to pay, then record the booking; answers the booking as a kiosk shows it. */
    const book = (customerId: CustomerId, channel: RemoteBookingChannel, agentId: AgentId | null, request: RemoteBookingRequest) =>
      Effect.gen(function* () {
        const held = yield* orders.hold(customerId, { runId: request.runId, fromStation: request.fromStation, toStation: request.toStation },
          remoteBookingSettings.remoteBookingHoldTtlMs)
        const card = maskedCardNumber(request.cardNumber)
        const nowMs = yield* Clock.currentTimeMillis
        // a crash right here leaves a plain hold of the customer's, without a card: it expires like any unpaid hold
        yield* sql`INSERT INTO remote_bookings (order_id, channel, agent_id, passenger_name, card_token, card_bin, card_last4, created_at_ms)
          VALUES (${held.orderId}, ${channel}, ${agentId}, ${request.passengerName}, ${cardToken(request.cardNumber)}, ${card.bin}, ${card.last4}, ${nowMs})`
        const view = yield* ordersRepo.byId(held.orderId)
        const row = yield* rowOf(held.orderId)
        if (!view || !row) return yield* Effect.dieMessage(`remote booking ${held.orderId} vanished after it was written`)
        return yield* toRemoteBooking(view, row)
      })

    /** The web or app booking centre: the logged-in customer books for themselves. */
    const bookForCustomer = (customerId: CustomerId, request: RemoteBookingRequest) =>
      book(customerId, "app", null, request).pipe(Effect.withSpan("RemoteBookings.bookForCustomer", spanOptions))

    /** The call centre: the agent books for the caller, whose phone number names (or makes) the customer. */
    const bookForCaller = (agentId: AgentId, request: CallerBookingRequest) =>
      Effect.gen(function* () {
        const customerId = yield* kiosks.walkUpCustomer(request.callerPhone)
        return yield* book(customerId, "call-centre", agentId, request)
      }).pipe(Effect.withSpan("RemoteBookings.bookForCaller", spanOptions))

    /** A remote booking as a kiosk shows it; OrderNotFound for an order that is no remote booking. */
    const kioskView = (orderId: OrderId) =>
      Effect.gen(function* () {
        const row = yield* rowOf(orderId)
        const view = row ? yield* ordersRepo.byId(orderId) : undefined
        if (!row || !view) return yield* new OrderNotFound({ orderId })
        return yield* toRemoteBooking(view, row)
      })

    /**
     * Inside the payment's transaction: the order when `swipedToken` is the token of the card it was booked with,
     * with the passenger's name for the receipt; CardNotBooked for another card, OrderNotFound for no remote booking.
     */
    const bookedOrder = (orderId: OrderId, swipedToken: string) =>
      Effect.gen(function* () {
        const row = yield* rowOf(orderId)
        const view = row ? yield* ordersRepo.byId(orderId) : undefined
        if (!row || !view) return yield* new OrderNotFound({ orderId })
        if (!sameCardToken(row.card_token, swipedToken)) {
          return yield* new CardNotBooked({ orderId, message: "this is not the card the booking was made with" })
        }
        return { order: view, passengerName: row.passenger_name }
      })

    /**
     * Before the payment's transaction (whose refusal would roll a count back): a swipe of another card is counted
     * and refused, `CardNotBooked`; once `maxWrongCardSwipesPerRemoteBooking` are counted every swipe is refused,
     * `RemoteBookingLocked`. The booked card passes to `bookedOrder`, which compares it again under the order's lock.
     */
    const admitSwipe = (orderId: OrderId, swipedToken: string) =>
      Effect.gen(function* () {
        const [counted] = yield* sql<{ wrong_card_swipes: number }>`UPDATE remote_bookings SET wrong_card_swipes = wrong_card_swipes + 1
          WHERE order_id = ${orderId} AND card_token <> ${swipedToken} AND wrong_card_swipes < ${remoteBookingSettings.maxWrongCardSwipesPerRemoteBooking}
          RETURNING wrong_card_swipes`
        if (counted) return yield* new CardNotBooked({ orderId, message: "this is not the card the booking was made with" })
        const [row] = yield* sql<{ wrong_card_swipes: number }>`SELECT wrong_card_swipes FROM remote_bookings WHERE order_id = ${orderId}`
        if (!row) return yield* new OrderNotFound({ orderId })
        if (Number(row.wrong_card_swipes) >= remoteBookingSettings.maxWrongCardSwipesPerRemoteBooking) {
          return yield* new RemoteBookingLocked({ orderId, message: "too many other cards were swiped for this booking" })
        }
      })

    // ---- call-centre agents -------------------------------------------------------------------------

    /** Create the agent, or give it a new password: its failures are forgiven and its sessions end. */
    const putAgent = (agentId: AgentId, password: string) =>
      Effect.gen(function* () {
        const hash = yield* passwords.hash(password)
        const nowMs = yield* Clock.currentTimeMillis
        yield* sql.withTransaction(Effect.gen(function* () {
          yield* sql`INSERT INTO agents (id, password_hash, login_failures, created_at_ms) VALUES (${agentId}, ${hash}, 0, ${nowMs})
            ON CONFLICT (id) DO UPDATE SET password_hash = ${hash}, login_failures = 0`
          yield* sql`DELETE FROM agent_sessions WHERE agent_id = ${agentId}`
        }))
        return { agentId }
      })

    /**
     * The attempt is counted before the password is checked, in one conditional write: however many logins race,
     * no more than `maxLoginPasswordFailures` are checked until a right one clears the count.
     */
    const agentLogin = (agentId: AgentId, password: string) =>
      Effect.gen(function* () {
        const [counted] = yield* sql<{ password_hash: string }>`UPDATE agents SET login_failures = login_failures + 1
          WHERE id = ${agentId} AND login_failures < ${passwordSettings.maxLoginPasswordFailures} RETURNING password_hash`
        if (!counted) {
          const [known] = yield* sql<{ id: string }>`SELECT id FROM agents WHERE id = ${agentId}`
          if (known) return yield* new AgentLocked({ agentId })
          return yield* new InvalidCredentials()
        }
        if (!(yield* passwords.verify(password, counted.password_hash))) return yield* new InvalidCredentials()
        const token = yield* ids.secretToken
        const expiresAtMs = (yield* Clock.currentTimeMillis) + remoteBookingSettings.agentSessionTtlMs
        yield* sql.withTransaction(Effect.gen(function* () {
          yield* sql`UPDATE agents SET login_failures = 0 WHERE id = ${agentId}`
          yield* sql`INSERT INTO agent_sessions (token_hash, agent_id, expires_at_ms) VALUES (${sha256Hex(token)}, ${agentId}, ${expiresAtMs})`
        }))
        return { agentId, token, expiresAtMs }
      }).pipe(Effect.withSpan("RemoteBookings.agentLogin", spanOptions))

    const authenticateAgent = (token: string) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const [session] = yield* sql<{ agent_id: AgentId }>`SELECT agent_id FROM agent_sessions
          WHERE token_hash = ${sha256Hex(token)} AND expires_at_ms > ${nowMs}`
        if (!session) return yield* new Unauthorized({ message: "unknown or expired agent session" })
        return { id: session.agent_id }
      })

    return { cardToken, bookForCustomer, bookForCaller, kioskView, admitSwipe, bookedOrder, putAgent, agentLogin, authenticateAgent } as const
  }),
  dependencies: [OrdersRepo.Default, Ids.Default]
}) {}
