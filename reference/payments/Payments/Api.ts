/**
 * Kiosks (seed 001), card payments through the bank (001) and third-party gateway payments with signed
 * callbacks (004). Kiosks authenticate as devices with a key, as gates do.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Context, Schema } from "effect"
import { AdminAuth, CustomerAuth } from "../../customers/Auth/Api.js"
import {
  Fen, FenTotal, HoldDisplaced, HoldExpired, IdempotencyKeyReused, OrderId, OrderNotFound, OrderNotPayable, OrderState,
  PhoneNumber, RunId, StationCode, TicketId, TransferId, Unauthorized
} from "../../Domain.js"
import { IdempotencyHeaders } from "../Accounts/Api.js"
import { Order, withHoldRefusals } from "../../ticketing/Orders/Api.js"
import {
  CardDeclined, GatewayAmountMismatch, GatewayCallbackStale, GatewayChargeNotFound, GatewayChargeUnconfirmed,
  GatewaySignatureInvalid, NoGatewayPayment, NothingToPickUp, PaymentInProgress, PrintJobAlreadyPrinted,
  PrintJobNotFound, TicketAlreadyPrinted
} from "./Errors.js"
import { InvalidVoucherCode, VoucherAlreadyRedeemed, VoucherNotFound, VoucherNotRedeemable } from "../../delivery/Delivery/Errors.js"
import { ChargeId, GatewayNotification, SignatureHex, signatureHeader } from "./GatewayNotification.js"
import { BankConditions } from "../../Simulated/Bank.js"
import { CardToken, PinBlockHex } from "./BankPort.js"
import { CardNotBooked, CardNumber, CardReadInconsistent, RemoteBooking, RemoteBookingLocked } from "../../ticketing/RemoteBookings/Api.js"

export const KioskId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{1,32}$/), Schema.brand("KioskId"))
export type KioskId = typeof KioskId.Type
export const PrintJobId = Schema.String.pipe(Schema.pattern(/^P[0-9a-f]{16}$/), Schema.brand("PrintJobId"))
export type PrintJobId = typeof PrintJobId.Type

export class CurrentKiosk extends Context.Tag("CurrentKiosk")<
  CurrentKiosk,
  { readonly id: KioskId; readonly station: StationCode }
>() {}

export class KioskAuth extends HttpApiMiddleware.Tag<KioskAuth>()("KioskAuth", {
  failure: Unauthorized,
  provides: CurrentKiosk,
  security: { deviceKey: HttpApiSecurity.apiKey({ key: "x-device-key", in: "header" }) }
}) {}

export const WalkUpHold = Schema.Struct({
  runId: RunId,
  fromStation: StationCode,
  toStation: StationCode,
  /** a walk-up passenger may give a phone number (the ticket is then also theirs in the app) or stay anonymous */
  passengerPhone: Schema.optional(PhoneNumber)
})
export const KioskOrder = Schema.Struct({
  ...Order.fields,
  /** what the passenger presents at the gate: the phone number, or the walk-up code printed on the ticket */
  holder: Schema.String
})
export type KioskOrder = typeof KioskOrder.Type

export const CardPaymentRequest = Schema.Struct({ cardToken: CardToken, pinBlock: PinBlockHex })
/**
 * The swipe for a remote booking: besides the token and the PIN block, the card number the reader read, which the
 * server turns into the booking's keyed token to compare and then forgets (reference/ticketing/RemoteBookings/CardTokens.ts)
 */
export const RemoteCardPaymentRequest = Schema.Struct({ cardToken: CardToken, cardNumber: CardNumber, pinBlock: PinBlockHex })
export const CardPaymentResult = Schema.Struct({
  orderId: OrderId,
  transferId: TransferId,
  amountFen: FenTotal,
  state: OrderState,
  ticketId: Schema.NullOr(TicketId),
  authCode: Schema.String,
  /** BIN and last four digits: all the server keeps of the card */
  cardBin: Schema.String,
  cardLast4: Schema.String,
  printJobId: PrintJobId
})
export type CardPaymentResult = typeof CardPaymentResult.Type

