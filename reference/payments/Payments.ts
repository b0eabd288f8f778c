/**
 * Payments by bank card at a kiosk (seed 001) and through a third-party gateway (seed 004), on two-phase
 * transfers (Payments/Ledger.ts). Either way the captured payment ends as a normal posted `order-payment`
 * transfer (card clearing or gateway clearing → centre), written in the same transaction as the order's
 * move to `paid` and its "issue ticket" outbox row, so a refund reverses it like a wallet payment.
 *
 * Card: reserve (pending transfer) → the bank authorises (PIN checked by the bank) → the bank captures →
 * post. The server sees a card token and a PIN block, forwards them, and keeps neither: only BIN + last 4.
 * A kiosk's card pays a walk-up sale of that kiosk, or a remote booking (RemoteBookings.ts) when the card swiped is
 * the card booked: the kiosk sends the card number too, which is turned into the booking's keyed token, compared
 * inside the reservation's transaction before the bank hears of the payment, and forgotten.
 * Gateway: reserve → charge at the gateway → a signed notification (late, twice or never) or the
 * reconciler's poll settles it. A success that finds the reservation voided still issues when the order
 * still holds its seat, and otherwise is refunded: every captured payment ends in one ticket or one refund.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect, Option } from "effect"
import { centreAccountId } from "./Accounts/Repo.js"
import { Checkout } from "./Checkout.js"
import type { PaymentWay } from "./Checkout.js"
import { PaymentConfig } from "../Settings/Payments.js"
import { FenTotal, HoldExpired, OrderNotFound, OrderNotPayable } from "../Domain.js"
import type { CustomerId, OrderId, OrderState, TransferId } from "../Domain.js"
import { Ids, randomHex } from "../Ids.js"
import { idempotent, lookupKey } from "../Idempotency.js"
import { Issuance } from "../delivery/Issuance.js"
import { Orders } from "../ticketing/Orders.js"
import { OrdersRepo } from "../ticketing/Orders/Repo.js"
import {
  CallbackAnswer as CallbackAnswerSchema, CardPaymentResult as CardPaymentResultSchema,
  GatewayPaymentResult as GatewayPaymentResultSchema
} from "./Payments/Api.js"
import type { CallbackAnswer, CardPaymentResult, ChargeState, GatewayPaymentResult, GatewayPaymentStatus, KioskId } from "./Payments/Api.js"
import {
  CardDeclined, GatewayAmountMismatch, GatewayCallbackStale, GatewayChargeNotFound, GatewayChargeUnconfirmed, GatewaySignatureInvalid, NoGatewayPayment,
  PaymentInProgress
} from "./Payments/Errors.js"
import { notificationSignatureValid } from "./Payments/GatewayNotification.js"
import type { ChargeId, GatewayNotification } from "./Payments/GatewayNotification.js"
import { Kiosks, receiptText } from "./Payments/Kiosks.js"
import type { OrderView } from "../ticketing/Orders/Repo.js"
import { RemoteBookings } from "../ticketing/RemoteBookings.js"
import { CardReadInconsistent } from "../ticketing/RemoteBookings/Api.js"
import type { CardNotBooked } from "../ticketing/RemoteBookings/Api.js"
import type { SqlError } from "@effect/sql/SqlError"
import { cardClearingAccountId, gatewayClearingAccountId, TwoPhaseLedger } from "./Payments/Ledger.js"
import { Bank, maskedCard } from "./Payments/BankPort.js"
import type { Authorisation, CardToken } from "./Payments/BankPort.js"
import { PaymentGateway } from "./Payments/GatewayPort.js"
import { forUpdate } from "../Store/Dialect.js"
import { spanOptions } from "../Spans.js"

interface ChargeRow {
  readonly id: ChargeId; readonly order_id: OrderId; readonly pending_transfer_id: TransferId
  readonly amount_fen: number; readonly state: ChargeState
}

/**
 * Which orders a kiosk's card pays, and how: a walk-up sale of this kiosk (any card), or a remote booking whose
 * booked card this is (`cardToken`: its keyed token, stored with the payment; `bookedFor`: the receipt's name).
 */
