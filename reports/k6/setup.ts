/**
 * The exported script's `setup()`, as JavaScript text: what `chunyun run` does before its rush, through the same
 * admin API (simulator/Setup.ts, simulator/journeys/*: the trains' runs and their stations' gates, the cinema, the
 * kiosks and the call centre's agents, the SMS gateway, the event and the organiser's group orders), then the
 * server's clock: read twice (its time scale must be the script's), and the on-sale awaited.
 *
 * Why setup() and not `chunyun serve --seed-catalog`: a gate, a kiosk, a SIM carrier and the SMS gateway get their
 * device key only in the answer to their registration, and the journeys need those keys; a catalog seeded by the
 * server at start leaves them with nobody.
 */

/** how long k6 gives setup() (wall time): the catalog, the group orders of a stadium, and the wait for the on-sale */
export const k6SetupTimeoutMs = 900_000
/** the longest setup() waits for the server's clock to reach the on-sale (wall time); a clock further behind is refused */
export const maxOnSaleWaitWallMs = 300_000
/** the two readings of the server's clock are at least this far apart (wall time), to measure its rate */
export const clockScaleProbeWallMs = 2_000
/** how far the server clock's measured rate may be from the script's time scale (a share of it) */
export const clockScaleTolerance = 0.1
/** a server clock this far past the on-sale when setup() ends is reported (scenario time) */
export const lateStartWarningScenarioMs = 60_000

export interface SetupParts {
  readonly trains: boolean
  readonly cinema: boolean
  readonly gatewayBaseline: boolean
  readonly kiosks: boolean
  readonly agents: boolean
  readonly sms: boolean
  readonly fan: boolean
}

const setupHelpers = `
// ---- setup(): the catalog through the admin API, then the server's clock ----

/**
 * @param {Answer} answer @param {string} what the answer's body; a refusal stops the test, saying what was refused
 * @returns {any}
 */
function required(answer, what) {
  if (answer.ok) return answer.body
  const why = answer.status === 0 ? "no answer from " + baseUrl + " (is the server running at CHUNYUN_BASE_URL?)"
    : answer.status === 403 ? "403 " + answer.tag + " (CHUNYUN_ADMIN_KEY is not the server's admin key)"
    : answer.status + " " + answer.tag + (answer.status === 409 ? ": the store has it already; start the test on a fresh store, not one served with --seed-catalog" : "")
  throw new Error("setup: " + what + " was refused: " + why)
}

/** @param {string} station its gates (STA-01, STA-02, …), registered: their device keys */
function registerGates(station) {
  /** @type {Array<string>} */
  const keys = []
  for (let number = 1; number <= plan.gatesPerStation; number++) {
    const gateId = station + "-" + String(number).padStart(2, "0")
    const gate = required(call("register-gate", "catalog.registerGate", { body: { gateId: gateId, station: station }, headers: asAdmin(), needs: ["deviceKey"] }), "gate " + gateId)
    keys.push(String(gate.deviceKey))
  }
  return keys
}

/** The server's scenario clock: the probe customer's session expires sessionTtlMs after its login, by that clock. */
function readServerClock() {
  const before = Date.now()
  const session = required(call("clock-probe", "customers.login", { body: { phone: plan.clockProbe.phone, password: plan.clockProbe.password }, needs: ["expiresAtMs"] }), "the clock probe's login")
  const after = Date.now()
  return { serverMs: Number(session.expiresAtMs) - plan.sessionTtlMs, wallMs: (before + after) / 2, roundTripMs: after - before }
}

/**
 * The server's clock must run at the script's time scale, near the scenario's timeline: checked against a reading
 * taken at least clockScaleProbeWallMs earlier; then the on-sale is awaited. The reading the journeys keep.
 * Each reading's wall time is known only to within half its round trip (a busy server answers late), so the rate is
 * refused only when no wall interval the two readings allow gives a rate within clockScaleTolerance.
 * @param {ServerClock} first
 */
function awaitOnSale(first) {
  const waitWallMs = plan.clockScaleProbeWallMs - (Date.now() - first.wallMs)
  if (waitWallMs > 0) sleep(waitWallMs / 1000)
  const second = readServerClock()
  const serverElapsedMs = second.serverMs - first.serverMs
  const wallElapsedMs = second.wallMs - first.wallMs
  const slackMs = (first.roundTripMs + second.roundTripMs) / 2
  const scale = serverElapsedMs / wallElapsedMs
  const fastestScale = serverElapsedMs / Math.max(1, wallElapsedMs - slackMs)
  const slowestScale = serverElapsedMs / (wallElapsedMs + slackMs)
  if (slowestScale / plan.timeScale > 1 + plan.clockScaleTolerance || fastestScale / plan.timeScale < 1 - plan.clockScaleTolerance) {
    throw new Error("setup: the server's clock runs " + scale.toFixed(2) + " times as fast as the wall, this script was exported for " + plan.timeScale + ": serve with " + plan.serveClockArguments)
  }
  const untilOnSaleMs = plan.onSaleMs - second.serverMs
  if (untilOnSaleMs / plan.timeScale > plan.maxOnSaleWaitWallMs) {
    throw new Error("setup: the server's clock reads " + new Date(second.serverMs).toISOString() + ", long before the on-sale at " + new Date(plan.onSaleMs).toISOString() + ": serve with " + plan.serveClockArguments)
  }
  if (-untilOnSaleMs > plan.lateStartWarningScenarioMs) {
    console.warn("setup: the server's clock is " + Math.round(-untilOnSaleMs / 1000) + " s (scenario time) past the on-sale: the passengers come that much later on its timeline than in chunyun run")
  }
  sleepScenario(untilOnSaleMs)
  return second
}
`

