import { Effect, Layer, Redacted } from "effect"
import { storeDefects } from "../../Sql.js"
import { CarrierAuth, SmsGatewayAuth, TicketMachineAuth } from "./Auth.js"
import { Devices } from "./Devices.js"
import type { DeviceKind } from "./Devices.js"

const byKind = (kind: DeviceKind) => Effect.map(Devices, (devices) => ({
  deviceKey: (key: Redacted.Redacted<string>) => storeDefects(devices.authenticate(kind, Redacted.value(key)))
}))

export const SmsGatewayAuthLive = Layer.effect(SmsGatewayAuth, byKind("sms-gateway"))
export const TicketMachineAuthLive = Layer.effect(TicketMachineAuth, byKind("ticket-machine"))
export const CarrierAuthLive = Layer.effect(CarrierAuth, byKind("sim-carrier"))
export const DeliveryAuthLive = Layer.mergeAll(SmsGatewayAuthLive, TicketMachineAuthLive, CarrierAuthLive)
