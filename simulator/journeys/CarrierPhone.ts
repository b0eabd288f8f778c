/**
 * An app phone whose SIM is a ticket carrier (seed 003): it registers the carrier (1–2 KB, about 255 B a
 * ticket), buys several trips in the app as the app journey does (hold, top up, pay with idempotency keys,
 * await the ticket), and writes each ticket the server offers to the SIM; what does not fit waits in the
 * network ticket box. At each trip's gate the ticket is read from the SIM when it is there (else shown from
 * the app); once admitted it leaves the SIM, the carrier reports the free slot, and the box migrates the
 * oldest waiting ticket down, which the carrier writes.
 */
import { Effect, Random } from "effect"
import type { OrderId, TicketId } from "../../reference/Domain.js"
import { ticketTextPrefix } from "../../reference/delivery/Issuance/TicketCode.js"
import { outcomeOf } from "../../devices/HistoryEvents.js"
import type { EventDetail, HistoryKind } from "../../devices/HistoryEvents.js"
import { note as noteNow } from "../../devices/Instruments.js"
import { bearer, withCredentials } from "../../devices/Client.js"
import type { PhoneDisplay } from "../../devices/GateScanner.js"
import type { Passenger, PhoneEnvironment, Sending, Trip } from "../../devices/Phone.js"
import { appPhone, awaitTicket, holdSeat, logIn, payFromWallet, recordTicketReceived, registerCustomer, noOfferAtSearch } from "../../devices/Phone.js"
import { makeSimCarrier } from "../../devices/SimCarrier.js"
import type { SimCarrier } from "../../devices/SimCarrier.js"

export interface CarrierPhoneEnvironment extends PhoneEnvironment {
  /** the SIM's bytes reserved for tickets, drawn per phone */
  readonly carrierCapacityBytes: { readonly min: number; readonly max: number }
  /** bytes a ticket takes on the SIM (the server's `carrierTicketSlotBytes`) */
  readonly carrierSlotBytes: number
  /** how many trips a carrier phone buys; the first is its passenger's own */
  readonly tripsPerPhone: { readonly min: number; readonly max: number }
  /** another trip of the scenario's trains, drawn as the population draws them */
  readonly drawTrip: Effect.Effect<Trip>
}

interface Bought { readonly trip: Trip; readonly orderId: OrderId; readonly ticketId: TicketId; readonly qr: string }

/**
 * How a carrier phone's calls go out: its answers may be lost and are sent again, but it was written without the
 * app journey's transport retries and without keys and transfers in the history (and its trace keeps it so).
 */
const carrierSending: Sending = { transportRetries: false, resendLostAnswers: true, detailed: false }

