/**
 * The simulated upstream system behind the Upstream port (reference/delivery/Upstream/Port.ts): it records what it
 * received, dedupes by push ID, and can be taken down or made to lose acknowledgements.
 */
import { Effect, Layer } from "effect"
import { Upstream, UpstreamUnavailable } from "../delivery/Upstream/Port.js"
import type { PaidSeat } from "../delivery/Upstream/Port.js"

/** An in-memory upstream system with the faults a real link has. */
export class SimulatedUpstream extends Effect.Service<SimulatedUpstream>()("SimulatedUpstream", {
  sync: () => {
    const received = new Map<string, PaidSeat>()
    let deliveries = 0
    let available = true
    let acknowledgementsToLose = 0
    return {
      push: (seat: PaidSeat) => Effect.suspend(() => {
        if (!available) return Effect.fail(new UpstreamUnavailable({ reason: "upstream unreachable" }))
        deliveries++
        if (!received.has(seat.pushId)) received.set(seat.pushId, seat)
        if (acknowledgementsToLose > 0) {
          acknowledgementsToLose--
          return Effect.fail(new UpstreamUnavailable({ reason: "acknowledgement lost" }))
        }
        return Effect.void
      }),
      /** every distinct seat received, by push ID */
      received: () => new Map(received),
      /** pushes that arrived, duplicates included */
      deliveries: () => deliveries,
      setAvailable: (up: boolean) => { available = up },
      /** the next `count` pushes are recorded upstream but their acknowledgement never reaches us */
      loseAcknowledgements: (count: number) => { acknowledgementsToLose = count }
    }
  }
}) {}

/** The Upstream port served by the simulated upstream. */
export const SimulatedUpstreamPort = Layer.effect(Upstream, Effect.map(SimulatedUpstream, (upstream) => ({ push: upstream.push })))
