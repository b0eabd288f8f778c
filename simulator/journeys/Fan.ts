/**
 * The `fan` journey (the stadium-gates scenario): a fan holds an event ticket bought before the gates open and
 * walks to a gate. The tickets are bought honestly but in bulk: an organiser (a real customer with a wallet)
 * orders them for the fans in group orders of `groupOrderSize` (POST /group-orders: one transaction, one
 * order + payment + signed ticket per fan), so 50,000 tickets take ~100 requests, not 300,000 app calls.
 * At the gate the fan shows the QR (pixels for a sample, its text otherwise) or, with a SIM carrier, lets the
 * reader take the ticket bytes over RFID/NFC; a camera with glare damages the capture and the fan shows it
 * again. A few fans pass a screenshot to a friend who tries another gate: online the gate refuses it, offline
 * it cannot know, and the double admission is found when the gate syncs.
 */
import { Effect, Random } from "effect"
import { makeClient, bearer, withCredentials } from "../../devices/Client.js"
import type { ApiClient } from "../../devices/Client.js"
import { makeLinkedGate } from "../../devices/GateScanner.js"
import type { Capture, GateAdmission, LinkedGate, PhoneDisplay } from "../../devices/GateScanner.js"
import type { Passenger } from "../../devices/Phone.js"
import { renderQr } from "../../devices/Qr.js"
import { makeSimCarrier } from "../../devices/SimCarrier.js"
import type { SimCarrier } from "../../devices/SimCarrier.js"
import { defaultSettings } from "../../reference/Config.js"
import { makeResidentId } from "../../reference/customers/Customers/ResidentId.js"
import type { Fen, GateId, PhoneNumber, RunId, StationCode } from "../../reference/Domain.js"
import type { EventSection } from "../../scenarios/Scenario.js"
import type { FaultOf } from "../../scenarios/Faults.js"
import { outcomeOf } from "../../devices/HistoryEvents.js"
import type { EventDetail, HistoryKind } from "../../devices/HistoryEvents.js"
import { HistoryRecorder, note, overTheNetwork, recorded, sent } from "../../devices/Instruments.js"
import type { NetworkModel } from "../../devices/Instruments.js"
import type { JourneyContext, JourneyPreparer } from "../Journeys.js"
import { drawGlareSpot, isAmongFirstShare } from "../Cameras.js"
import { phoneNumberOf, residentIdOf } from "../Population.js"

/** the organiser's phone: outside the fans' range (13x…) */
export const organiserPhone = "18800000000" as PhoneNumber
const organiserPassword = "organiser-password"
const organiserPaymentPassword = "135790"
const fanPassword = (phone: string) => `pw-${phone}`
const fanPaymentPassword = "246810"
/** the largest SIM ticket store (seed 003: 1–2 KB): a fan's one ticket always fits */
const carrierCapacityBytes = defaultSettings.maxCarrierCapacityBytes

interface FanTicket { readonly ticketId: string; readonly qr: string }
interface FanRole { readonly carrier: boolean; readonly sharesScreenshot: boolean }
type Detail = EventDetail | undefined

/** the first `share` of the gates, rounded up: glare falls on these cameras */
export const firstShareOf = <A>(items: ReadonlyArray<A>, share: number) => items.slice(0, Math.ceil(share * items.length))
/** the last `share` of the gates, rounded up: these lose their link */
export const lastShareOf = <A>(items: ReadonlyArray<A>, share: number) => items.slice(items.length - Math.ceil(share * items.length))

const between = (range: { readonly min: number; readonly max: number }) => Random.nextIntBetween(range.min, range.max + 1)

const sectionOf = (context: JourneyContext): EventSection => {
  const section = context.scenario.event
  if (!section) throw new Error(`scenario ${context.scenario.name}: the fan journey needs an event`)
  return section
}

