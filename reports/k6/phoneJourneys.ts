/**
 * The `sms` and `carrier` journeys in an exported k6 script, as JavaScript text: a phone without the app booking by
 * SMS through the SMS gateway (simulator/journeys/SmsPhone.ts), and an app phone whose SIM carries its tickets buying several
 * trips (simulator/journeys/CarrierPhone.ts).
 */

export const k6SmsJourney = `
// ---- sms: BUY, PAY and STATUS texts through the SMS gateway (simulator/journeys/SmsPhone.ts) ----

/**
 * A text from the phone, relayed by the SMS gateway (its device key; a message ID of its own, delivered again under
 * the same ID while the server is still answering it). The server's reply, as the gateway got it, or "".
 * In the harness the phone reads the reply when the gateway's pull brings it to the inbox; k6's VUs share nothing,
 * so the phone reads it from the relay's answer.
 * @param {SetupData} data @param {string} name @param {string} phone @param {string} text @param {string} messageId
 */
function textServer(data, name, phone, text, messageId) {
  for (let attempt = 1; attempt <= plan.sms.maxDeliveryAttempts; attempt++) {
    const relayed = call(name, "sms.receive", {
      body: { messageId: messageId, from: phone, text: text }, headers: deviceKey(data.sms.deviceKey), handles: ["SmsInboundInProgress"], needs: ["reply"]
    })
    if (relayed.ok) return { reply: String(relayed.body.reply), durationMs: relayed.durationMs }
    if (relayed.tag !== "SmsInboundInProgress") return { reply: "", durationMs: relayed.durationMs }
  }
  return { reply: "", durationMs: 0 }
}

/** @param {string} reply @param {string} journey the order a BUY's reply confirms: its reference, order ID and seat */
function smsOrderOf(reply, journey) {
  const match = /^Chunyun order (\\d{6}): (\\S+ \\S+ \\S+), 1 ticket\\(s\\): (O[0-9a-f]{16}) seat (\\d+-\\w+)\\./.exec(reply)
  return match === null || match[2] !== journey ? null : { ref: match[1], orderId: match[3], seat: match[4] }
}

/** @param {string} reply why a BUY held nothing, as the harness's phone reads it */
function smsRefusalOf(reply) {
  if (reply.indexOf("fewer than") >= 0) return "SoldOut"
  if (reply.indexOf("is no longer sold") >= 0) return "SalesClosed"
  return reply === "" ? "NoSmsAnswer" : "SmsRefused"
}

/** @param {SetupData} data */
export function sms(data) {
  const passenger = passengerOf("sms")
  const trip = drawTrip()
  const train = plan.trains[trip.train]
  // the owner's setup before texting: an account with a payment password and the fare in the wallet
  const refused = registerCustomer(passenger)
  if (refused !== "") return giveUp(refused)
  const token = logIn(passenger)
  if (token === "") return giveUp("login refused")
  const topUp = call("top-up", "accounts.topUp", { body: { amountFen: fareOf(trip) }, headers: withIdempotencyKey(bearer(token), "sms-topup-" + key8(passenger.index)), needs: ["transferId"] })
  if (!topUp.ok) return giveUp(topUp.tag)
  thinkTime()
  const journey = train.trainCode + " " + train.serviceDate + " " + trip.fromStation + "-" + trip.toStation
  let texts = 0
  const messageId = () => plan.sms.gatewayId + "-" + passenger.phone + "-" + (++texts)
  const bought = textServer(data, "sms-buy", passenger.phone, "BUY " + train.trainCode + " " + train.serviceDate.replace(/-/g, "") + " " + trip.fromStation + "-" + trip.toStation, messageId())
  const order = smsOrderOf(bought.reply, journey)
  if (order === null) return giveUp(smsRefusalOf(bought.reply))
  seatHeld(bought.durationMs)
  thinkTime()
  const startMs = Date.now()
  const paid = textServer(data, "sms-pay", passenger.phone, "PAY " + order.ref + " " + passenger.paymentPassword, messageId())
  if (paid.reply.indexOf("Chunyun: order " + order.ref + " is paid") !== 0) return giveUp("PaymentRefused")
  // The ticket notice comes by SMS, which only the gateway's pull sees (a VU of its own): the phone texts STATUS
  // every ticketPollIntervalMs instead, for as long as it would wait for the notice.
  const state = new RegExp(escapeRegExp(order.ref + " " + journey + ": " + order.seat) + " (\\\\w+)")
  for (let poll = 1; poll <= plan.sms.maxStatusTexts; poll++) {
    sleepScenario(plan.ticketPollIntervalMs)
    const status = state.exec(textServer(data, "sms-status", passenger.phone, "STATUS " + order.ref, messageId()).reply)
    if (status !== null && status[1] === "issued") return ticketReceived(startMs)
    if (status !== null && status[1] !== "paid") break
  }
  giveUp("TicketNeverArrived")
}
`

