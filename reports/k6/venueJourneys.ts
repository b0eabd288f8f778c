/**
 * The venues' journeys in an exported k6 script, as JavaScript text: `cinema` (simulator/journeys/CinemaGoer.ts: an anonymous
 * device or a customer, the seat map's hot seats, the gateway, the voucher, the hall's gate) and `fan`
 * (simulator/journeys/Fan.ts: a ticket bought by the organiser in a group order, shown at the stadium's gate, from
 * the SIM carrier over RFID for some; a screenshot passed to a friend for a few).
 */

/** A SIM ticket carrier's writes (devices/SimCarrier.ts): shared by the carrier and fan journeys. */
export const k6SimCarrierSteps = `
// ---- a SIM ticket carrier (devices/SimCarrier.ts) ----

/**
 * A SIM with capacitySlots slots of carrierSlotBytes: it writes the tickets the server offers while it has room and
 * acknowledges them; a ticket leaving it (used at a gate) is reported, and what migrates in from the box is written.
 * @param {string} key the carrier's device key @param {number} capacitySlots
 */
function simCarrier(key, capacitySlots) {
  /** @type {Record<string, boolean>} */
  const stored = {}
  let count = 0
  /** @param {ReadonlyArray<{ ticketId: string, qr: string, written: boolean }>} tickets @param {string} name */
  const writeOffered = (tickets, name) => {
    /** @type {Array<string>} */
    const written = []
    for (const ticket of tickets) {
      if (ticket.written || stored[ticket.ticketId]) continue
      // the ticket's signed bytes: the QR text after its prefix, base64url without padding
      const bytes = Math.floor(((ticket.qr.length - plan.ticketTextPrefix.length) * 3) / 4)
      if (count >= capacitySlots || bytes > plan.carrierTicketSlotBytes) continue
      stored[ticket.ticketId] = true
      count++
      written.push(ticket.ticketId)
    }
    if (written.length > 0) call(name, "delivery.acknowledgeWritten", { body: { ticketIds: written }, headers: deviceKey(key), needs: ["tickets"] })
    return written.length
  }
  return {
    has: (/** @type {string} */ ticketId) => stored[ticketId] === true,
    sync: () => {
      const state = call("carrier-sync", "delivery.carrierTickets", { headers: deviceKey(key), needs: ["tickets"] })
      return state.ok ? writeOffered(state.body.tickets, "carrier-written") : 0
    },
    remove: (/** @type {string} */ ticketId) => {
      if (stored[ticketId]) { delete stored[ticketId]; count-- }
      const state = call("carrier-removed", "delivery.reportRemoved", { body: { ticketIds: [ticketId] }, headers: deviceKey(key), needs: ["tickets"] })
      return state.ok ? writeOffered(state.body.tickets, "carrier-written") : 0
    }
  }
}
`

