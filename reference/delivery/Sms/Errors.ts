import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/** The gateway delivered another text under a message ID it used before. */
export class SmsMessageIdReused extends Schema.TaggedError<SmsMessageIdReused>()(
  "SmsMessageIdReused", { messageId: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
/** The same text is being handled by an earlier delivery of it: retry later for the stored reply. */
export class SmsInboundInProgress extends Schema.TaggedError<SmsInboundInProgress>()(
  "SmsInboundInProgress", { messageId: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
