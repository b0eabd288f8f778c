/**
 * The app purchase's steps in an exported k6 script (devices/Phone.ts): the trip drawn, search, register, log in,
 * hold (any seat, or one chosen on the seat map), top up and pay from the wallet or through the gateway
 * (devices/GatewayPayment.ts), await the ticket, show it at a gate of the boarding station. JavaScript text; see
 * runtime.ts for the helpers it calls.
 */

/** A customer's steps: register, log in, hold, pay from the wallet, await the ticket (devices/Phone.ts). */
export const k6CustomerSteps = `
// ---- a customer's steps (devices/Phone.ts) ----

/** the refusals of a hold a journey handles: it gives up, as the harness's phone does */
const holdRefusals = ["SoldOut", "SeatTaken", "SalesClosed", "HoldQueueFull", "HoldContended"]

/** @param {Passenger} passenger registers: "" to go on and log in (a phone registered already does too), else why it gives up */
function registerCustomer(passenger) {
  const registered = call("register", "customers.register", {
    body: { phone: passenger.phone, password: passenger.password, paymentPassword: passenger.paymentPassword, residentId: passenger.residentId },
    handles: ["PhoneAlreadyRegistered"]
  })
  return registered.ok || registered.tag === "PhoneAlreadyRegistered" ? "" : registered.tag
}

/** @param {Passenger} passenger the session token, or "" when the login was refused */
function logIn(passenger) {
  const session = call("login", "customers.login", { body: { phone: passenger.phone, password: passenger.password }, needs: ["token"] })
  return session.ok ? String(session.body.token) : ""
}

/** @param {string} name @param {Record<string, unknown>} body @param {Record<string, string>} headers a hold, counted when it holds */
function holdSeat(name, body, headers) {
  const held = call(name, "orders.hold", { body: body, headers: headers, handles: holdRefusals, needs: ["orderId", "priceFen"] })
  if (held.ok) seatHeld(held.durationMs)
  return held
}

/**
 * Top up the fare and pay from the wallet, both under idempotency keys (the harness's: topup-/pay-<index>[-<purchase>]).
 * @param {Passenger} passenger @param {{ orderId: string, priceFen: number }} order @param {Record<string, string>} auth @param {number} purchase -1 for a phone's one purchase
 */
function payFromWallet(passenger, order, auth, purchase) {
  const suffix = purchase < 0 ? "" : "-" + purchase
  const topUp = call("top-up", "accounts.topUp", {
    body: { amountFen: order.priceFen }, headers: withIdempotencyKey(auth, "topup-" + key8(passenger.index) + suffix), needs: ["transferId"]
  })
  if (!topUp.ok) return { paid: false, reason: topUp.tag, startMs: 0, issued: false, ticket: null }
  const startMs = Date.now()
  const payment = call("pay", "accounts.pay", {
    path: { orderId: order.orderId }, body: { paymentPassword: passenger.paymentPassword },
    headers: withIdempotencyKey(auth, "pay-" + key8(passenger.index) + suffix), needs: ["orderId"]
  })
  if (!payment.ok) return { paid: false, reason: payment.tag, startMs: startMs, issued: false, ticket: null }
  return { paid: true, reason: "", startMs: startMs, issued: payment.body.ticketId !== null, ticket: payment.body.ticket ?? null }
}

/**
 * The ticket: the one the payment's answer carried (no request), else asked for at once when the answer named it,
 * then after each wait of ticketPollWaitMs (it doubles after each poll that found none, up to
 * maxTicketPollIntervalMs), at most maxTicketPolls times. Null when it never came.
 * @param {string} orderId @param {Record<string, string>} auth @param {boolean} issued
 * @param {{ ticketId: string, qr: string } | null} [inAnswer]
 * @returns {{ ticketId: string, qr: string } | null}
 */
function awaitTicket(orderId, auth, issued, inAnswer) {
  if (inAnswer) return inAnswer
  for (let poll = 0; poll <= plan.maxTicketPolls; poll++) {
    if (poll > 0) sleepScenario(ticketPollWaitMs(poll - 1, plan.ticketPollIntervalMs, plan.maxTicketPollIntervalMs))
    if (!issued && poll === 0) continue
    const ticket = call("get-ticket", "issuance.getTicket", { path: { orderId: orderId }, headers: auth, handles: ["TicketNotIssued"], needs: ["ticketId", "qr"] })
    if (ticket.ok) return ticket.body
    if (ticket.tag !== "TicketNotIssued") return null
  }
  return null
}
`