export const k6CinemaJourney = `
// ---- cinema: a chosen seat, the gateway, the voucher, the hall's gate (simulator/journeys/CinemaGoer.ts) ----

/** @param {SetupData} data */
export function cinema(data) {
  const passenger = passengerOf("cinema")
  const showingIndex = weightedIndex(plan.cinema.showings.map((showing) => showing.popularity), Math.random())
  const showing = plan.cinema.showings[showingIndex]
  const runId = data.cinema.runIds[showingIndex]
  const offers = call("showings", "venues.listShowings", { query: { date: showing.serviceDate, venue: plan.cinema.code } })
  if (!offers.ok) return giveUp(offers.tag)
  const offer = (/** @type {Array<{ runId: string, availableSeats: number, onSale: boolean }>} */ (offers.body)).find((candidate) => candidate.runId === runId)
  if (offer === undefined || offer.availableSeats === 0) return giveUp("no seats at search")
  if (!offer.onSale) return giveUp("sales closed at search")
  thinkTime()
  const signedIn = cinemaSignIn(passenger, Math.random() < plan.cinema.anonymousShare)
  if (signedIn.token === "") return giveUp("sign-in refused")
  const qr = cinemaPurchase(passenger, showing.hall, runId, bearer(signedIn.token))
  if (qr === "") return
  sleepUntil(data.clock, showing.startMs - uniform(plan.cinema.arriveBeforeStartMs))
  // the hall's gate: as a station's (boardAtGate), the server verifies what the real scanner verifies offline
  const scanned = call("scan", "checkin.scan", { body: { qr: qr, presentedHolder: signedIn.holder }, headers: deviceKey(pick(data.cinema.gateKeys)), needs: ["ticketId"] })
  if (scanned.ok) admitted(scanned.durationMs)
  else giveUp(scanned.tag)
}

/**
 * An anonymous phone registers its device ID (with the app's install time for installTimeShare of them); a customer
 * registers and logs in. The session's token and what the phone presents at the gate.
 * @param {Passenger} passenger @param {boolean} anonymous
 */
function cinemaSignIn(passenger, anonymous) {
  if (anonymous) {
    const sendsInstallTime = plan.cinema.installTimeShare > 0 && Math.random() < plan.cinema.installTimeShare
    const deviceId = deviceIdOf(passenger.index, sendsInstallTime ? timeOfDayOf(Math.floor(Math.random() * 86400)) : "")
    const session = call("register-device", "customers.registerDevice", { body: { deviceId: deviceId, paymentPassword: passenger.paymentPassword }, needs: ["token"] })
    return { token: session.ok ? String(session.body.token) : "", holder: deviceId }
  }
  return { token: registerCustomer(passenger) === "" ? logIn(passenger) : "", holder: passenger.phone }
}

/**
 * Hold a seat and pay through the gateway; a hold displaced by a tie (HoldDisplaced when paying) sends the goer back
 * to the map, as SeatTaken does, both within maxSeatAttempts. The ticket's QR text, or "" when the goer gave up.
 * @param {Passenger} passenger @param {number} hall @param {string} runId @param {Record<string, string>} auth
 */
function cinemaPurchase(passenger, hall, runId, auth) {
  const wantsHotSeat = Math.random() < plan.cinema.hotSeatShare
  for (let attempt = 1; attempt <= plan.cinema.maxSeatAttempts; attempt++) {
    const held = holdCinemaSeat(hall, runId, auth, wantsHotSeat)
    if (held === null) return ""
    if (!held.ok) continue
    thinkTime()
    const keyPrefix = "cinema-" + key8(passenger.index) + (attempt === 1 ? "" : "-" + attempt)
    const paid = payByGateway(held.body.orderId, keyPrefix, auth, ["HoldDisplaced"])
    if (paid.reason === "HoldDisplaced") continue
    if (!paid.captured) { giveUp(paid.reason); return "" }
    const ticket = awaitTicket(held.body.orderId, auth, true)
    if (ticket === null) { giveUp("TicketNeverArrived"); return "" }
    ticketReceived(paid.startMs)
    call("voucher", "delivery.getVoucher", { path: { orderId: held.body.orderId }, headers: auth, needs: ["display"] })
    return ticket.qr
  }
  giveUp("MaxSeatAttempts")
  return ""
}

/**
 * Read the hall's map, choose among the hottest seatChoiceWidth free seats (or any free seat), hold it. Null when the
 * map shows no free seat (the goer gives up); a refused hold (SeatTaken) is answered for the caller to try again.
 * @param {number} hall @param {string} runId @param {Record<string, string>} auth @param {boolean} wantsHotSeat @returns {Answer | null}
 */
function holdCinemaSeat(hall, runId, auth, wantsHotSeat) {
  const map = call("seat-map", "catalog.seatMap", { path: { runId: runId }, query: { thumbnail: false }, needs: ["sections", "legend"] })
  if (!map.ok) { giveUp(map.tag); return null }
  const free = freeSeatsByHotness(map.body, hall)
  if (free.length === 0) { giveUp("SoldOut"); return null }
  const seat = pick(wantsHotSeat ? free.slice(0, plan.cinema.seatChoiceWidth) : free)
  thinkTime()
  const held = call("hold-seat", "orders.hold", {
    body: { runId: runId, fromStation: plan.cinema.code, toStation: plan.cinema.code, seat: { coach: hall, seatCode: seat.seatCode } },
    headers: auth, handles: ["SeatTaken"], needs: ["orderId"]
  })
  if (held.ok) seatHeld(held.durationMs)
  else if (held.tag !== "SeatTaken") { giveUp(held.tag); return null }
  return held
}
`