export const prepareFanJourney: JourneyPreparer = (context) =>
  Effect.gen(function* () {
    const section = sectionOf(context)
    const { timing } = context
    const call: Call = (actor, kind, effect, detailOf) => sent(actor, kind, effect, detailOf)
    const admin = yield* makeClient(context.baseUrl, { "x-admin-key": context.adminKey })
    const anonymous = yield* makeClient(context.baseUrl)
    const created = yield* call("operator", "create-event", admin.venues.createEvent({ payload: section.definition }), (event) => ({ runId: event.runId, places: event.seatCount }))
    const gates = yield* registerGates(context, admin, section.definition.venue.code)
    const count = context.scenario.passengers.count
    const roles: Array<FanRole> = []
    for (let index = 0; index < count; index++) {
      roles.push({ carrier: (yield* Random.next) < section.carrierShare, sharesScreenshot: (yield* Random.next) < section.screenshotShare })
    }
    const carriers = new Map<number, SimCarrier>()
    for (let index = 0; index < count; index++) {
      if (roles[index]!.carrier) carriers.set(index, yield* registerCarrier(anonymous, index, call))
    }
    const tickets = yield* buyForFans(anonymous, created.runId, section, count, call, timing.scenarioNowMs)
    const environment: FanEnvironment = { context, section, gates, roles, carriers, tickets, call }
    return {
      start: (passenger: Passenger, afterPurchase: Effect.Effect<void>) => afterPurchase.pipe(Effect.zipRight(fanJourney(environment, passenger))),
      faultActions: { "gates-offline": gatesOffline(environment, admin) }
    }
  })

/** one request over the run's network, recorded in its history */
type Call = <A, E, R>(actor: string, kind: HistoryKind, effect: Effect.Effect<A, E, R>, detailOf?: (value: A) => Detail) =>
  Effect.Effect<A, E, R | HistoryRecorder | NetworkModel>

interface FanEnvironment {
  readonly context: JourneyContext
  readonly section: EventSection
  readonly gates: ReadonlyArray<LinkedGate>
  readonly roles: ReadonlyArray<FanRole>
  readonly carriers: ReadonlyMap<number, SimCarrier>
  readonly tickets: ReadonlyArray<FanTicket | undefined>
  readonly call: Call
}

/** The venue's gates, each with its device key; they fetch the public keys now, while online. */
const registerGates = (context: JourneyContext, admin: ApiClient, venue: StationCode) =>
  Effect.gen(function* () {
    const gates: Array<LinkedGate> = []
    // one client for all gates (deriving one compiles every endpoint's schemas); each gate sends its own key
    const shared = yield* makeClient(context.baseUrl)
    for (let number = 1; number <= context.scenario.gatesPerStation; number++) {
      const gateId = `${venue}-${String(number).padStart(2, "0")}` as GateId
      const registered = yield* admin.catalog.registerGate({ payload: { gateId, station: venue } })
      const asGate = withCredentials({ "x-device-key": registered.deviceKey })
      const gate = yield* asGate(makeLinkedGate(shared, gateId, venue, defaultSettings))
      gates.push({ ...gate, scan: (display, holder, capture) => asGate(gate.scan(display, holder, capture)), syncAll: asGate(gate.syncAll) })
    }
    return gates
  })

/** A fan with a SIM carrier registers in the app and registers the carrier, so delivery writes the ticket to it. */
const registerCarrier = (anonymous: ApiClient, index: number, call: Call) =>
  Effect.gen(function* () {
    const phone = phoneNumberOf(index)
    const actor = `fan-${index}`
    yield* call(actor, "register", anonymous.customers.register({
      payload: { phone, password: fanPassword(phone), paymentPassword: fanPaymentPassword, residentId: residentIdOf(index) }
    }))
    const session = yield* call(actor, "login", anonymous.customers.login({ payload: { phone, password: fanPassword(phone) } }))
    const registered = yield* call(actor, "register-carrier",
      anonymous.delivery.registerCarrier({ payload: { capacityBytes: carrierCapacityBytes } }).pipe(withCredentials(bearer(session.token))))
    return makeSimCarrier(anonymous, {
      msisdn: phone, deviceKey: registered.deviceKey, capacityBytes: carrierCapacityBytes, slotBytes: defaultSettings.carrierTicketSlotBytes
    })
  })