const trainsSetup = `
/** The trains' runs (simulator/Setup.ts), and the gates of every station a train leaves from: their device keys by station. */
function createTrains() {
  const runIds = plan.trains.map((train) =>
    String(required(call("create-run", "catalog.createRun", { body: train.run, headers: asAdmin(), needs: ["runId"] }), "train run " + train.trainCode).runId))
  /** @type {Record<string, Array<string>>} */
  const gateKeys = {}
  for (const station of plan.boardingStations) gateKeys[station] = registerGates(station)
  return { runIds: runIds, gateKeys: gateKeys }
}
`

const cinemaSetup = `
/** The cinema, its showings' runs and the gates at its code (simulator/journeys/Cinema.ts setUpCinema). */
function createCinema() {
  required(call("create-cinema", "venues.createCinema", { body: plan.cinema.create, headers: asAdmin() }), "cinema " + plan.cinema.code)
  const runIds = plan.cinema.showings.map((showing) =>
    String(required(call("create-showing", "venues.createShowing", { body: showing.create, headers: asAdmin(), needs: ["runId"] }), "showing " + showing.create.showingCode).runId))
  return { runIds: runIds, gateKeys: registerGates(plan.cinema.code) }
}
`

const kiosksSetup = (agents: boolean) => `
/** The bank's normal latency, the kiosks of the stations (their device keys by station)${agents ? " and the call centre's agents" : ""} (simulator/journeys/Kiosk.ts). */
function setUpKiosks() {
  required(call("bank-conditions", "paymentsAdmin.setBankConditions", { body: plan.kiosks.bankBaseline, headers: asAdmin() }), "the bank's conditions")
  /** @type {Record<string, Array<string>>} */
  const keys = {}
  for (const station of plan.kiosks.stations) {
    keys[station] = []
    for (let number = 1; number <= plan.kiosks.perStation; number++) {
      const kioskId = station + "-K" + String(number).padStart(2, "0")
      const kiosk = required(call("register-kiosk", "paymentsAdmin.registerKiosk", { body: { kioskId: kioskId, station: station }, headers: asAdmin(), needs: ["deviceKey"] }), "kiosk " + kioskId)
      keys[station].push(String(kiosk.deviceKey))
    }
  }${agents ? `
  for (const agent of plan.kiosks.remoteCard.agents) {
    required(call("put-agent", "agentsAdmin.putAgent", { path: { agentId: agent.agentId }, body: { password: agent.password }, headers: asAdmin() }), "agent " + agent.agentId)
  }` : ""}
  return { keys: keys }
}
`