export const k6FanJourney = `
// ---- fan: a group-bought ticket at the stadium's gate (simulator/journeys/Fan.ts) ----

/** @param {number} index whether fan index's ticket is on its SIM: a fixed draw from the index, as setup() drew it */
function isCarrierFan(index) { return ((Math.imul(index + 1, 2654435761) >>> 0) / 4294967296) < plan.fan.carrierShare }

/** @param {number} fan the passenger index of the fan scenario's fan-th iteration (as passengerOf numbers them) */
function fanIndexOf(fan) { return fan * plan.journeyKinds.length + plan.journeyKinds.indexOf("fan") }

/** @param {SetupData} data */
export function fan(data) {
  const fanNumber = exec.scenario.iterationInTest
  const index = fanIndexOf(fanNumber)
  const phone = phoneOf(index)
  if (fanNumber >= plan.fan.count) return giveUp("no ticket")
  // The organiser passes each fan its ticket. The harness hands over the group order's answer in memory; k6's VUs
  // share none, so the fan's phone fetches its ticket under the organiser's session (setup() kept the order IDs).
  const orderId = data.fan.orderIds.substr(fanNumber * plan.fan.orderIdChars, plan.fan.orderIdChars)
  const ticket = call("get-ticket", "issuance.getTicket", { path: { orderId: orderId }, headers: bearer(data.fan.organiserToken), needs: ["ticketId", "qr"] })
  if (!ticket.ok) return giveUp(ticket.tag)
  const carrierKey = data.fan.carrierKeys[String(index)]
  const carrier = carrierKey === undefined ? null : simCarrier(carrierKey, plan.fan.carrierSlots)
  if (carrier !== null) carrier.sync()
  const onCarrier = carrier !== null && carrier.has(ticket.body.ticketId)
  const gateIndex = Math.floor(Math.random() * data.fan.gateKeys.length)
  // the reader: an RFID/NFC exchange with the SIM, or a camera frame of the QR (glare damage is the harness's pixels)
  sleepScenario(onCarrier ? plan.fan.rfidReadMs : plan.fan.cameraReadMs)
  const scanned = call("scan", "checkin.scan", { body: { qr: ticket.body.qr, presentedHolder: phone }, headers: deviceKey(data.fan.gateKeys[gateIndex]), needs: ["ticketId"] })
  if (scanned.ok) admitted(scanned.durationMs)
  else giveUp(scanned.tag)
  if (scanned.ok && carrier !== null && onCarrier) carrier.remove(ticket.body.ticketId)
  if (Math.random() < plan.fan.screenshotShare) friendWithScreenshot(data, phone, ticket.body.qr, gateIndex)
}

/**
 * The friend tries the screenshot at another gate, naming the fan's phone: an online gate refuses it
 * (TicketAlreadyUsed). @param {SetupData} data @param {string} phone @param {string} qr @param {number} fanGateIndex
 */
function friendWithScreenshot(data, phone, qr, fanGateIndex) {
  sleepScenario(uniform(plan.fan.screenshotDelayMs))
  const gates = data.fan.gateKeys
  const gateIndex = gates.length === 1 ? 0 : (fanGateIndex + 1 + Math.floor(Math.random() * (gates.length - 1))) % gates.length
  sleepScenario(plan.fan.cameraReadMs)
  const scanned = call("scan-screenshot", "checkin.scan", {
    body: { qr: qr, presentedHolder: phone }, headers: deviceKey(gates[gateIndex]), handles: ["TicketAlreadyUsed"], needs: ["ticketId"]
  })
  if (scanned.ok) admitted(scanned.durationMs)
}
`