/** The organiser tops up its wallet and buys one group order per `groupOrderSize` fans; each fan gets its QR. */
const buyForFans = (
  anonymous: ApiClient, runId: RunId, section: EventSection, count: number, call: Call, scenarioNowMs: Effect.Effect<number>
) =>
  Effect.gen(function* () {
    const actor = "organiser"
    yield* call(actor, "register", anonymous.customers.register({
      payload: { phone: organiserPhone, password: organiserPassword, paymentPassword: organiserPaymentPassword, residentId: makeResidentId("110105", "19800101", "001") }
    }))
    const session = yield* call(actor, "login", anonymous.customers.login({ payload: { phone: organiserPhone, password: organiserPassword } }))
    const [offer] = (yield* call(actor, "search", anonymous.venues.listEvents({
      urlParams: { date: section.definition.serviceDate, venue: section.definition.venue.code }
    }))).filter((event) => event.runId === runId)
    const fareFen = offer?.classes.find((offered) => offered.seatClass === section.seatClass)?.priceFen
    if (fareFen === undefined) return yield* Effect.dieMessage(`event ${runId} offers no class ${section.seatClass}`)
    const tickets: Array<FanTicket | undefined> = []
    let topUps = 0
    const buyGroup = (first: number, group: number) =>
      Effect.gen(function* () {
        const holders = Array.from({ length: Math.min(section.groupOrderSize, count - first) }, (_, offset) => phoneNumberOf(first + offset))
        // a top-up is at most the server's maxTopUpFen: a group's price takes several
        for (let neededFen = fareFen * holders.length; neededFen > 0; neededFen -= defaultSettings.maxTopUpFen) {
          const key = `organiser-topup-${String(++topUps).padStart(6, "0")}`
          yield* call(actor, "top-up", anonymous.accounts.topUp({
            headers: { "idempotency-key": key }, payload: { amountFen: Math.min(neededFen, defaultSettings.maxTopUpFen) as Fen }
          }))
        }
        const orderedMs = yield* scenarioNowMs
        const bought = yield* call(actor, "group-order", anonymous.groupOrders.buy({
          headers: { "idempotency-key": `group-order-${String(group).padStart(6, "0")}` },
          payload: { runId, seatClass: section.seatClass, holders, paymentPassword: organiserPaymentPassword }
        }), (result) => ({ tickets: result.tickets.length, amountFen: result.amountFen }))
        const receivedMs = yield* scenarioNowMs
        const history = yield* HistoryRecorder
        // the organiser passes each fan its ticket: the report's issuance counts and latency include them
        bought.tickets.forEach((ticket, offset) => {
          tickets[first + offset] = { ticketId: ticket.ticketId, qr: ticket.qr }
          history.add({
            atMs: receivedMs, actor: `fan-${first + offset}`, kind: "ticket-received", outcome: "ok",
            detail: { orderId: ticket.orderId, ticketId: ticket.ticketId, paymentToIssuanceMs: receivedMs - orderedMs }
          })
        })
      })
    yield* Effect.gen(function* () {
      for (let first = 0, group = 0; first < count; first += section.groupOrderSize, group++) yield* buyGroup(first, group)
    }).pipe(withCredentials(bearer(session.token)))
    return tickets
  })

// ---- at the gate ------------------------------------------------------------------------------------

/** What the fan holds up: the carrier's bytes when its SIM has the ticket, else the phone's QR (pixels for a sample). */
const displayOf = (environment: FanEnvironment, index: number, ticket: FanTicket) =>
  Effect.gen(function* () {
    const carrier = environment.carriers.get(index)
    if (carrier) {
      yield* environment.call(`fan-${index}`, "carrier-sync", carrier.sync)
      const bytes = carrier.stored().get(ticket.ticketId)
      if (bytes) return { kind: "carrier", bytes } satisfies PhoneDisplay
    }
    return yield* qrDisplayOf(environment, ticket.qr)
  })

const qrDisplayOf = (environment: FanEnvironment, qr: string) =>
  Effect.map(Random.next, (draw): PhoneDisplay =>
    draw < environment.context.scenario.checkin.qrPixelSampleRate ? { kind: "pixels", image: renderQr(qr) } : { kind: "text", text: qr })

/** The camera of gate `gateIndex` now: glare on the affected cameras while the fault is on, with its damage rate. */
const captureAt = (environment: FanEnvironment, gateIndex: number) =>
  Effect.gen(function* () {
    const glare = yield* environment.context.faults.active("camera-glare")
    if (!glare || !isAmongFirstShare(gateIndex, environment.gates.length, glare.cameraShare)) return {}
    if ((yield* Random.next) >= glare.damageRate) return {}
    const capture: Capture = { glare: yield* drawGlareSpot }
    return capture
  })

/**
 * One admission: the reader reads (a camera frame or an RFID exchange), the gate admits online or offline; an
 * unreadable capture is shown again after `representDelayMs`, at most `maxPresentations` times in all.
 */