const fanSetup = `
/**
 * The event, the venue's gates, the fans whose ticket goes to their SIM (their carriers registered first, so delivery
 * writes it there), and the organiser's group orders for the fans the fan scenario will play, its share of the
 * passengers (simulator/journeys/Fan.ts prepareFanJourney buys for them all). The fans' order IDs travel to the VUs
 * as one string of fixed-width IDs, the fan scenario's iteration i reading the i-th.
 */
function buyForFans() {
  const event = required(call("create-event", "venues.createEvent", { body: plan.fan.event, headers: asAdmin(), needs: ["runId"] }), "event " + plan.fan.event.eventCode)
  const gateKeys = registerGates(plan.fan.venue)
  const carrierKeys = registerFanCarriers()
  const organiser = plan.fan.organiser
  required(call("register", "customers.register", { body: organiser, handles: ["PhoneAlreadyRegistered"] }), "the organiser's registration")
  const token = String(required(call("login", "customers.login", { body: { phone: organiser.phone, password: organiser.password }, needs: ["token"] }), "the organiser's login").token)
  const auth = bearer(token)
  const events = required(call("search", "venues.listEvents", { query: { date: plan.fan.event.serviceDate, venue: plan.fan.venue } }), "the event's offer")
  const offer = (/** @type {Array<{ runId: string, classes: Array<{ seatClass: string, priceFen: number }> }>} */ (events)).find((candidate) => candidate.runId === event.runId)
  const fare = offer === undefined ? undefined : offer.classes.find((offered) => offered.seatClass === plan.fan.seatClass)
  if (fare === undefined) throw new Error("setup: event " + event.runId + " offers no class " + plan.fan.seatClass)
  let orderIds = ""
  let topUps = 0
  for (let first = 0, group = 0; first < plan.fan.count; first += plan.fan.groupOrderSize, group++) {
    /** @type {Array<string>} */
    const holders = []
    for (let fan = first; fan < Math.min(first + plan.fan.groupOrderSize, plan.fan.count); fan++) holders.push(phoneOf(fanIndexOf(fan)))
    for (let neededFen = fare.priceFen * holders.length; neededFen > 0; neededFen -= plan.maxTopUpFen) {
      const key = "organiser-topup-" + String(++topUps).padStart(6, "0")
      required(call("top-up", "accounts.topUp", { body: { amountFen: Math.min(neededFen, plan.maxTopUpFen) }, headers: withIdempotencyKey(auth, key), needs: ["transferId"] }), "the organiser's top-up " + key)
    }
    const bought = required(call("group-order", "groupOrders.buy", {
      body: { runId: event.runId, seatClass: plan.fan.seatClass, holders: holders, paymentPassword: organiser.paymentPassword },
      headers: withIdempotencyKey(auth, "group-order-" + String(group).padStart(6, "0")), needs: ["tickets"]
    }), "group order " + group)
    for (const ticket of /** @type {Array<{ orderId: string }>} */ (bought.tickets)) {
      if (ticket.orderId.length !== plan.fan.orderIdChars) throw new Error("setup: order ID " + ticket.orderId + " is not " + plan.fan.orderIdChars + " characters")
      orderIds += ticket.orderId
    }
  }
  return { runId: String(event.runId), gateKeys: gateKeys, organiserToken: token, orderIds: orderIds, carrierKeys: carrierKeys }
}

/** The fans whose ticket goes to their SIM register in the app and register the carrier: its device key by fan. */
function registerFanCarriers() {
  /** @type {Record<string, string>} */
  const keys = {}
  for (let fan = 0; fan < plan.fan.count; fan++) {
    const index = fanIndexOf(fan)
    if (!isCarrierFan(index)) continue
    const phone = phoneOf(index)
    const password = "pw-" + phone
    call("register", "customers.register", { body: { phone: phone, password: password, paymentPassword: plan.fan.fanPaymentPassword, residentId: residentIdOf(index) }, handles: ["PhoneAlreadyRegistered"] })
    const session = required(call("login", "customers.login", { body: { phone: phone, password: password }, needs: ["token"] }), "fan " + index + "'s login")
    const carrier = required(call("register-carrier", "delivery.registerCarrier", { body: { capacityBytes: plan.fan.carrierCapacityBytes }, headers: bearer(String(session.token)), needs: ["deviceKey"] }), "fan " + index + "'s carrier")
    keys[String(index)] = String(carrier.deviceKey)
  }
  return keys
}
`

/** setup() itself and the helpers the scenario's parts need. */
export const k6SetupSource = (parts: SetupParts) => {
  const steps = [
    ...(parts.trains ? ["  const trains = createTrains()"] : []),
    ...(parts.cinema ? ["  const cinemaCatalog = createCinema()"] : []),
    ...(parts.gatewayBaseline ? [`  required(call("gateway-conditions", "paymentsAdmin.setGatewayConditions", { body: plan.gatewayBaseline, headers: asAdmin() }), "the gateway's conditions")`] : []),
    ...(parts.kiosks ? ["  const kiosks = setUpKiosks()"] : []),
    ...(parts.sms ? [`  const smsGateway = { deviceKey: String(required(call("register-sms-gateway", "sms.registerGateway", { body: { gatewayId: plan.sms.gatewayId }, headers: asAdmin(), needs: ["deviceKey"] }), "the SMS gateway").deviceKey) }`] : []),
    ...(parts.fan ? ["  const fans = buyForFans()"] : [])
  ]
  const data = [
    "clock: clock",
    ...(parts.trains ? ["runIds: trains.runIds", "gateKeys: trains.gateKeys"] : []),
    ...(parts.cinema ? ["cinema: cinemaCatalog"] : []),
    ...(parts.kiosks ? ["kiosks: kiosks"] : []),
    ...(parts.sms ? ["sms: smsGateway"] : []),
    ...(parts.fan ? ["fan: fans"] : [])
  ]
  return `${setupHelpers}${parts.trains ? trainsSetup : ""}${parts.cinema ? cinemaSetup : ""}${parts.kiosks ? kiosksSetup(parts.agents) : ""}${parts.fan ? fanSetup : ""}
/**
 * Before the load: the catalog as chunyun run sets it up, then the server's clock. What it answers every VU gets.
 * A store that has the catalog already stops the test (the runs and gates would be a second time).
 */
export function setup() {
  if (adminKey === "") throw new Error("setup: set CHUNYUN_ADMIN_KEY to the server's admin key (serve with the same CHUNYUN_ADMIN_KEY, or read the key file it names)")
  required(call("register", "customers.register", { body: plan.clockProbe, handles: ["PhoneAlreadyRegistered"] }), "the clock probe's registration")
  const firstReading = readServerClock()
${steps.join("\n")}
  const clock = awaitOnSale(firstReading)
  return { ${data.join(", ")} }
}
/** @typedef {ReturnType<typeof setup>} SetupData */
`
}
