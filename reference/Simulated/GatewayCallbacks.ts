/**
 * The simulated gateway's network to the server: its due notifications posted to the server's callback handler
 * (`Payments.handleCallback`), through the same verification as a notification that came over HTTP. A
 * background job (Background.ts) runs it at the simulated gateway's own pace.
 */
import { Effect } from "effect"
import { Payments } from "../payments/Payments.js"
import { SimulatedGateway } from "./Gateway.js"

export class SimulatedGatewayCallbacks extends Effect.Service<SimulatedGatewayCallbacks>()("SimulatedGatewayCallbacks", {
  effect: Effect.gen(function* () {
    const payments = yield* Payments
    const simulatedGateway = yield* SimulatedGateway

    /** Posts every notification due by now; answers how many there were. */
    const deliver = Effect.gen(function* () {
      const due = yield* simulatedGateway.dueNotifications
      for (const signed of due) {
        yield* payments.handleCallback(signed.notification, signed.signature).pipe(
          Effect.catchAll((refused) => Effect.logWarning(`simulated gateway callback refused: ${refused._tag}`)))
      }
      return due.length
    })

    return { deliver } as const
  })
}) {}
