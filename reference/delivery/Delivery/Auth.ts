/**
 * The contract's middleware for the delivery devices (SMS gateways, ticket machines, SIM carriers): each kind of device presents its key in
 * `x-device-key`, as a gate does, and a key of one kind never opens another kind's endpoints.
 */
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Context } from "effect"
import { Unauthorized } from "../../Domain.js"
import type { AuthenticatedDevice } from "./Devices.js"

const deviceKey = HttpApiSecurity.apiKey({ key: "x-device-key", in: "header" })

export class CurrentSmsGateway extends Context.Tag("CurrentSmsGateway")<CurrentSmsGateway, AuthenticatedDevice>() {}
export class SmsGatewayAuth extends HttpApiMiddleware.Tag<SmsGatewayAuth>()("SmsGatewayAuth", {
  failure: Unauthorized, provides: CurrentSmsGateway, security: { deviceKey }
}) {}

export class CurrentTicketMachine extends Context.Tag("CurrentTicketMachine")<CurrentTicketMachine, AuthenticatedDevice>() {}
export class TicketMachineAuth extends HttpApiMiddleware.Tag<TicketMachineAuth>()("TicketMachineAuth", {
  failure: Unauthorized, provides: CurrentTicketMachine, security: { deviceKey }
}) {}

/** A SIM carrier's ID is its MSISDN (the phone number its tickets are bound to). */
export class CurrentCarrier extends Context.Tag("CurrentCarrier")<CurrentCarrier, AuthenticatedDevice>() {}
export class CarrierAuth extends HttpApiMiddleware.Tag<CarrierAuth>()("CarrierAuth", {
  failure: Unauthorized, provides: CurrentCarrier, security: { deviceKey }
}) {}