/** The steps every train journey shares. */
export const k6TrainSteps = `
// ---- a train trip: drawn, priced, searched (simulator/Population.ts, devices/Phone.ts) ----

/** A train (by popularity) and a uniform segment of it (simulator/Population.ts drawTrip). */
function drawTrip() {
  const train = plan.trains.length === 1 ? 0 : weightedIndex(plan.trains.map((candidate) => candidate.popularity), Math.random())
  const stops = plan.trains[train].stops
  const from = Math.floor(Math.random() * (stops.length - 1))
  const to = from + 1 + Math.floor(Math.random() * (stops.length - 1 - from))
  return { train: train, fromStation: stops[from].station, toStation: stops[to].station, departureMinuteOfDay: stops[from].departureMinuteOfDay }
}
/** @typedef {ReturnType<typeof drawTrip>} Trip */

/** @param {Trip} trip when the trip's train leaves its boarding station (epoch ms) */
function departureOf(trip) { return departureEpochMs(plan.trains[trip.train].serviceDate, trip.departureMinuteOfDay, plan.utcOffsetMinutes) }

/** @param {Trip} trip the trip's fare: its segments' fares summed */
function fareOf(trip) {
  const train = plan.trains[trip.train]
  const stations = train.stops.map((stop) => stop.station)
  let fareFen = 0
  for (let segment = stations.indexOf(trip.fromStation); segment < stations.indexOf(trip.toStation); segment++) fareFen += train.fareFenPerSegment[segment]
  return fareFen
}

/**
 * Why the search offers no seat on the trip's train (none free, sales closed), or "" when it offers one.
 * @param {Trip} trip @param {string} runId @param {Record<string, string>} headers
 */
function noOfferAtSearch(trip, runId, headers) {
  const offers = call("search", "catalog.search", {
    query: { from: trip.fromStation, to: trip.toStation, date: plan.trains[trip.train].serviceDate }, headers: headers
  })
  if (!offers.ok) return offers.tag
  const offer = (/** @type {Array<{ runId: string, availableSeats: number, onSale: boolean }>} */ (offers.body)).find((candidate) => candidate.runId === runId)
  if (offer === undefined || offer.availableSeats === 0) return "no seats at search"
  return offer.onSale ? "" : "sales closed at search"
}

`

/** The app journeys' seat map: a share of the passengers choose their seat (devices/Phone.ts holdChosenSeat). */
export const k6ChosenSeatStep = `
/** the window seats of a train row, in every class */
const windowSeatLetters = ["A", "F"]

/**
 * Read the journey's seat map, choose a free window seat (else any), hold it; when another phone took it meanwhile,
 * fallbackShare of the passengers hold any seat of its class and the rest give up with SeatTaken.
 * @param {Trip} trip @param {string} runId @param {Record<string, string>} auth @param {{ fallbackShare: number }} choice @returns {Answer}
 */
function holdChosenSeat(trip, runId, auth, choice) {
  const map = call("seat-map", "catalog.seatMap", {
    path: { runId: runId }, query: { from: trip.fromStation, to: trip.toStation, thumbnail: false }, needs: ["sections", "legend"]
  })
  if (!map.ok) return map
  const free = freeSeatsOnMap(map.body)
  const windows = free.filter((seat) => windowSeatLetters.indexOf(seat.seatCode.slice(-1)) >= 0)
  const choices = windows.length > 0 ? windows : free
  if (choices.length === 0) return refusal("NoSeatOnMap")
  const seat = pick(choices)
  thinkTime()
  const journey = { runId: runId, fromStation: trip.fromStation, toStation: trip.toStation }
  const held = holdSeat("hold-seat", Object.assign({ seat: seat }, journey), auth)
  if (held.ok || held.tag !== "SeatTaken") return held
  const coach = plan.trains[trip.train].coaches.find((candidate) => candidate.coach === seat.coach)
  if (coach === undefined || Math.random() >= choice.fallbackShare) return held
  return holdSeat("hold", Object.assign({ seatClass: coach.seatClass }, journey), auth)
}
`

