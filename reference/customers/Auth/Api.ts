/**
 * Who is calling: a customer (bearer session token), a gate (device key) or an operator (admin key).
 * The middleware tags live in the contract so the server implements them and clients see them.
 */
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Context } from "effect"
import { Forbidden, Unauthorized } from "../../Domain.js"
import type { CustomerId, GateId, PhoneNumber, StationCode } from "../../Domain.js"

export class CurrentCustomer extends Context.Tag("CurrentCustomer")<
  CurrentCustomer,
  /** a phone customer, or an anonymous device's (seed 004): exactly one of phone and deviceId is set */
  { readonly id: CustomerId; readonly phone: PhoneNumber | null; readonly deviceId: string | null }
>() {}

export class CustomerAuth extends HttpApiMiddleware.Tag<CustomerAuth>()("CustomerAuth", {
  failure: Unauthorized,
  provides: CurrentCustomer,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

export class CurrentGate extends Context.Tag("CurrentGate")<
  CurrentGate,
  {
    readonly id: GateId
    readonly station: StationCode
    /** the train run the gate boards, when an operator set one: it then admits that run's tickets only */
    readonly boarding: { readonly trainCode: string; readonly serviceDate: string } | null
  }
>() {}

export class GateAuth extends HttpApiMiddleware.Tag<GateAuth>()("GateAuth", {
  failure: Unauthorized,
  provides: CurrentGate,
  security: { deviceKey: HttpApiSecurity.apiKey({ key: "x-device-key", in: "header" }) }
}) {}

export class AdminAuth extends HttpApiMiddleware.Tag<AdminAuth>()("AdminAuth", {
  failure: Forbidden,
  security: { adminKey: HttpApiSecurity.apiKey({ key: "x-admin-key", in: "header" }) }
}) {}
