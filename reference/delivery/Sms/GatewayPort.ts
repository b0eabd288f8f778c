/**
 * The SMS gateway port (seed 002's SMS platform, [0065], [0084]): the server sends texts through it. A dedupe
 * key makes a retried send a no-op: at-least-once delivery work sends each notice once. The simulated gateway
 * is reference/Simulated/SmsGateway.ts.
 */
import { Context } from "effect"
import type { Effect } from "effect"

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

/** What the server needs of an SMS gateway: the longest text it sends, and a send. */
export class SmsGateway extends Context.Tag("SmsGateway")<SmsGateway, {
  readonly maxTextChars: number
  readonly send: (text: OutboundText) => Effect.Effect<SentText>
}>() {}

const ellipsis = "…"

/** `text` cut to `maxChars`, marked as cut: a reply is never refused for its length. */
export const fitText = (text: string, maxChars: number) =>
  text.length <= maxChars ? text : text.slice(0, maxChars - ellipsis.length) + ellipsis