/** Paying through the third-party gateway (devices/GatewayPayment.ts): the app-gateway and cinema journeys. */
export const k6GatewaySteps = `
// ---- paying through the gateway (devices/GatewayPayment.ts) ----

/**
 * Open a gateway charge, then ask after it every statusPollIntervalMs; a declined charge is tried again under a new
 * key, at most maxPaymentAttempts times; a payment that neither captures nor fails in time is given up and the order
 * cancelled (its seat goes back on sale). The callbacks that settle a charge are the server's simulated gateway's,
 * signed there: the phone signs nothing.
 * @param {string} orderId @param {string} keyPrefix @param {Record<string, string>} auth @param {ReadonlyArray<string>} handles
 */
function payByGateway(orderId, keyPrefix, auth, handles) {
  const limits = plan.gatewayPayment
  for (let attempt = 1; attempt <= limits.maxPaymentAttempts; attempt++) {
    const startMs = Date.now()
    const charge = call("gateway-pay", "gateway.payByGateway", {
      path: { orderId: orderId }, headers: withIdempotencyKey(auth, keyPrefix + "-" + attempt), handles: handles, needs: ["chargeId"]
    })
    if (!charge.ok) return { captured: false, reason: charge.tag, startMs: startMs }
    const outcome = awaitCharge(orderId, auth)
    if (outcome === "captured") return { captured: true, reason: "", startMs: startMs }
    if (outcome === "failed") continue
    if (outcome !== "refunded" && outcome !== "no-answer") return { captured: false, reason: outcome, startMs: startMs }
    cancelOrder(orderId, keyPrefix, auth, outcome)
    return { captured: false, reason: "GatewayGaveUp:" + outcome, startMs: startMs }
  }
  cancelOrder(orderId, keyPrefix, auth, "declined")
  return { captured: false, reason: "GatewayGaveUp:declined", startMs: 0 }
}

/** @param {string} orderId @param {Record<string, string>} auth the charge settled ("captured", "failed", "refunded"), "no-answer", or the refusal's tag */
function awaitCharge(orderId, auth) {
  for (let poll = 1; poll <= plan.gatewayPayment.maxStatusPolls; poll++) {
    sleepScenario(plan.gatewayPayment.statusPollIntervalMs)
    const status = call("gateway-status", "gateway.gatewayPaymentStatus", { path: { orderId: orderId }, headers: auth, needs: ["chargeState", "orderState"] })
    if (!status.ok) return status.tag
    const charge = status.body.chargeState
    const order = status.body.orderState
    if (charge === "captured" || order === "paid" || order === "issued") return "captured"
    if (charge === "failed") return "failed"
    if (charge === "refunding" || charge === "refunded") return "refunded"
  }
  return "no-answer"
}

/** @param {string} orderId @param {string} keyPrefix @param {Record<string, string>} auth @param {string} reason gives the seat back */
function cancelOrder(orderId, keyPrefix, auth, reason) {
  call("cancel", "lifecycle.cancel", {
    path: { orderId: orderId }, body: { reason: "gateway payment: " + reason }, headers: withIdempotencyKey(auth, keyPrefix + "-cancel"),
    handles: ["OrderNotCancellable"], needs: ["state"]
  })
}
`