export const carrierJourney = (env: CarrierPhoneEnvironment, passenger: Passenger, afterPurchase: Effect.Effect<void> = Effect.void) => {
  const phone = appPhone(env, `phone-${passenger.index}`, carrierSending)
  const { actor, call } = phone
  const note = (kind: HistoryKind, outcome: string, detail?: EventDetail) => noteNow(actor, kind, outcome, detail)
  const client = env.anonymous

  const trips = Effect.gen(function* () {
    const own = passenger.trip
    if (!own) return yield* Effect.dieMessage(`passenger ${passenger.index} has no train trip: the carrier journey needs one`)
    const count = yield* Random.nextIntBetween(env.tripsPerPhone.min, env.tripsPerPhone.max + 1)
    const more: Array<Trip> = []
    for (let trip = 1; trip < count; trip++) more.push(yield* env.drawTrip)
    return [own, ...more]
  })

  /** One trip bought in the app, as the app journey buys it; its ticket is written to the SIM if there is room. */
  const buy = (carrier: SimCarrier, trip: Trip, tripNumber: number) =>
    Effect.gen(function* () {
      const order = yield* holdSeat(phone, trip)
      yield* env.thinkTime
      const payment = yield* payFromWallet(phone, passenger, order, tripNumber)
      const ticket = yield* awaitTicket(phone, order.orderId, payment.issued, payment.ticket)
      yield* recordTicketReceived(phone, { orderId: order.orderId, ticketId: ticket.ticketId, paymentStartMs: payment.startMs }, { channel: "carrier" })
      yield* syncCarrier(carrier)
      const bought: Bought = { trip, orderId: order.orderId, ticketId: ticket.ticketId, qr: ticket.qr }
      return bought
    })

  const syncCarrier = (carrier: SimCarrier) =>
    call("carrier-sync", carrier.sync, (written) => ({ written, onSim: carrier.stored().size }))

  /** At the trip's gate: the ticket read from the SIM (or shown in the app when it waits in the box), then freed from the SIM. */
  const board = (carrier: SimCarrier, bought: Bought) =>
    Effect.gen(function* () {
      const departureMs = env.departureEpochMs(bought.trip.train, bought.trip.fromStation)
      const earlyMs = yield* Random.nextIntBetween(env.arriveBeforeDepartureMs.min, env.arriveBeforeDepartureMs.max + 1)
      yield* env.sleepScenario(Math.max(0, departureMs - earlyMs - (yield* env.scenarioNowMs)))
      const gates = env.gatesAt(bought.trip.fromStation)
      const gate = gates[yield* Random.nextIntBetween(0, gates.length)]
      if (!gate) return yield* Effect.fail({ _tag: "NoGateAtStation" as const })
      const onSim = carrier.stored().get(bought.ticketId)
      const display: PhoneDisplay = { kind: "text", text: onSim ? ticketTextPrefix + Buffer.from(onSim).toString("base64url") : bought.qr }
      yield* call("scan", gate.scan(display, passenger.phone), (admission) => ({
        ticketId: admission.ticketId, gate: gate.gateId, from: onSim ? "carrier" : "app"
      }))
      if (onSim) yield* call("carrier-removed", carrier.remove(bought.ticketId), (migrated) => ({ ticketId: bought.ticketId, migrated }))
    })

  return Effect.gen(function* () {
    const wanted = yield* trips
    const noOffer = yield* noOfferAtSearch(phone, wanted[0]!)
    if (noOffer) return yield* Effect.fail(noOffer)
    yield* env.thinkTime
    yield* registerCustomer(phone, passenger)
    const token = yield* logIn(phone, passenger)
    const capacityBytes = yield* Random.nextIntBetween(env.carrierCapacityBytes.min, env.carrierCapacityBytes.max + 1)
    const registered = yield* call("register-carrier", client.delivery.registerCarrier({ payload: { capacityBytes } }),
      (answer) => ({ capacitySlots: answer.carrier.capacitySlots })).pipe(withCredentials(bearer(token)))
    const carrier = makeSimCarrier(client, { msisdn: passenger.phone, deviceKey: registered.deviceKey, capacityBytes, slotBytes: env.carrierSlotBytes })
    const tickets: Array<Bought> = []
    for (const [tripNumber, trip] of wanted.entries()) {
      const bought = yield* Effect.either(buy(carrier, trip, tripNumber).pipe(withCredentials(bearer(token))))
      if (bought._tag === "Left") {
        yield* note("gave-up", outcomeOf(bought.left), { trip: tripNumber })
        continue
      }
      tickets.push(bought.right)
      yield* env.thinkTime
    }
    return { carrier, tickets }
  }).pipe(
    Effect.catchAll((error) => Effect.as(note("gave-up", typeof error === "string" ? error : outcomeOf(error)), undefined)),
    Effect.ensuring(afterPurchase),
    Effect.flatMap((owned) => owned === undefined ? Effect.void : Effect.gen(function* () {
      const byDeparture = [...owned.tickets].sort((a, b) =>
        env.departureEpochMs(a.trip.train, a.trip.fromStation) - env.departureEpochMs(b.trip.train, b.trip.fromStation))
      // the last ticket's delivery may have placed it after the last purchase's sync
      yield* syncCarrier(owned.carrier).pipe(Effect.catchAll((error) => note("gave-up", outcomeOf(error))))
      for (const bought of byDeparture) {
        yield* board(owned.carrier, bought).pipe(Effect.catchAll((error) => note("gave-up", outcomeOf(error), { ticketId: bought.ticketId })))
      }
    }))
  )
}
