/**
 * How a phone pays for a held order (issue 7's payment variant): from the wallet, synchronously (top up,
 * then pay with the payment password; the answer may carry the ticket), or through the third-party
 * gateway (seed 004): the phone opens a charge and the payer completes it there; the gateway's signed
 * callback settles it at the server later, so the phone always polls for its ticket.
 */
import { Clock, Effect } from "effect"
import type { OrderId } from "../reference/Domain.js"
import type { ApiClient } from "./Client.js"

export const paymentMethods = ["wallet", "gateway"] as const
export type PaymentMethod = typeof paymentMethods[number]

type Call = <A, E, R>(kind: string, effect: Effect.Effect<A, E, R>, detailOf?: (value: A) => Record<string, string | number | boolean | null>) => Effect.Effect<A, E, R>

export interface PaymentStep {
  readonly client: ApiClient
  readonly call: Call
  readonly method: PaymentMethod
  readonly order: { readonly orderId: OrderId; readonly priceFen: number }
  /** the passenger's index: idempotency keys are derived from it, so a retry never charges twice */
  readonly passengerIndex: number
  readonly paymentPassword: string
}

/** `issued`: the answer already names the ticket; `payStartMs` (Clock) starts payment→issuance */
export interface PaymentOutcome { readonly issued: boolean; readonly payStartMs: number }

const keyOf = (prefix: string, index: number) => `${prefix}-${String(index).padStart(8, "0")}`

/** The gateway path: open the charge ("pay" in the history, as the wallet's); never issued in the answer. */
const payByGateway = (step: PaymentStep) =>
  Effect.gen(function* () {
    const payStartMs = yield* Clock.currentTimeMillis
    yield* step.call("pay", step.client.gateway.payByGateway({
      path: { orderId: step.order.orderId }, headers: { "idempotency-key": keyOf("gateway", step.passengerIndex) }
    }), (charge) => ({ orderId: charge.orderId, chargeId: charge.chargeId, method: "gateway" }))
    const outcome: PaymentOutcome = { issued: false, payStartMs }
    return outcome
  })

/** Top up the fare, then pay it from the wallet. `issued`: the answer already names the ticket. */
const payByWallet = (step: PaymentStep) =>
  Effect.gen(function* () {
    yield* step.call("top-up", step.client.accounts.topUp({
      headers: { "idempotency-key": keyOf("topup", step.passengerIndex) }, payload: { amountFen: step.order.priceFen as never }
    }))
    const payStartMs = yield* Clock.currentTimeMillis
    const payment = yield* step.call("pay", step.client.accounts.pay({
      path: { orderId: step.order.orderId }, headers: { "idempotency-key": keyOf("pay", step.passengerIndex) },
      payload: { paymentPassword: step.paymentPassword }
    }), (paid) => ({ orderId: paid.orderId, state: paid.state }))
    const outcome: PaymentOutcome = { issued: payment.ticketId !== null, payStartMs }
    return outcome
  })

export const payForOrder = (step: PaymentStep): Effect.Effect<PaymentOutcome, unknown> => step.method === "gateway" ? payByGateway(step) : payByWallet(step)