export const k6CarrierJourney = `
// ---- carrier: an app phone whose SIM carries its tickets buys several trips (simulator/journeys/CarrierPhone.ts) ----

/** @param {SetupData} data */
export function carrier(data) {
  const passenger = passengerOf("carrier")
  const trips = [drawTrip()]
  for (let count = uniform(plan.carrier.tripsPerPhone); trips.length < count;) trips.push(drawTrip())
  const noOffer = noOfferAtSearch(trips[0], data.runIds[trips[0].train], {})
  if (noOffer !== "") return giveUp(noOffer)
  thinkTime()
  const refused = registerCustomer(passenger)
  if (refused !== "") return giveUp(refused)
  const token = logIn(passenger)
  if (token === "") return giveUp("login refused")
  const auth = bearer(token)
  const capacityBytes = uniform(plan.carrier.capacityBytes)
  const registered = call("register-carrier", "delivery.registerCarrier", { body: { capacityBytes: capacityBytes }, headers: auth, needs: ["deviceKey", "carrier.capacitySlots"] })
  if (!registered.ok) return giveUp(registered.tag)
  const sim = simCarrier(registered.body.deviceKey, registered.body.carrier.capacitySlots)
  /** @type {Array<{ trip: Trip, ticketId: string, qr: string }>} */
  const bought = []
  trips.forEach((trip, tripNumber) => {
    const ticket = buyTrip(data, passenger, auth, trip, tripNumber)
    if (ticket === null) return
    sim.sync()
    bought.push({ trip: trip, ticketId: ticket.ticketId, qr: ticket.qr })
    thinkTime()
  })
  // the last ticket's delivery may have placed it after the last purchase's sync
  sim.sync()
  bought.sort((a, b) => departureOf(a.trip) - departureOf(b.trip))
  for (const ticket of bought) {
    // read from the SIM over RFID when it is there (the same signed text), else shown in the app
    const onSim = sim.has(ticket.ticketId)
    if (boardAtGate(data, ticket.trip, passenger.phone, ticket.qr, "scan") && onSim) sim.remove(ticket.ticketId)
  }
}

/**
 * One trip bought in the app as the app journey buys it (any seat, the wallet under keys of the trip's number).
 * @param {SetupData} data @param {Passenger} passenger @param {Record<string, string>} auth @param {Trip} trip @param {number} tripNumber
 */
function buyTrip(data, passenger, auth, trip, tripNumber) {
  const held = holdSeat("hold", { runId: data.runIds[trip.train], fromStation: trip.fromStation, toStation: trip.toStation }, auth)
  if (!held.ok) { giveUp(held.tag); return null }
  thinkTime()
  const payment = payFromWallet(passenger, held.body, auth, tripNumber)
  if (!payment.paid) { giveUp(payment.reason); return null }
  const ticket = awaitTicket(held.body.orderId, auth, payment.issued, payment.ticket)
  if (ticket === null) { giveUp("TicketNeverArrived"); return null }
  ticketReceived(payment.startMs)
  return ticket
}
`
