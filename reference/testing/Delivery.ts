/**
 * Test helpers for delivery: SMS gateway and ticket machine devices, a paid ticket, and the
 * texts the simulated SMS gateway recorded.
 */
import { Effect } from "effect"
import type { Fen, StationCode } from "../Domain.js"
import { adminClient, clientWithHeaders, storeQuery } from "./TestServer.js"
import type { ChunyunClient, TestCustomer, TestRun } from "./TestServer.js"

export const deviceClient = (baseUrl: string, deviceKey: string) => clientWithHeaders(baseUrl, { "x-device-key": deviceKey })

export interface TestDevice {
  readonly client: ChunyunClient
  readonly id: string
  readonly deviceKey: string
}

export const newSmsGateway = (baseUrl: string, gatewayId: string) =>
  Effect.gen(function* () {
    const admin = yield* adminClient(baseUrl)
    const registered = yield* admin.sms.registerGateway({ payload: { gatewayId } })
    const device: TestDevice = { client: yield* deviceClient(baseUrl, registered.deviceKey), id: gatewayId, deviceKey: registered.deviceKey }
    return device
  })

export const newTicketMachine = (baseUrl: string, machineId: string, venue: string) =>
  Effect.gen(function* () {
    const admin = yield* adminClient(baseUrl)
    const registered = yield* admin.delivery.registerTicketMachine({ payload: { machineId, venue } })
    const device: TestDevice = { client: yield* deviceClient(baseUrl, registered.deviceKey), id: machineId, deviceKey: registered.deviceKey }
    return device
  })

let topUps = 0
/** Tops the customer's wallet up by `amountFen`. */
export const topUp = (customer: TestCustomer, amountFen: number) =>
  customer.client.accounts.topUp({ headers: { "idempotency-key": `delivery-topup-${++topUps}` }, payload: { amountFen: amountFen as Fen } })

let payments = 0
/** Holds the whole journey of `run` for `customer` and pays it from the wallet (topped up first when `fund`). */
export const buyTicket = (customer: TestCustomer, run: TestRun, fund = true) =>
  Effect.gen(function* () {
    if (fund) yield* topUp(customer, run.fareFenPerSegment * run.stations.length)
    const order = yield* customer.client.orders.hold({
      payload: { runId: run.runId, fromStation: run.stations[0] as StationCode, toStation: run.stations.at(-1) as StationCode }
    })
    const paid = yield* customer.client.accounts.pay({
      path: { orderId: order.orderId }, headers: { "idempotency-key": `delivery-pay-${++payments}` },
      payload: { paymentPassword: customer.paymentPassword }
    })
    return { order, paid }
  })

export interface RecordedText { readonly id: number; readonly to_phone: string; readonly text: string; readonly purpose: string }

/** Every text the simulated SMS gateway recorded for `phone`, oldest first. */
export const textsTo = (phone: string) =>
  storeQuery<RecordedText>("SELECT id, to_phone, text, purpose FROM sms_outbound WHERE to_phone = ? ORDER BY id", phone)
