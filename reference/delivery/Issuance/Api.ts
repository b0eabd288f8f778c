import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { CustomerAuth } from "../../customers/Auth/Api.js"
import { OrderId, OrderNotFound, TicketId, TicketNotIssued } from "../../Domain.js"

export const Ticket = Schema.Struct({
  ticketId: TicketId,
  orderId: OrderId,
  /** the text encoded in the QR code: signed payload, see Issuance/TicketCode.ts */
  qr: Schema.String,
  issuedAtMs: Schema.Number
})
export type Ticket = typeof Ticket.Type

export const PublicKey = Schema.Struct({ keyId: Schema.Number, publicKeyBase64: Schema.String })

export class IssuanceApi extends HttpApiGroup.make("issuance")
  .add(
    HttpApiEndpoint.get("getTicket", "/orders/:orderId/ticket")
      .setPath(Schema.Struct({ orderId: OrderId }))
      .addSuccess(Ticket)
      .addError(OrderNotFound)
      .addError(TicketNotIssued)
      .middleware(CustomerAuth)
  )
  .add(
    HttpApiEndpoint.get("publicKeys", "/ticket-keys")
      .addSuccess(Schema.Array(PublicKey))
  ) {}
