import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import { ChunyunApi } from "../../Api.js"
import { CurrentCustomer } from "../../customers/Auth/Api.js"
import { Payments } from "../Payments.js"
import { RemoteBookings } from "../../ticketing/RemoteBookings.js"
import { storeDefects } from "../../Sql.js"
import { CurrentKiosk, KioskAuth } from "./Api.js"
import type { GatewayState } from "./Api.js"
import { signatureHeader } from "./GatewayNotification.js"
import { Kiosks } from "./Kiosks.js"
import { SimulatedBank } from "../../Simulated/Bank.js"
import { SimulatedGateway } from "../../Simulated/Gateway.js"

export const KioskAuthLive = Layer.effect(KioskAuth, Effect.map(Kiosks, (kiosks) => ({
  deviceKey: (key: Redacted.Redacted<string>) => storeDefects(kiosks.authenticate(Redacted.value(key)))
})))

const gatewayState = (gateway: SimulatedGateway) =>
  Effect.map(Effect.all({ conditions: gateway.conditions, counters: gateway.counters }), (state): GatewayState => state)

export const PaymentsAdminHttp = HttpApiBuilder.group(ChunyunApi, "paymentsAdmin", (handlers) =>
  Effect.gen(function* () {
    const kiosks = yield* Kiosks
    const bank = yield* SimulatedBank
    const gateway = yield* SimulatedGateway
    return handlers
      .handle("registerKiosk", ({ payload }) => storeDefects(kiosks.register(payload.kioskId, payload.station)))
      .handle("issueBankCard", ({ payload }) => Effect.map(bank.issueCard(payload), (cardToken) => ({ cardToken })))
      .handle("setBankConditions", ({ payload }) => Effect.as(bank.setConditions(payload), payload))
      .handle("bankConditions", () => bank.conditions)
      .handle("planGatewayCharge", ({ payload }) => gateway.plan(payload))
      .handle("setGatewayConditions", ({ payload }) => Effect.zipRight(gateway.setConditions(payload), gatewayState(gateway)))
      .handle("gatewayState", () => gatewayState(gateway))
      .handle("gatewayStatement", () => gateway.statement)
  }))

export const KioskHttp = HttpApiBuilder.group(ChunyunApi, "kiosk", (handlers) =>
  Effect.gen(function* () {
    const kiosks = yield* Kiosks
    const payments = yield* Payments
    const remoteBookings = yield* RemoteBookings
    return handlers
      .handle("holdWalkUp", ({ payload }) =>
        Effect.flatMap(CurrentKiosk, (kiosk) => storeDefects(kiosks.holdWalkUp(kiosk.id, payload))))
      .handle("getKioskOrder", ({ path }) =>
        Effect.flatMap(CurrentKiosk, (kiosk) => storeDefects(kiosks.getKioskOrder(kiosk.id, path.orderId))))
      .handle("payByCard", ({ headers, path, payload }) =>
        Effect.flatMap(CurrentKiosk, (kiosk) =>
          storeDefects(payments.payByCard(kiosk.id, path.orderId, headers["idempotency-key"], payload))))
      .handle("getRemoteBooking", ({ path }) => storeDefects(remoteBookings.kioskView(path.orderId)))
      .handle("payRemoteBooking", ({ headers, path, payload }) =>
        Effect.flatMap(CurrentKiosk, (kiosk) =>
          storeDefects(payments.payRemoteBooking(kiosk.id, path.orderId, headers["idempotency-key"], payload))))
      .handle("pickup", ({ payload }) => Effect.flatMap(CurrentKiosk, (kiosk) => storeDefects(kiosks.pickup(kiosk.id, payload))))
      .handle("printJobs", () => Effect.flatMap(CurrentKiosk, (kiosk) => storeDefects(kiosks.printJobs(kiosk.id))))
      .handle("printed", ({ path }) => Effect.flatMap(CurrentKiosk, (kiosk) => storeDefects(kiosks.printed(kiosk.id, path.jobId))))
      .handle("printFault", ({ path, payload }) =>
        Effect.flatMap(CurrentKiosk, (kiosk) => storeDefects(kiosks.printFault(kiosk.id, path.jobId, payload.fault))))
  }))

export const GatewayHttp = HttpApiBuilder.group(ChunyunApi, "gateway", (handlers) =>
  Effect.map(Payments, (payments) =>
    handlers
      .handle("gatewayPaymentStatus", ({ path }) =>
        Effect.flatMap(CurrentCustomer, (customer) => storeDefects(payments.gatewayPaymentStatus(customer.id, path.orderId))))
      .handle("payByGateway", ({ headers, path }) =>
        Effect.flatMap(CurrentCustomer, (customer) =>
          storeDefects(payments.payByGateway(customer.id, path.orderId, headers["idempotency-key"]))))
      .handle("gatewayCallback", ({ headers, payload }) =>
        storeDefects(payments.handleCallback(payload, headers[signatureHeader])))
  ))
