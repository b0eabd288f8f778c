/**
 * The `carrier` journey's preparation: app phones (the app journey's environment) whose SIM is a ticket
 * carrier of the scenario's capacity, buying several trips each (simulator/journeys/CarrierPhone.ts).
 */
import { Effect } from "effect"
import { carrierJourney } from "./CarrierPhone.js"
import { defaultSettings } from "../../reference/Config.js"
import type { JourneyPreparer } from "../Journeys.js"
import { drawTrip } from "../Population.js"
import { phoneEnvironment } from "../Setup.js"
import { smsChannelOf } from "./SmsSettings.js"

export const prepareCarrierJourney: JourneyPreparer = (context) =>
  Effect.map(
    phoneEnvironment(context.scenario, context.prepared, context.baseUrl, context.timing, context.faults),
    (phone) => {
      const channel = smsChannelOf(context.scenario)
      const environment = {
        ...phone,
        carrierCapacityBytes: channel.carrierCapacityBytes,
        carrierSlotBytes: defaultSettings.carrierTicketSlotBytes,
        tripsPerPhone: channel.tripsPerCarrierPhone,
        drawTrip: drawTrip(context.scenario.trains)
      }
      return { start: (passenger, afterPurchase) => carrierJourney(environment, passenger, afterPurchase) }
    }
  )