const presentUntilRead = (environment: FanEnvironment, actor: string, gateIndex: number, display: PhoneDisplay, holder: string) =>
  Effect.gen(function* () {
    const { section, context } = environment
    const gate = environment.gates[gateIndex]!
    for (let presentation = 1; ; presentation++) {
      yield* context.timing.sleepScenario(display.kind === "carrier" ? section.rfidReadMs : section.cameraReadMs)
      const capture = display.kind === "carrier" ? {} : yield* captureAt(environment, gateIndex)
      const scan = gate.scan(display, holder, capture)
      const result = yield* Effect.either(gate.online() ? overTheNetwork(scan) : scan)
      if (result._tag === "Right") return { ...result.right, presentations: presentation }
      if (result.left._tag !== "UnreadableCode" || presentation >= section.maxPresentations) return yield* Effect.fail(result.left)
      yield* note(actor, "glare-retry", "UnreadableCode", { gate: gate.gateId, presentation })
      yield* context.timing.sleepScenario(yield* between(section.representDelayMs))
    }
  })

const admissionDetail = (gate: LinkedGate, display: PhoneDisplay) => (admission: GateAdmission & { presentations: number }): Detail => ({
  ticketId: admission.ticketId, gate: gate.gateId, pixels: display.kind === "pixels", via: display.kind,
  offline: admission.mode === "offline", presentations: admission.presentations
})

const gaveUp = (actor: string, reason: string) => note(actor, "gave-up", reason)

const fanJourney = (environment: FanEnvironment, passenger: Passenger) =>
  Effect.gen(function* () {
    const actor = `fan-${passenger.index}`
    const ticket = environment.tickets[passenger.index]
    if (!ticket) return yield* gaveUp(actor, "no ticket")
    const display = yield* displayOf(environment, passenger.index, ticket)
    const gateIndex = yield* Random.nextIntBetween(0, environment.gates.length)
    const gate = environment.gates[gateIndex]!
    const admitted = yield* recorded(actor, "scan",
      presentUntilRead(environment, actor, gateIndex, display, passenger.phone), admissionDetail(gate, display)).pipe(
      Effect.map(() => true), Effect.catchAll((error) => Effect.as(gaveUp(actor, outcomeOf(error)), false)))
    const carrier = environment.carriers.get(passenger.index)
    // the ticket is used: the SIM frees its slot and says so (seed 003)
    if (admitted && carrier && display.kind === "carrier") yield* environment.call(actor, "carrier-remove", carrier.remove(ticket.ticketId))
    if (environment.roles[passenger.index]?.sharesScreenshot) yield* friendWithScreenshot(environment, passenger, ticket, gateIndex)
  }).pipe(Effect.catchAll((error) => gaveUp(`fan-${passenger.index}`, outcomeOf(error))))

/** The friend tries the screenshot at another gate, naming the fan's phone: online it is refused, offline it gets in. */
const friendWithScreenshot = (environment: FanEnvironment, passenger: Passenger, ticket: FanTicket, fanGateIndex: number) =>
  Effect.gen(function* () {
    const actor = `fan-${passenger.index}-friend`
    yield* environment.context.timing.sleepScenario(yield* between(environment.section.screenshotDelayMs))
    const gateCount = environment.gates.length
    const gateIndex = gateCount === 1 ? 0 : (fanGateIndex + 1 + (yield* Random.nextIntBetween(0, gateCount - 1))) % gateCount
    const display = yield* qrDisplayOf(environment, ticket.qr)
    const gate = environment.gates[gateIndex]!
    yield* recorded(actor, "scan",
      presentUntilRead(environment, actor, gateIndex, display, passenger.phone), admissionDetail(gate, display)).pipe(
      Effect.catchAll((error) => gaveUp(actor, outcomeOf(error))))
  })

// ---- the gates-offline fault --------------------------------------------------------------------------

/**
 * The last `offlineGateShare` of the gates lose their link at the window's start. At its end the link is back:
 * each syncs its log in batches, and the operator reads the server's count of double admissions found.
 */
const gatesOffline = (environment: FanEnvironment, admin: ApiClient) => {
  const offlineOf = (fault: FaultOf<"gates-offline">) => lastShareOf(environment.gates, fault.offlineGateShare)
  return {
    start: (fault: FaultOf<"gates-offline">) => Effect.sync(() => { for (const gate of offlineOf(fault)) gate.setOnline(false) }),
    end: (fault: FaultOf<"gates-offline">) =>
      Effect.gen(function* () {
        for (const gate of offlineOf(fault)) {
          gate.setOnline(true)
          yield* environment.call(`gate-${gate.gateId}`, "gate-sync", gate.syncAll, (totals) => ({ ...totals }))
        }
        yield* environment.call("operator", "offline-report", admin.gateSync.offlineReport({ urlParams: {} }), (report) => ({
          admitted: report.counts.admitted, double: report.counts.double, invalid: report.counts.invalid,
          bindingMismatch: report.counts["binding-mismatch"]
        }))
      })
  }
}
