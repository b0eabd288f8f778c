import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import {
  CustomerId, InvalidCredentials, Password, PaymentPassword, PhoneAlreadyRegistered, PhoneNumber
} from "../Domain.js"

export const Registration = Schema.Struct({
  phone: PhoneNumber,
  password: Password,
  paymentPassword: PaymentPassword
})
export const Credentials = Schema.Struct({ phone: PhoneNumber, password: Password })
export const Session = Schema.Struct({
  token: Schema.String,
  customerId: CustomerId,
  expiresAtMs: Schema.Number
})

export class CustomersApi extends HttpApiGroup.make("customers")
  .add(
    HttpApiEndpoint.post("register", "/customers")
      .setPayload(Registration)
      .addSuccess(Schema.Struct({ customerId: CustomerId, phone: PhoneNumber }), { status: 201 })
      .addError(PhoneAlreadyRegistered)
  )
  .add(
    HttpApiEndpoint.post("login", "/sessions")
      .setPayload(Credentials)
      .addSuccess(Session, { status: 201 })
      .addError(InvalidCredentials)
  ) {}