export const PrintJob = Schema.Struct({
  jobId: PrintJobId,
  orderId: OrderId,
  ticketId: TicketId,
  /** a pending job has never been printed: what the kiosk prints from it is the one original */
  copy: Schema.Literal("original"),
  /** `sale`: paid at this kiosk, the receipt is the payment's; `pickup`: bought elsewhere, the receipt is a pickup slip */
  kind: Schema.Literal("sale", "pickup"),
  ticketText: Schema.String,
  receiptText: Schema.String,
  faults: Schema.Number,
  lastFault: Schema.NullOr(Schema.String)
})
export type PrintJob = typeof PrintJob.Type
/**
 * A ticket bought elsewhere (the app, SMS) picked up at a kiosk: by its voucher code (seed 004), or by the
 * buyer's phone number and resident ID (the ID card on the kiosk's reader).
 */
export const PickupRequest = Schema.Union(
  Schema.Struct({ voucherCode: Schema.String.pipe(Schema.maxLength(32)) }),
  Schema.Struct({ phone: PhoneNumber, residentId: Schema.String.pipe(Schema.pattern(/^\d{17}[\dXx]$/)) })
)
export type PickupRequest = typeof PickupRequest.Type
export const PrinterFault = Schema.Literal("paper-out", "jam")
export const PrintJobState = Schema.Struct({
  jobId: PrintJobId,
  state: Schema.Literal("pending", "printed"),
  faults: Schema.Number,
  printedAtMs: Schema.NullOr(Schema.Number)
})
export type PrintJobState = typeof PrintJobState.Type

export const GatewayPaymentResult = Schema.Struct({
  chargeId: ChargeId,
  orderId: OrderId,
  amountFen: FenTotal,
  /** the reservation is voided at this time unless the gateway confirms the payment first */
  expiresAtMs: Schema.Number
})
export type GatewayPaymentResult = typeof GatewayPaymentResult.Type
export const ChargeState = Schema.Literal("pending", "captured", "failed", "refunding", "refunded")
export type ChargeState = typeof ChargeState.Type
export const CallbackAnswer = Schema.Struct({
  chargeId: ChargeId,
  chargeState: ChargeState,
  orderState: OrderState,
  /** the charge was settled before this notification: it changed nothing */
  duplicate: Schema.Boolean
})
export type CallbackAnswer = typeof CallbackAnswer.Type

const printJobPath = Schema.Struct({ jobId: PrintJobId })
const orderIdPath = Schema.Struct({ orderId: OrderId })

/** How the next charge created at the simulated gateway behaves (reference/Simulated/Gateway.ts). */
export const GatewayBehaviourSchema = Schema.Struct({
  outcome: Schema.Literal("succeed", "fail", "abandon"),
  callback: Schema.Literal("on-time", "late", "twice", "never")
})

const Rate = Schema.Number.pipe(Schema.between(0, 1))
/** a bound for the schema: no simulated delay beyond an hour */
const maxSimulatedGatewayDelayMs = 3_600_000
const DelayMs = Schema.Int.pipe(Schema.between(0, maxSimulatedGatewayDelayMs))

/** The simulated gateway's conditions for unplanned charges (reference/Simulated/Gateway.ts `GatewayConditions`). */
export const GatewayConditionsSchema = Schema.Struct({
  baseLatencyMs: DelayMs,
  latencyJitterMs: DelayMs,
  extraLatencyMs: DelayMs,
  declineRate: Rate,
  callbackLossRate: Rate,
  callbackDuplicateRate: Rate,
  callbackDelayMs: DelayMs
})
const Count = Schema.Int.pipe(Schema.nonNegative())
export const GatewayCountersSchema = Schema.Struct({
  charges: Count, declined: Count, refunds: Count,
  callbacksScheduled: Count, callbacksLost: Count, callbacksDuplicated: Count, callbacksSent: Count
})
export const GatewayState = Schema.Struct({ conditions: GatewayConditionsSchema, counters: GatewayCountersSchema })
export type GatewayState = typeof GatewayState.Type
export const GatewayStatementLine = Schema.Struct({
  chargeId: ChargeId,
  amountFen: FenTotal,
  status: Schema.Literal("pending", "succeeded", "failed"),
  refundedFen: FenTotal
})

