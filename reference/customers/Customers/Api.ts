import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { CustomerAuth } from "../Auth/Api.js"
import {
  CustomerId, FenTotal, InvalidCredentials, Password, PaymentLocked, PaymentPassword, PaymentPasswordWrong, PhoneAlreadyRegistered, PhoneNumber
} from "../../Domain.js"
import { DeviceAlreadyRegistered, InvalidDeviceId, InvalidResidentId, LoginLocked, NoLoginPassword, OldPasswordWrong } from "./Errors.js"

export const CustomerName = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(40))

export const Registration = Schema.Struct({
  phone: PhoneNumber,
  password: Password,
  paymentPassword: PaymentPassword,
  /** 18 characters, GB 11643; checked by the server, which names the problem (InvalidResidentId) */
  residentId: Schema.String.pipe(Schema.maxLength(32)),
  name: Schema.optional(CustomerName)
})
export const Credentials = Schema.Struct({ phone: PhoneNumber, password: Password })
export const Session = Schema.Struct({
  token: Schema.String,
  customerId: CustomerId,
  expiresAtMs: Schema.Number
})
export const DeviceRegistration = Schema.Struct({
  /** hex, Customers/DeviceId.ts; checked by the server, which names the problem (InvalidDeviceId) */
  deviceId: Schema.String.pipe(Schema.maxLength(128)),
  paymentPassword: PaymentPassword
})

export const CustomerClass = Schema.Struct({
  vip: Schema.Boolean,
  /** province from the resident ID, or "unknown" */
  region: Schema.String,
  /** as ResidentId.ageBandOf on the server's date, or "unknown" */
  ageBand: Schema.String
})

export const Profile = Schema.Struct({
  customerId: CustomerId,
  phone: Schema.NullOr(PhoneNumber),
  deviceId: Schema.NullOr(Schema.String),
  name: Schema.NullOr(Schema.String),
  /** never the full number, not even to its owner: region and sequence only */
  residentIdMasked: Schema.NullOr(Schema.String),
  province: Schema.NullOr(Schema.String),
  birthDate: Schema.NullOr(Schema.String),
  /** captured payments minus refunds */
  netSpendFen: FenTotal,
  classification: CustomerClass
})
export type Profile = typeof Profile.Type

export const Invoice = Schema.Struct({
  sequence: Schema.Number,
  amountFen: FenTotal,
  /** the customer's net spend when this invoice was issued; the next one covers what comes after */
  coveredSpendFen: FenTotal,
  issuedAtMs: Schema.Number
})
export type Invoice = typeof Invoice.Type

export class CustomersApi extends HttpApiGroup.make("customers")
  .add(
    HttpApiEndpoint.post("register", "/customers")
      .setPayload(Registration)
      .addSuccess(Schema.Struct({ customerId: CustomerId, phone: PhoneNumber }), { status: 201 })
      .addError(PhoneAlreadyRegistered)
      .addError(InvalidResidentId)
  )
  .add(
    HttpApiEndpoint.post("login", "/sessions")
      .setPayload(Credentials)
      .addSuccess(Session, { status: 201 })
      .addError(InvalidCredentials)
      .addError(LoginLocked)
  )
  .add(
    HttpApiEndpoint.post("registerDevice", "/devices")
      .setPayload(DeviceRegistration)
      .addSuccess(Session, { status: 201 })
      .addError(InvalidDeviceId)
      .addError(DeviceAlreadyRegistered)
  )
  .add(
    // a new session for a registered device: its ID, and the payment password as its secret (with the lockout)
    HttpApiEndpoint.post("deviceLogin", "/devices/sessions")
      .setPayload(DeviceRegistration)
      .addSuccess(Session, { status: 201 })
      .addError(InvalidDeviceId)
      .addError(InvalidCredentials)
      .addError(PaymentPasswordWrong)
      .addError(PaymentLocked)
  ) {}

/** The signed-in customer's own record (seed 002 [0075]: customers edit their own information). */
export class ProfileApi extends HttpApiGroup.make("profile")
  .add(HttpApiEndpoint.get("getProfile", "/customers/me").addSuccess(Profile))
  .add(
    HttpApiEndpoint.patch("changeName", "/customers/me")
      .setPayload(Schema.Struct({ name: CustomerName }))
      .addSuccess(Profile)
  )
  .add(
    HttpApiEndpoint.put("changePassword", "/customers/me/password")
      .setPayload(Schema.Struct({ oldPassword: Password, newPassword: Password }))
      // every earlier session ends; this is the new one
      .addSuccess(Session)
      .addError(OldPasswordWrong)
      .addError(LoginLocked)
      .addError(NoLoginPassword)
  )
  .add(
    HttpApiEndpoint.put("changePaymentPassword", "/customers/me/payment-password")
      .setPayload(Schema.Struct({ oldPaymentPassword: PaymentPassword, newPaymentPassword: PaymentPassword }))
      .addSuccess(HttpApiSchema.NoContent)
      .addError(PaymentPasswordWrong)
      .addError(PaymentLocked)
  )
  .add(HttpApiEndpoint.get("listInvoices", "/customers/me/invoices").addSuccess(Schema.Array(Invoice)))
  .middleware(CustomerAuth) {}
