/**
 * The SMS gateway port (seed 002's SMS platform, [0065], [0084]): the server sends texts through it. The
 * simulated implementation records every text in the store, where tests and the simulator's SMS device
 * read them (`GET /sms/outbound`). A dedupe key makes a retried send a no-op: at-least-once delivery work
 * sends each notice once.
 */
import { Clock, Context, Effect, Layer } from "effect"
import { SimulatedSmsGatewayConfig } from "../Simulated/Settings.js"
import { Queries } from "../Store/Queries.js"
import { spanOptions } from "../Spans.js"

export interface OutboundText {
  readonly to: string
  readonly text: string
  readonly purpose: "reply" | "ticket-notice"
  /** the same key twice sends once; null sends every time */
  readonly dedupeKey: string | null
}

export interface SentText {
  readonly outboundId: number
  /** true when a text with this dedupe key had been sent already (nothing was sent now) */
  readonly duplicate: boolean
}

export class SmsGateway extends Context.Tag("SmsGateway")<SmsGateway, {
  readonly maxTextChars: number
  readonly send: (text: OutboundText) => Effect.Effect<SentText>
}>() {}

const ellipsis = "…"

/** `text` cut to `maxChars`, marked as cut: a reply is never refused for its length. */
export const fitText = (text: string, maxChars: number) =>
  text.length <= maxChars ? text : text.slice(0, maxChars - ellipsis.length) + ellipsis

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