export class PaymentsAdminApi extends HttpApiGroup.make("paymentsAdmin")
  .add(
    HttpApiEndpoint.post("registerKiosk", "/admin/kiosks")
      .setPayload(Schema.Struct({ kioskId: KioskId, station: StationCode }))
      .addSuccess(Schema.Struct({ kioskId: KioskId, deviceKey: Schema.String }), { status: 201 })
  )
  .add(
    HttpApiEndpoint.post("issueBankCard", "/admin/bank/cards")
      .setPayload(Schema.Struct({
        pan: Schema.String.pipe(Schema.pattern(/^\d{13,19}$/)),
        pin: Schema.String.pipe(Schema.pattern(/^\d{4,12}$/)),
        balanceFen: Fen,
        lost: Schema.optional(Schema.Boolean)
      }))
      .addSuccess(Schema.Struct({ cardToken: CardToken }), { status: 201 })
  )
  .add(
    // the simulated bank's conditions: a party outside the server, slowed down or browned out by a simulation
    HttpApiEndpoint.put("setBankConditions", "/admin/bank/conditions")
      .setPayload(BankConditions)
      .addSuccess(BankConditions)
  )
  .add(
    HttpApiEndpoint.get("bankConditions", "/admin/bank/conditions")
      .addSuccess(BankConditions)
  )
  .add(
    // the simulated gateway's control, for a simulator whose server runs in another process
    HttpApiEndpoint.post("planGatewayCharge", "/admin/gateway/plans")
      .setPayload(GatewayBehaviourSchema)
      .addSuccess(Schema.Void, { status: 204 })
  )
  .add(
    // a scenario's gateway faults (brownout, lost or duplicated notifications) set these at a window's edges
    HttpApiEndpoint.put("setGatewayConditions", "/admin/gateway/conditions")
      .setPayload(GatewayConditionsSchema)
      .addSuccess(GatewayState)
  )
  .add(HttpApiEndpoint.get("gatewayState", "/admin/gateway").addSuccess(GatewayState))
  .add(
    // the gateway's books, charge by charge: what an auditor reconciles the store against
    HttpApiEndpoint.get("gatewayStatement", "/admin/gateway/statement").addSuccess(Schema.Array(GatewayStatementLine))
  )
  .middleware(AdminAuth) {}

