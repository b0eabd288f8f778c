/** Expected failures of the seat inventory's design variants (reference/ticketing/Inventory.ts). */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/**
 * The run's waiting queue is full (inventory "queue"): 12306 answers "too many people queueing, try
 * later". 503: the seat may well be free, the server will not take more waiters now.
 */
export class HoldQueueFull extends Schema.TaggedError<HoldQueueFull>()(
  "HoldQueueFull", { runId: Schema.String, waiting: Schema.Number }, HttpApiSchema.annotations({ status: 503 })
) {}

/**
 * The store aborted this hold as the loser of a race with concurrent transactions (a deadlock, a
 * serialization failure) on every one of its `attempts`. 503: nothing is wrong with the request, and
 * nothing was held; another try is likely to succeed.
 */
export class HoldContended extends Schema.TaggedError<HoldContended>()(
  "HoldContended", { runId: Schema.String, attempts: Schema.Number }, HttpApiSchema.annotations({ status: 503 })
) {}
