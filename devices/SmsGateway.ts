/**
 * An SMS gateway device (seed 002's SMS platform): relays texts from phones to the server under a message
 * ID of its own, redelivering the same ID when a delivery fails, and pulls the server's outbound texts into
 * the phones' inboxes. Loss is a parameter: a lost outbound text is pulled but never reaches its phone.
 */
import { Effect, Random } from "effect"
import type { PhoneNumber } from "../reference/Domain.js"
import { withCredentials } from "./Client.js"
import type { ApiClient } from "./Client.js"

export interface SmsGatewayOptions {
  readonly gatewayId: string
  readonly deviceKey: string
  /** chance in [0, 1] that an outbound text is lost on its way to the phone */
  readonly outboundLossRate: number
  /** deliveries of one inbound text before the gateway gives up */
  readonly maxDeliveryAttempts: number
}

export interface SmsGatewayDevice {
  /** a phone's text, delivered (and redelivered under the same message ID on failure); answers the server's reply */
  readonly relay: (from: string, text: string) => Effect.Effect<string, unknown>
  /** moves the server's outbound texts to the phones' inboxes; answers how many were pulled */
  readonly pull: Effect.Effect<number, unknown>
  readonly inbox: (phone: string) => ReadonlyArray<string>
  readonly lostTexts: () => number
}

export const makeSmsGatewayDevice = (client: ApiClient, options: SmsGatewayOptions): SmsGatewayDevice => {
  const asGateway = withCredentials({ "x-device-key": options.deviceKey })
  const inboxes = new Map<string, Array<string>>()
  let messagesRelayed = 0
  let afterId = 0
  let lost = 0

  const relay = (from: string, text: string) => {
    const messageId = `${options.gatewayId}-${++messagesRelayed}`
    return client.sms.receive({ payload: { messageId, from: from as PhoneNumber, text } }).pipe(
      // a lost request, or a text the server is still answering, is delivered again; a refusal is final
      Effect.retry({
        times: options.maxDeliveryAttempts - 1,
        while: (error) => error._tag === "RequestError" || error._tag === "SmsInboundInProgress"
      }),
      Effect.map((answered) => answered.reply),
      asGateway
    )
  }

  const pull = Effect.gen(function* () {
    const page = yield* client.sms.outbound({ urlParams: { afterId } })
    for (const text of page.texts) {
      if ((yield* Random.next) < options.outboundLossRate) {
        lost++
        continue
      }
      const inbox = inboxes.get(text.to) ?? []
      inbox.push(text.text)
      inboxes.set(text.to, inbox)
    }
    afterId = page.nextAfterId
    return page.texts.length
  }).pipe(asGateway)

  return { relay, pull, inbox: (phone) => inboxes.get(phone) ?? [], lostTexts: () => lost }
}
