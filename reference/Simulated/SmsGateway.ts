/**
 * The simulated SMS gateway behind the SmsGateway port (reference/delivery/Sms/GatewayPort.ts). It records every text in the
 * server's store, where tests and the simulator's SMS device read them (`GET /sms/outbound`); a text with a
 * dedupe key already sent is not sent again.
 */
import { Clock, Effect, Layer } from "effect"
import { SmsGateway } from "../delivery/Sms/GatewayPort.js"
import type { SentText, OutboundText } from "../delivery/Sms/GatewayPort.js"
import { Queries } from "../Store/Queries.js"
import { spanOptions } from "../Spans.js"
import { SimulatedSmsGatewayConfig } from "./Settings.js"

/** The SmsGateway port served by the simulated SMS gateway, over the server's store. */
export const SimulatedSmsGateway = Layer.effect(SmsGateway, Effect.gen(function* () {
  const queries = yield* Queries
  const config = yield* SimulatedSmsGatewayConfig
  const send = (outbound: OutboundText) =>
    Effect.gen(function* () {
      if (outbound.text.length > config.maxSmsTextChars) {
        return yield* Effect.dieMessage(`an SMS of ${outbound.text.length} characters exceeds maxSmsTextChars ${config.maxSmsTextChars}`)
      }
      const nowMs = yield* Clock.currentTimeMillis
      const inserted = yield* queries.first<{ id: number }>(`INSERT INTO sms_outbound (to_phone, text, purpose, dedupe_key, created_at_ms)
        VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`, [outbound.to, outbound.text, outbound.purpose, outbound.dedupeKey, nowMs])
      if (inserted) return { outboundId: Number(inserted.id), duplicate: false } satisfies SentText
      const earlier = yield* queries.first<{ id: number }>("SELECT id FROM sms_outbound WHERE dedupe_key = ?", [outbound.dedupeKey])
      if (!earlier) return yield* Effect.dieMessage(`an SMS was neither inserted nor found under dedupe key ${outbound.dedupeKey}`)
      return { outboundId: Number(earlier.id), duplicate: true } satisfies SentText
    }).pipe(Effect.orDie, Effect.withSpan("SmsGateway.send", spanOptions))
  return { maxTextChars: config.maxSmsTextChars, send }
}))