interface KioskCardPayment<E extends OrderNotFound | CardNotBooked> {
  readonly endpoint: "payByCard" | "payRemoteBooking"
  readonly way: PaymentWay
  readonly admit: Effect.Effect<{ readonly order: OrderView; readonly bookedFor?: string | undefined }, E | SqlError>
  readonly cardToken: string | null
}

export class Payments extends Effect.Service<Payments>()("Payments", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ledger = yield* TwoPhaseLedger
    const ordersRepo = yield* OrdersRepo
    const orders = yield* Orders
    const issuance = yield* Issuance
    const kiosks = yield* Kiosks
    const remoteBookings = yield* RemoteBookings
    const bank = yield* Bank
    const gateway = yield* PaymentGateway
    const ids = yield* Ids
    const checkout = yield* Checkout
    const config = yield* PaymentConfig

    const lockOrder = checkout.lockOrder
    const expireDueHold = checkout.expireDueHold

    /** The checks every payment makes on the locked order before it reserves money (the checkout's), and no payment of it under way. */
    const payableAmount = (
      order: { id: OrderId; state: OrderState; hold_expires_at_ms: number; price_fen: number; booked_card_only: number }, nowMs: number, way: PaymentWay = "other"
    ) =>
      Effect.gen(function* () {
        const amountFen = yield* checkout.payableAmount(order, nowMs, way)
        if (yield* ledger.liveForOrder(order.id)) return yield* new PaymentInProgress({ orderId: order.id })
        return amountFen
      })

    const reserveOrInProgress = (reservation: Parameters<typeof ledger.reserve>[0]) =>
      ledger.reserve(reservation).pipe(
        Effect.catchTag("LiveReservationExists", () => Effect.fail(new PaymentInProgress({ orderId: reservation.orderId }))),
        Effect.flatMap((reserved) => reserved ? Effect.void : Effect.dieMessage(`reservation of ${reservation.debit} refused`)))

    // ---- card at a kiosk (seed 001) ---------------------------------------------------------------

    /** The reserved amount, or the stored answer of `key` when a concurrent twin finished first. */
    const reserveCard = <E extends OrderNotFound | CardNotBooked>(
      idempotency: { scope: string; key: string; request: unknown },
      kioskId: KioskId, orderId: OrderId, pendingId: TransferId, card: { bin: string; last4: string }, nowMs: number, payment: KioskCardPayment<E>
    ) =>
      Effect.gen(function* () {
        const locked = yield* lockOrder(orderId)
        const replay = yield* lookupKey(idempotency.scope, idempotency.key, idempotency.request, CardPaymentResultSchema)
        if (Option.isSome(replay)) return { replay: replay.value }
        // a remote booking's card is compared here, before a reservation and before the bank hears of it
        const { order, bookedFor } = yield* payment.admit
        const amountFen = yield* payableAmount({ ...order, booked_card_only: locked?.booked_card_only ?? 0 }, nowMs, payment.way)
        yield* reserveOrInProgress({
          id: pendingId, debit: cardClearingAccountId, credit: centreAccountId, amountFen, purpose: "card-payment",
          orderId, nowMs, timeoutMs: config.cardAuthorisationTimeoutMs
        })
        yield* sql`INSERT INTO card_payments (pending_transfer_id, order_id, kiosk_id, card_bin, card_last4, card_token, state, created_at_ms)
          VALUES (${pendingId}, ${orderId}, ${kioskId}, ${card.bin}, ${card.last4}, ${payment.cardToken}, 'authorising', ${nowMs})`
        return { amountFen, bookedFor }
      }).pipe(sql.withTransaction)

    const closeCardPayment = (pendingId: TransferId, state: "declined" | "voided", detail: { reason?: string; authorisationId?: string }) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        yield* ledger.voidPending(pendingId, nowMs)
        yield* sql`UPDATE card_payments SET state = ${state}, decline_reason = ${detail.reason ?? null},
            authorisation_id = COALESCE(authorisation_id, ${detail.authorisationId ?? null}), resolved_at_ms = ${nowMs}
          WHERE pending_transfer_id = ${pendingId} AND state = 'authorising'`
      }).pipe(sql.withTransaction)

    const captureCard = (
      kioskId: KioskId, orderId: OrderId, pendingId: TransferId, authorisation: Authorisation, card: { bin: string; last4: string }, nowMs: number,
      bookedFor: string | undefined
    ) =>
      Effect.gen(function* () {
        yield* lockOrder(orderId)
        const order = yield* ordersRepo.byId(orderId)
        // a hold past its time that still has its seat is paid: the bank has the money already
        if (!order || order.state !== "held") return yield* new OrderNotPayable({ orderId, state: order?.state ?? "missing" })
        const transferId = yield* ids.transferId
        const posted = yield* ledger.post(pendingId, transferId, nowMs)
        if (!posted) return yield* new HoldExpired({ orderId, expiredAtMs: nowMs })
        const amountFen = FenTotal.make(Number(order.price_fen))
        yield* checkout.markPaid(order, amountFen, nowMs)
        yield* sql`UPDATE card_payments SET state = 'captured', authorisation_id = ${authorisation.authorisationId},
            auth_code = ${authorisation.authCode}, resolved_at_ms = ${nowMs}
          WHERE pending_transfer_id = ${pendingId} AND state = 'authorising'`
        const printJobId = yield* kiosks.createPrintJob(kioskId, orderId, receiptText({
          kioskId, orderId, amountFen, cardBin: card.bin, cardLast4: card.last4, authCode: authorisation.authCode, paidAtMs: nowMs,
          remoteBookingFor: bookedFor
        }), nowMs)
        const result: CardPaymentResult = {
          orderId, transferId, amountFen, state: "paid", ticketId: null, authCode: authorisation.authCode,
          cardBin: card.bin, cardLast4: card.last4, printJobId
        }
        return result
      })

    const withTicket = <A extends { orderId: OrderId; state: OrderState; ticketId: unknown }>(result: A) =>
      Effect.map(ordersRepo.byId(result.orderId), (view): A => ({ ...result, state: view?.state ?? result.state, ticketId: view?.ticket_id ?? null }))

    /**
     * A kiosk's card + PIN payment of the order `payment` admits. A replay of a stored key answers without
     * calling the bank; a concurrent payment of the same order is PaymentInProgress until this one settles.
     */
    const payAtKiosk = <E extends OrderNotFound | CardNotBooked>(
      kioskId: KioskId, orderId: OrderId, key: string, card: { cardToken: CardToken; pinBlock: string }, payment: KioskCardPayment<E>
    ) =>
      Effect.gen(function* () {
        const scope = `kiosk:${kioskId}`
        // neither the PIN block, the card number, nor anything derived from them is in the request hash
        const request = { endpoint: payment.endpoint, orderId, cardToken: card.cardToken }
        const replay = yield* lookupKey(scope, key, request, CardPaymentResultSchema)
        if (Option.isSome(replay)) return yield* withTicket(replay.value)
        const masked = maskedCard(card.cardToken)
        const nowMs = yield* Clock.currentTimeMillis
        const pendingId = yield* ids.transferId
        const reserved = yield* reserveCard({ scope, key, request }, kioskId, orderId, pendingId, masked, nowMs, payment).pipe(
          Effect.tapErrorTag("HoldExpired", () => expireDueHold(orderId, nowMs)),
          Effect.catchTag("OrderNotPayable", checkout.explainNotPayable))
        if ("replay" in reserved) return yield* withTicket(reserved.replay)
        const amountFen = reserved.amountFen
        yield* Effect.logDebug("card payment: authorising").pipe(Effect.annotateLogs({ orderId, card: `${masked.bin}******${masked.last4}` }))
        const authorisation = yield* bank.authorise({ cardToken: card.cardToken, pinBlock: card.pinBlock, amountFen, reference: pendingId }).pipe(
          Effect.catchTag("BankDeclined", (declined) =>
            Effect.zipRight(closeCardPayment(pendingId, "declined", { reason: declined.reason }), Effect.fail(new CardDeclined({ reason: declined.reason })))))
        // recorded before the capture: if this process dies before posting, the sweeper that voids the
        // reservation gives the captured money back at the bank (one refund, never a charge without a ticket)
        yield* sql`UPDATE card_payments SET authorisation_id = ${authorisation.authorisationId}
          WHERE pending_transfer_id = ${pendingId} AND state = 'authorising'`
        yield* bank.capture(authorisation.authorisationId)
        const capturedAtMs = yield* Clock.currentTimeMillis
        const paid = yield* idempotent(
          { scope, key, request, schema: CardPaymentResultSchema, nowMs: capturedAtMs },
          captureCard(kioskId, orderId, pendingId, authorisation, masked, capturedAtMs, reserved.bookedFor)
        ).pipe(
          sql.withTransaction,
          // the order or the reservation timed out while the bank answered: give the money back
          Effect.tapError(() => Effect.zipRight(
            closeCardPayment(pendingId, "voided", { authorisationId: authorisation.authorisationId }),
            bank.reverse(authorisation.authorisationId))),
          Effect.tapErrorTag("HoldExpired", () => expireDueHold(orderId, capturedAtMs)))
        yield* issuance.issueAfterCommit(orderId)
        return yield* withTicket(paid)
      })

    /** A walk-up passenger pays an order held at this kiosk, with any card. */
    const payByCard = (kioskId: KioskId, orderId: OrderId, key: string, card: { cardToken: CardToken; pinBlock: string }) =>
      payAtKiosk(kioskId, orderId, key, card, {
        endpoint: "payByCard", way: "other", cardToken: null, admit: Effect.map(kiosks.kioskOrder(kioskId, orderId), (order) => ({ order }))
      }).pipe(Effect.withSpan("Payments.payByCard", spanOptions))

    /**
     * A remote booking paid at any kiosk (seed 001 claim 8, step c): only with the card it was booked with. The card
     * number must be the card its token names; its keyed token is compared with the booking's before anything is
     * reserved or sent to the bank, so another card is refused (CardNotBooked) with nothing charged.
     */
    const payRemoteBooking = (kioskId: KioskId, orderId: OrderId, key: string, card: { cardToken: CardToken; cardNumber: string; pinBlock: string }) =>
      Effect.gen(function* () {
        const masked = maskedCard(card.cardToken)
        if (card.cardNumber.slice(0, 6) !== masked.bin || card.cardNumber.slice(-4) !== masked.last4) {
          return yield* new CardReadInconsistent({ message: "the card number is not the card its token names" })
        }
        const swipedToken = remoteBookings.cardToken(card.cardNumber)
        yield* remoteBookings.admitSwipe(orderId, swipedToken)
        return yield* payAtKiosk(kioskId, orderId, key, { cardToken: card.cardToken, pinBlock: card.pinBlock }, {
          endpoint: "payRemoteBooking", way: "booked-card", cardToken: swipedToken,
          admit: Effect.map(remoteBookings.bookedOrder(orderId, swipedToken), ({ order, passengerName }) => ({ order, bookedFor: passengerName }))
        })
      }).pipe(Effect.withSpan("Payments.payRemoteBooking", spanOptions))

    // ---- third-party gateway (seed 004) -----------------------------------------------------------

    const reserveGateway = (customerId: CustomerId, orderId: OrderId, nowMs: number, bookedCardOnly: number) =>
      Effect.gen(function* () {
        const order = yield* ordersRepo.byIdForCustomer(orderId, customerId)
        if (!order) return yield* new OrderNotFound({ orderId })
        const amountFen = yield* payableAmount({ ...order, booked_card_only: bookedCardOnly }, nowMs)
        const pendingId = yield* ids.transferId
        const chargeId = `G${yield* randomHex(16)}` as ChargeId
        yield* reserveOrInProgress({
          id: pendingId, debit: gatewayClearingAccountId, credit: centreAccountId, amountFen, purpose: "gateway-payment",
          orderId, nowMs, timeoutMs: config.gatewayPaymentTimeoutMs
        })
        yield* sql`INSERT INTO gateway_charges (id, order_id, customer_id, pending_transfer_id, amount_fen, state, created_at_ms)
          VALUES (${chargeId}, ${orderId}, ${customerId}, ${pendingId}, ${amountFen}, 'pending', ${nowMs})`
        const result: GatewayPaymentResult = { chargeId, orderId, amountFen, expiresAtMs: nowMs + config.gatewayPaymentTimeoutMs }
        return result
      })

    /** Reserve the fare and open a charge at the gateway; the payer completes it there. */
    const payByGateway = (customerId: CustomerId, orderId: OrderId, key: string) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const request = { endpoint: "payByGateway", orderId }
        const charge = yield* lockOrder(orderId).pipe(
          Effect.flatMap((locked) => idempotent({ scope: customerId, key, request, schema: GatewayPaymentResultSchema, nowMs },
            reserveGateway(customerId, orderId, nowMs, locked?.booked_card_only ?? 0))),
          sql.withTransaction,
          Effect.tapErrorTag("HoldExpired", () => expireDueHold(orderId, nowMs)),
          Effect.catchTag("OrderNotPayable", checkout.explainNotPayable))
        // idempotent at the gateway: a replay re-creates a charge a crash kept from reaching it
        yield* gateway.createCharge({ chargeId: charge.chargeId, amountFen: charge.amountFen })
        return charge
      }).pipe(Effect.withSpan("Payments.payByGateway", spanOptions))

    /** The order's latest charge as the server knows it: what the app shows while the payer waits. */
    const gatewayPaymentStatus = (customerId: CustomerId, orderId: OrderId) =>
      Effect.gen(function* () {
        const order = yield* ordersRepo.byIdForCustomer(orderId, customerId)
        if (!order) return yield* new OrderNotFound({ orderId })
        const [charge] = yield* sql<{ id: ChargeId; amount_fen: number; state: ChargeState; created_at_ms: number }>`SELECT id, amount_fen, state, created_at_ms
          FROM gateway_charges WHERE order_id = ${orderId} ORDER BY created_at_ms DESC, id DESC LIMIT 1`
        if (!charge) return yield* new NoGatewayPayment({ orderId })
        const status: GatewayPaymentStatus = {
          chargeId: charge.id, orderId, amountFen: FenTotal.make(Number(charge.amount_fen)), chargeState: charge.state,
          orderState: order.state, createdAtMs: Number(charge.created_at_ms)
        }
        return status
      })

    type Decision = "duplicate" | "failed" | "captured" | "refunding"

    const decide = (charge: ChargeRow, status: "succeeded" | "failed", nowMs: number) =>
      Effect.gen(function* () {
        if (charge.state !== "pending") return "duplicate" as Decision
        const chargeTo = (state: ChargeState) =>
          sql`UPDATE gateway_charges SET state = ${state}, resolved_at_ms = ${nowMs} WHERE id = ${charge.id}`
        if (status === "failed") {
          yield* ledger.voidPending(charge.pending_transfer_id, nowMs)
          yield* chargeTo("failed")
          return "failed" as Decision
        }
        const amountFen = FenTotal.make(Number(charge.amount_fen))
        const order = yield* ordersRepo.byId(charge.order_id)
        const transferId = yield* ids.transferId
        if (order && order.state === "held") {
          // the seat is still this order's: issue, from the reservation or, when it was voided, directly
          const posted = yield* ledger.post(charge.pending_transfer_id, transferId, nowMs)
          if (!posted) {
            yield* ledger.postDirect({
              id: transferId, debit: gatewayClearingAccountId, credit: centreAccountId, amountFen, purpose: "order-payment", orderId: charge.order_id, nowMs
            })
          }
          yield* checkout.markPaid(order, amountFen, nowMs)
          yield* chargeTo("captured")
          return "captured" as Decision
        }
        // the order expired, was cancelled or was paid otherwise: the money goes back to the payer
        yield* ledger.voidPending(charge.pending_transfer_id, nowMs)
        yield* ledger.postDirect({
          id: transferId, debit: gatewayClearingAccountId, credit: centreAccountId, amountFen, purpose: "late-capture", orderId: charge.order_id, nowMs
        })
        yield* ledger.postDirect({
          id: yield* ids.transferId, debit: centreAccountId, credit: gatewayClearingAccountId, amountFen, purpose: "refund", orderId: charge.order_id, nowMs
        })
        yield* chargeTo("refunding")
        return "refunding" as Decision
      })

    /**
     * What the ledger gave back for an order through a clearing account (a cancel's refund is the price less
     * its fee); undefined when no refund transfer names the order (a late capture is returned whole).
     */
    const ledgerRefundFen = (orderId: OrderId, clearingAccountId: string) =>
      Effect.map(sql<{ refunded: number | null }>`SELECT SUM(amount_fen) AS refunded FROM transfers
        WHERE order_id = ${orderId} AND credit_account_id = ${clearingAccountId}
          AND purpose IN ('order-refund', 'change-refund', 'refund')`,
      ([row]) => row?.refunded === null || row?.refunded === undefined ? undefined : FenTotal.make(Number(row.refunded)))

    const refundAtGateway = (chargeId: ChargeId) =>
      Effect.gen(function* () {
        const [owner] = yield* sql<{ order_id: OrderId }>`SELECT order_id FROM gateway_charges WHERE id = ${chargeId}`
        yield* gateway.refund(chargeId, owner ? yield* ledgerRefundFen(owner.order_id, gatewayClearingAccountId) : undefined)
        yield* sql`UPDATE gateway_charges SET state = 'refunded' WHERE id = ${chargeId} AND state = 'refunding'`
      })

    /** Settle a charge the gateway reports on (a notification or a poll). Settling twice changes nothing. */
    const settleCharge = (chargeId: ChargeId, status: "succeeded" | "failed", notified: { amountFen: FenTotal } | undefined) =>
      Effect.gen(function* () {
        const [located] = yield* sql<{ order_id: OrderId }>`SELECT order_id FROM gateway_charges WHERE id = ${chargeId}`
        if (!located) return yield* new GatewayChargeNotFound({ chargeId })
        // a signature proves only who holds the key: the gateway's own record decides (a poll settles on it already)
        if (notified) {
          const gatewayStatus = yield* gateway.queryCharge(chargeId)
          if (gatewayStatus !== status) return yield* new GatewayChargeUnconfirmed({ chargeId, notifiedStatus: status, gatewayStatus })
        }
        const nowMs = yield* Clock.currentTimeMillis
        const decision = yield* Effect.gen(function* () {
          yield* lockOrder(located.order_id)
          const [charge] = yield* sql<ChargeRow>`SELECT * FROM gateway_charges WHERE id = ${chargeId} ${forUpdate(sql)}`
          if (!charge) return yield* Effect.dieMessage(`charge ${chargeId} vanished`)
          if (notified && notified.amountFen !== Number(charge.amount_fen)) {
            return yield* new GatewayAmountMismatch({
              chargeId, expectedFen: FenTotal.make(Number(charge.amount_fen)), notifiedFen: notified.amountFen
            })
          }
          if (notified) yield* sql`UPDATE gateway_charges SET callbacks_received = callbacks_received + 1 WHERE id = ${chargeId}`
          return yield* decide(charge, status, nowMs)
        }).pipe(sql.withTransaction)
        if (decision === "captured") yield* issuance.issueAfterCommit(located.order_id)
        if (decision === "refunding") yield* refundAtGateway(chargeId)
        const [after] = yield* sql<{ state: ChargeState; order_state: OrderState }>`SELECT c.state, o.state AS order_state
          FROM gateway_charges c JOIN orders o ON o.id = c.order_id WHERE c.id = ${chargeId}`
        if (!after) return yield* Effect.dieMessage(`charge ${chargeId} vanished`)
        const answer: CallbackAnswer = { chargeId, chargeState: after.state, orderState: after.order_state, duplicate: decision === "duplicate" }
        return answer
      }).pipe(Effect.withSpan("Payments.settleCharge", spanOptions))

    /** `POST /gateway/callbacks`: only a genuine, fresh notification settles anything. */
    const handleCallback = (notification: GatewayNotification, signature: string) =>
      Effect.gen(function* () {
        if (!notificationSignatureValid(notification, signature, config.gatewayWebhookSecret)) {
          return yield* new GatewaySignatureInvalid({ message: "the signature does not match the notification" })
        }
        const nowMs = yield* Clock.currentTimeMillis
        if (Math.abs(nowMs - notification.sentAtMs) > config.gatewayCallbackMaxAgeMs) {
          return yield* new GatewayCallbackStale({ sentAtMs: notification.sentAtMs, receivedAtMs: nowMs })
        }
        return yield* settleCharge(notification.chargeId, notification.status, { amountFen: FenTotal.make(notification.amountFen) })
      })

    /**
     * The outside half of a refund (the lifecycle (Lifecycle.ts) reverses the payment transfer in the ledger, then
     * calls this after its commit): the bank reverses the card capture, or the gateway refunds the charge.
     * Once per payment however often it is called; false when the order was not paid by card or gateway.
     */
    const returnToPayer = (orderId: OrderId) =>
      Effect.gen(function* () {
        const [card] = yield* sql<{ authorisation_id: string }>`SELECT authorisation_id FROM card_payments
          WHERE order_id = ${orderId} AND state = 'captured'`
        if (card) {
          // the bank reverses an authorisation once, however often asked: reverse first, then record it
          yield* bank.reverse(card.authorisation_id, yield* ledgerRefundFen(orderId, cardClearingAccountId))
          yield* sql`UPDATE card_payments SET state = 'refunded' WHERE order_id = ${orderId} AND state = 'captured'`
          return true
        }
        const [charge] = yield* sql<{ id: ChargeId }>`UPDATE gateway_charges SET state = 'refunding'
          WHERE order_id = ${orderId} AND state = 'captured' RETURNING id`
        if (charge) {
          yield* refundAtGateway(charge.id)
          return true
        }
        return false
      }).pipe(Effect.withSpan("Payments.returnToPayer", spanOptions))

    // ---- background work (sweepers; the simulator drives the same effects) ------------------------

    /**
     * Polls the gateway for charges pending longer than `gatewayReconcileAfterMs` (a lost notification);
     * cancels at the gateway those whose reservation timed out; retries refunds a crash interrupted.
     */
    const reconcileGatewayCharges = Effect.gen(function* () {
      const nowMs = yield* Clock.currentTimeMillis
      const due = yield* sql<{ id: ChargeId; timeout_at_ms: number; reservation: string }>`SELECT c.id, p.timeout_at_ms, p.state AS reservation
        FROM gateway_charges c JOIN pending_transfers p ON p.id = c.pending_transfer_id
        WHERE c.state = 'pending' AND c.created_at_ms <= ${nowMs - config.gatewayReconcileAfterMs}
        ORDER BY c.created_at_ms, c.id LIMIT ${config.gatewayReconcileBatchSize}`
      let settled = 0
      for (const charge of due) {
        let status = yield* gateway.queryCharge(charge.id)
        const timedOut = charge.reservation !== "pending" || Number(charge.timeout_at_ms) <= nowMs
        if (status === "pending" && timedOut) status = yield* gateway.cancelCharge(charge.id)
        if (status === "pending") continue
        yield* settleCharge(charge.id, status === "succeeded" ? "succeeded" : "failed", undefined)
        settled++
      }
      const refunding = yield* sql<{ id: ChargeId }>`SELECT id FROM gateway_charges WHERE state = 'refunding'
        ORDER BY id LIMIT ${config.gatewayReconcileBatchSize}`
      for (const charge of refunding) yield* refundAtGateway(charge.id)
      return settled
    }).pipe(Effect.withSpan("Payments.reconcileGatewayCharges", spanOptions))

    /**
     * Voids reservations past their timeout: an unpaid gateway charge (a later success is settled as late),
     * a card payment whose process died between the bank's answer and the post (reversed at the bank).
     */
    const voidTimedOutReservations = Effect.gen(function* () {
      const nowMs = yield* Clock.currentTimeMillis
      const due = yield* ledger.timedOut(nowMs, config.pendingTransferSweepBatchSize)
      let voided = 0
      for (const reservation of due) {
        const released = yield* Effect.gen(function* () {
          const released = yield* ledger.voidPending(reservation.id, nowMs)
          const card = yield* sql<{ authorisation_id: string | null }>`UPDATE card_payments SET state = 'voided', resolved_at_ms = ${nowMs}
            WHERE pending_transfer_id = ${reservation.id} AND state = 'authorising' RETURNING authorisation_id`
          return { released, authorisationId: card[0]?.authorisation_id ?? null }
        }).pipe(sql.withTransaction)
        if (released.authorisationId !== null) yield* bank.reverse(released.authorisationId)
        if (released.released) voided++
      }
      return voided
    }).pipe(Effect.withSpan("Payments.voidTimedOutReservations", spanOptions))

    return {
      payByCard, payRemoteBooking, payByGateway, gatewayPaymentStatus, handleCallback, settleCharge, returnToPayer,
      reconcileGatewayCharges, voidTimedOutReservations
    } as const
  }),
  dependencies: [TwoPhaseLedger.Default, OrdersRepo.Default, Ids.Default]
}) {}
