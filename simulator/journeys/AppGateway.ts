/**
 * `app-gateway`: the app journey (App.ts) paying through the third-party gateway instead of the
 * wallet (devices/GatewayPayment.ts), with the gateway as a party of the run (its faults, its counters).
 */
import { Effect } from "effect"
import { defaultGatewayPaymentLimits } from "../../devices/GatewayPayment.js"
import { phoneJourney } from "./App.js"
import type { JourneyPreparer } from "../Journeys.js"
import { phoneEnvironment } from "../Setup.js"
import { gatewayParty } from "./GatewayParty.js"

export const prepareAppGatewayJourney: JourneyPreparer = (context) =>
  Effect.gen(function* () {
    const party = yield* gatewayParty(context)
    const environment = yield* phoneEnvironment(context.scenario, context.prepared, context.baseUrl, context.timing, context.faults)
    const withGateway = { ...environment, gatewayPayment: defaultGatewayPaymentLimits }
    return {
      start: (passenger, afterPurchase) => phoneJourney(withGateway, passenger, afterPurchase),
      background: party.background,
      faultActions: party.faultActions
    }
  })
