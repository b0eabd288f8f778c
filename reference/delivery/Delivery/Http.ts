import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { CurrentCustomer } from "../../customers/Auth/Api.js"
import { Delivery } from "../Delivery.js"
import { storeDefects } from "../../Sql.js"
import { CurrentCarrier, CurrentTicketMachine } from "./Auth.js"
import { Devices } from "./Devices.js"

export const DeliveryHttp = HttpApiBuilder.group(ChunyunApi, "delivery", (handlers) =>
  Effect.gen(function* () {
    const delivery = yield* Delivery
    const devices = yield* Devices
    return handlers
      .handle("registerCarrier", ({ payload }) =>
        Effect.flatMap(CurrentCustomer, (customer) => storeDefects(delivery.registerCarrier(customer, payload.capacityBytes))))
      .handle("carrierTickets", () => Effect.flatMap(CurrentCarrier, (carrier) => storeDefects(delivery.carrierState(carrier.id))))
      .handle("acknowledgeWritten", ({ payload }) =>
        Effect.flatMap(CurrentCarrier, (carrier) => storeDefects(delivery.acknowledgeWritten(carrier, payload.ticketIds))))
      .handle("reportRemoved", ({ payload }) =>
        Effect.flatMap(CurrentCarrier, (carrier) => storeDefects(delivery.reportRemoved(carrier, payload.ticketIds))))
      .handle("getVoucher", ({ path }) =>
        Effect.flatMap(CurrentCustomer, (customer) => storeDefects(delivery.getVoucher(customer.id, path.orderId))))
      .handle("registerTicketMachine", ({ payload }) =>
        storeDefects(Effect.map(devices.register("ticket-machine", payload.machineId, payload.venue),
          (deviceKey) => ({ machineId: payload.machineId, deviceKey }))))
      .handle("redeemVoucher", ({ payload }) =>
        Effect.flatMap(CurrentTicketMachine, (machine) => storeDefects(delivery.redeemVoucher(machine, payload.code))))
  }))