export class KioskApi extends HttpApiGroup.make("kiosk")
  .add(
    withHoldRefusals(HttpApiEndpoint.post("holdWalkUp", "/kiosk/orders").setPayload(WalkUpHold).addSuccess(KioskOrder, { status: 201 }))
  )
  .add(
    HttpApiEndpoint.get("getKioskOrder", "/kiosk/orders/:orderId")
      .setPath(orderIdPath)
      .addSuccess(KioskOrder)
      .addError(OrderNotFound)
  )
  .add(
    HttpApiEndpoint.post("payByCard", "/kiosk/orders/:orderId/card-payment")
      .setPath(orderIdPath)
      .setHeaders(IdempotencyHeaders)
      .setPayload(CardPaymentRequest)
      .addSuccess(CardPaymentResult, { status: 201 })
      .addError(OrderNotFound)
      .addError(HoldExpired)
      .addError(OrderNotPayable)
      .addError(HoldDisplaced)
      .addError(CardDeclined)
      .addError(PaymentInProgress)
      .addError(IdempotencyKeyReused)
  )
  .add(
    // a remote booking (reference/ticketing/RemoteBookings/Api.ts) as the kiosk shows it before the swipe
    HttpApiEndpoint.get("getRemoteBooking", "/kiosk/remote-bookings/:orderId")
      .setPath(orderIdPath)
      .addSuccess(RemoteBooking)
      .addError(OrderNotFound)
  )
  .add(
    // only the card the booking was made with goes on to the bank (CardNotBooked otherwise, nothing charged)
    HttpApiEndpoint.post("payRemoteBooking", "/kiosk/remote-bookings/:orderId/card-payment")
      .setPath(orderIdPath)
      .setHeaders(IdempotencyHeaders)
      .setPayload(RemoteCardPaymentRequest)
      .addSuccess(CardPaymentResult, { status: 201 })
      .addError(OrderNotFound)
      .addError(CardNotBooked)
      .addError(CardReadInconsistent)
      .addError(RemoteBookingLocked)
      .addError(HoldExpired)
      .addError(HoldDisplaced)
      .addError(OrderNotPayable)
      .addError(CardDeclined)
      .addError(PaymentInProgress)
      .addError(IdempotencyKeyReused)
  )
  .add(
    HttpApiEndpoint.post("pickup", "/kiosk/pickups")
      .setPayload(PickupRequest)
      .addSuccess(Schema.Array(PrintJob), { status: 201 })
      .addError(InvalidVoucherCode)
      .addError(VoucherNotFound)
      .addError(VoucherAlreadyRedeemed)
      .addError(VoucherNotRedeemable)
      .addError(TicketAlreadyPrinted)
      .addError(NothingToPickUp)
  )
  .add(
    HttpApiEndpoint.get("printJobs", "/kiosk/print-jobs")
      .addSuccess(Schema.Array(PrintJob))
  )
  .add(
    HttpApiEndpoint.post("printed", "/kiosk/print-jobs/:jobId/printed")
      .setPath(printJobPath)
      .addSuccess(PrintJobState)
      .addError(PrintJobNotFound)
  )
  .add(
    HttpApiEndpoint.post("printFault", "/kiosk/print-jobs/:jobId/faults")
      .setPath(printJobPath)
      .setPayload(Schema.Struct({ fault: PrinterFault }))
      .addSuccess(PrintJobState)
      .addError(PrintJobNotFound)
      .addError(PrintJobAlreadyPrinted)
  )
  .middleware(KioskAuth) {}

export const GatewayPaymentStatus = Schema.Struct({
  chargeId: ChargeId,
  orderId: OrderId,
  amountFen: FenTotal,
  chargeState: ChargeState,
  orderState: OrderState,
  createdAtMs: Schema.Number
})
export type GatewayPaymentStatus = typeof GatewayPaymentStatus.Type

export class GatewayApi extends HttpApiGroup.make("gateway")
  .add(
    // the app asks after its payment: the order's latest charge, as the server knows it (declined = failed)
    HttpApiEndpoint.get("gatewayPaymentStatus", "/orders/:orderId/gateway-payment")
      .setPath(orderIdPath)
      .addSuccess(GatewayPaymentStatus)
      .addError(OrderNotFound)
      .addError(NoGatewayPayment)
      .middleware(CustomerAuth)
  )
  .add(
    HttpApiEndpoint.post("payByGateway", "/orders/:orderId/gateway-payment")
      .setPath(orderIdPath)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(GatewayPaymentResult, { status: 201 })
      .addError(OrderNotFound)
      .addError(HoldExpired)
      .addError(OrderNotPayable)
      .addError(HoldDisplaced)
      .addError(PaymentInProgress)
      .addError(IdempotencyKeyReused)
      .middleware(CustomerAuth)
  )
  .add(
    HttpApiEndpoint.post("gatewayCallback", "/gateway/callbacks")
      .setHeaders(Schema.Struct({ [signatureHeader]: SignatureHex }))
      .setPayload(GatewayNotification)
      .addSuccess(CallbackAnswer)
      .addError(GatewaySignatureInvalid)
      .addError(GatewayCallbackStale)
      .addError(GatewayChargeNotFound)
      .addError(GatewayChargeUnconfirmed)
      .addError(GatewayAmountMismatch)
  ) {}
