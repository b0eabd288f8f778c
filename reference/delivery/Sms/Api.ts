import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { AdminAuth } from "../../customers/Auth/Api.js"
import { PhoneNumber } from "../../Domain.js"
import { SmsGatewayAuth } from "../Delivery/Auth.js"
import { SmsInboundInProgress, SmsMessageIdReused } from "./Errors.js"

/** bounds of the schema; longer texts than the server's `maxInboundSmsChars` are answered with a reply saying so */
const maxInboundTextAccepted = 1_000
const maxOutboundPageAccepted = 1_000

export const InboundSms = Schema.Struct({
  /** the gateway's own ID of the text: a retried delivery carries the same one */
  messageId: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_.:-]{1,64}$/)),
  from: PhoneNumber,
  text: Schema.String.pipe(Schema.maxLength(maxInboundTextAccepted))
})

export const SmsReply = Schema.Struct({
  messageId: Schema.String,
  /** the reply, also queued for the gateway to send (`GET /sms/outbound`) */
  reply: Schema.String,
  replyOutboundId: Schema.Number
})
export type SmsReply = typeof SmsReply.Type

export const OutboundSms = Schema.Struct({
  id: Schema.Number,
  to: Schema.String,
  text: Schema.String,
  purpose: Schema.Literal("reply", "ticket-notice"),
  createdAtMs: Schema.Number
})
export type OutboundSms = typeof OutboundSms.Type

export const GatewayId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{1,32}$/))

export class SmsApi extends HttpApiGroup.make("sms")
  .add(
    HttpApiEndpoint.post("registerGateway", "/admin/sms-gateways")
      .setPayload(Schema.Struct({ gatewayId: GatewayId }))
      .addSuccess(Schema.Struct({ gatewayId: Schema.String, deviceKey: Schema.String }), { status: 201 })
      .middleware(AdminAuth)
  )
  .add(
    HttpApiEndpoint.post("receive", "/sms/inbound")
      .setPayload(InboundSms)
      .addSuccess(SmsReply)
      .addError(SmsMessageIdReused)
      .addError(SmsInboundInProgress)
      .middleware(SmsGatewayAuth)
  )
  .add(
    HttpApiEndpoint.get("outbound", "/sms/outbound")
      .setUrlParams(Schema.Struct({
        afterId: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())),
        limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, maxOutboundPageAccepted)))
      }))
      .addSuccess(Schema.Struct({ texts: Schema.Array(OutboundSms), nextAfterId: Schema.Number }))
      .middleware(SmsGatewayAuth)
  ) {}
