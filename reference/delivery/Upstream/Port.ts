/**
 * The upstream port: what the server pushes issued seats to (Upstream.ts's outbound sync). The stand-in every
 * test and `chunyun serve` use is reference/Simulated/Upstream.ts.
 */
import { Context, Data } from "effect"
import type { Effect } from "effect"
import type { FenTotal } from "../../Domain.js"

/** A paid seat as the upstream receives it. */
export interface PaidSeat {
  /** the push's idempotency key upstream: our order ID */
  readonly pushId: string
  readonly runId: string
  readonly trainCode: string
  readonly serviceDate: string
  readonly coach: number
  readonly seatCode: string
  readonly fromStation: string
  readonly toStation: string
  readonly priceFen: FenTotal
}

/** The push did not reach the upstream, or its acknowledgement did not come back. */
export class UpstreamUnavailable extends Data.TaggedError("UpstreamUnavailable")<{ readonly reason: string }> {}

/** What the server needs of the upstream system: a push, idempotent by push ID. */
export class Upstream extends Context.Tag("Upstream")<Upstream, {
  readonly push: (seat: PaidSeat) => Effect.Effect<void, UpstreamUnavailable>
}>() {}