/** The gates of a train's boarding station. */
export const k6StationGateStep = `
/**
 * At the boarding station's gate before the train leaves: the passenger arrives arriveBeforeDepartureMs early (on
 * the server's clock, which setup() read) and a gate of the station admits the ticket. The harness's gate camera
 * reads the phone's QR pixels (jsQR) and a gate that lost its link verifies the ticket's Ed25519 signature itself;
 * k6 has no Ed25519 verification, so this gate sends the QR text to the server's check-in endpoint, which verifies
 * the signature, the binding to the holder's phone, the station and the check-in window.
 * @param {SetupData} data @param {Trip} trip @param {string} holder @param {string} qr @param {string} name
 */
function boardAtGate(data, trip, holder, qr, name) {
  sleepUntil(data.clock, departureOf(trip) - uniform(plan.arriveBeforeDepartureMs))
  const gates = data.gateKeys[trip.fromStation] || []
  if (gates.length === 0) return giveUp("NoGateAtStation")
  const scanned = call(name, "checkin.scan", { body: { qr: qr, presentedHolder: holder }, headers: deviceKey(pick(gates)), needs: ["ticketId"] })
  if (scanned.ok) admitted(scanned.durationMs)
  else giveUp(scanned.tag)
  return scanned.ok
}
`

/** `app` and `app-gateway`: the phone's purchase, then the gate (simulator/journeys/App.ts phoneJourney). */
export const k6AppJourneys = (options: { readonly app: boolean; readonly appGateway: boolean }) => `
// ---- app and app-gateway: buy in the app, then show the ticket at the gate (devices/Phone.ts) ----

/**
 * @param {SetupData} data @param {string} kind @param {boolean} byGateway
 */
function trainAppJourney(data, kind, byGateway) {
  const passenger = passengerOf(kind)
  const trip = drawTrip()
  const runId = data.runIds[trip.train]
  const noOffer = noOfferAtSearch(trip, runId, {})
  if (noOffer !== "") return giveUp(noOffer)
  thinkTime()
  const refused = registerCustomer(passenger)
  if (refused !== "") return giveUp(refused)
  thinkTime()
  const token = logIn(passenger)
  if (token === "") return giveUp("login refused")
  const auth = bearer(token)
  const choice = plan.seatChoice
  const held = choice !== null && Math.random() < choice.share
    ? holdChosenSeat(trip, runId, auth, choice)
    : holdSeat("hold", { runId: runId, fromStation: trip.fromStation, toStation: trip.toStation }, auth)
  if (!held.ok) return giveUp(held.tag)
  thinkTime()
  const payment = byGateway ? gatewayPaid(held.body.orderId, passenger, auth) : payFromWallet(passenger, held.body, auth, -1)
  if (!payment.paid) return giveUp(payment.reason)
  const ticket = awaitTicket(held.body.orderId, auth, payment.issued, payment.ticket)
  if (ticket === null) return giveUp("TicketNeverArrived")
  ticketReceived(payment.startMs)
  boardAtGate(data, trip, passenger.phone, ticket.qr, "scan")
}

/** @param {string} orderId @param {Passenger} passenger @param {Record<string, string>} auth */
function gatewayPaid(orderId, passenger, auth) {
  const outcome = payByGateway(orderId, "gw-" + key8(passenger.index), auth, [])
  return { paid: outcome.captured, reason: outcome.reason, startMs: outcome.startMs, issued: true, ticket: null }
}
${options.app ? `
/** app: the wallet (or the gateway, when the scenario's server.payment says so) @param {SetupData} data */
export function app(data) { trainAppJourney(data, "app", plan.appPaysByGateway) }
` : ""}${options.appGateway ? `
/** app-gateway: the app journey paying through the third-party gateway @param {SetupData} data */
export function appGateway(data) { trainAppJourney(data, "app-gateway", true) }
` : ""}`
