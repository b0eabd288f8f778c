/**
 * The kiosk journeys in an exported k6 script, as JavaScript text (simulator/journeys/Kiosk.ts, devices/Kiosk.ts,
 * devices/CardReader.ts): `kiosk` (walk-up card + PIN sale, ticket and receipt printed), `app-pickup` (bought in the
 * app, printed at a kiosk before the train leaves) and `remote-card` (booked in the app or through the call centre,
 * paid by swiping the booked card at a kiosk).
 *
 * The card reader's PIN block is computed in the script (ISO 9564 format 0, pinBlockOf); the PAN goes to the server
 * only where the harness sends it (the card's issue at the simulated bank, a remote booking and its payment).
 */

export const k6KioskSteps = `
// ---- at a kiosk (devices/Kiosk.ts, devices/CardReader.ts) ----

/** @param {SetupData} data @param {string} station a kiosk of the station's, as its device-key header; null when it has none */
function kioskAt(data, station) {
  const keys = data.kiosks.keys[station] || []
  return keys.length === 0 ? null : deviceKey(pick(keys))
}

/**
 * The passenger's bank card, issued at the simulated bank when first needed (poorCardRate of them cannot pay), and
 * how the passenger presents it. @param {number} index @param {number} account @returns {{ pan: string, pin: string, token: string, mode: string }}
 */
function bankCardOf(index, account) {
  const secrets = cardSecretsOf(index)
  const pan = account === index ? secrets.pan : panOf(cardBins[(index + 1) % cardBins.length], account)
  const poor = account === index && plan.kiosks.cards.poorCardRate > 0 && Math.random() < plan.kiosks.cards.poorCardRate
  const issued = call("issue-card", "paymentsAdmin.issueBankCard", {
    body: { pan: pan, pin: secrets.pin, balanceFen: poor ? 100 : plan.kiosks.cards.balanceFen }, headers: asAdmin(), needs: ["cardToken"]
  })
  const mode = plan.kiosks.readModes[weightedIndex(plan.kiosks.readModes.map((entry) => entry.weight), Math.random())].mode
  return { pan: pan, pin: secrets.pin, token: issued.ok ? String(issued.body.cardToken) : "", mode: mode }
}

/** @param {string} preferred the mode the card was read in, after bad reads and a chip's fallback to the stripe; "" when unreadable */
function readCard(preferred) {
  for (const mode of preferred === "chip" ? ["chip", "magstripe"] : [preferred]) {
    for (let attempt = 1; attempt <= plan.kiosks.maxReadAttempts; attempt++) {
      sleepScenario((/** @type {Record<string, number>} */ (plan.kiosks.readTimeMsByMode))[mode] || 0)
      if (!(plan.kiosks.cards.readFailureRate > 0 && Math.random() < plan.kiosks.cards.readFailureRate)) return mode
    }
  }
  return ""
}

/**
 * Card + PIN: keyed on the pad (mistypedPinRate of entries one digit off), sent as a format-0 PIN block, asked
 * again after a wrong PIN (maxPinAttempts in all) or an issuer that could not decide (after issuerRetryAfterMs,
 * maxIssuerRetries times). @param {string} pin @param {string} pan @param {(pinBlock: string, attempt: number) => Answer} send @returns {Answer}
 */
function payWithPin(pin, pan, send) {
  let pinAttempts = 0
  let issuerRetries = 0
  for (let attempt = 1; ; attempt++) {
    const slipped = plan.kiosks.cards.mistypedPinRate > 0 && Math.random() < plan.kiosks.cards.mistypedPinRate
    const keyed = slipped ? pin.slice(0, -1) + String((Number(pin.slice(-1)) + 1) % 10) : pin
    sleepScenario(plan.kiosks.pinEntryMs)
    pinAttempts++
    const paid = send(pinBlockOf(keyed, pan), attempt)
    if (paid.ok || paid.tag !== "CardDeclined") return paid
    const reason = String(paid.body.reason)
    if (reason === "wrong-pin" && pinAttempts < plan.kiosks.cards.maxPinAttempts) continue
    if (reason === "issuer-unavailable" && issuerRetries < plan.kiosks.bank.maxIssuerRetries) {
      issuerRetries++
      sleepScenario(plan.kiosks.bank.issuerRetryAfterMs)
      continue
    }
    return refusal("declined: " + reason)
  }
}

/**
 * Print the jobs wanted: fetch the kiosk's queue, print each wanted job's two sheets (ticket, receipt) and acknowledge
 * it, at most maxPrintRoundsPerSession rounds. Jobs another VU's passenger waits for at the same kiosk are left to
 * that VU (the harness's kiosk serves one passenger at a time and prints whatever is pending).
 * @param {Record<string, string>} kiosk @param {ReadonlyArray<string>} wanted
 */
function printUntilOut(kiosk, wanted) {
  /** @type {Record<string, boolean>} */
  const printed = {}
  for (let round = 0; round < plan.kiosks.maxPrintRoundsPerSession; round++) {
    const queue = call("print-jobs", "kiosk.printJobs", { headers: kiosk })
    if (!queue.ok) return false
    for (const job of /** @type {Array<{ jobId: string }>} */ (queue.body)) {
      if (wanted.indexOf(job.jobId) < 0 || printed[job.jobId]) continue
      sleepScenario(2 * plan.kiosks.printMs)
      const acknowledged = call("print-ack", "kiosk.printed", { path: { jobId: job.jobId }, headers: kiosk, needs: ["state"] })
      if (acknowledged.ok) printed[job.jobId] = true
    }
    if (wanted.every((jobId) => printed[jobId])) return true
  }
  return false
}
`

export const k6WalkUpJourney = `
// ---- kiosk: a walk-up card + PIN sale (simulator/journeys/Kiosk.ts, devices/Kiosk.ts walkUpSale) ----

/** @param {SetupData} data */
export function kiosk(data) {
  const passenger = passengerOf("kiosk")
  const trip = drawTrip()
  if (scenarioNowMs(data.clock) >= departureOf(trip)) return giveUp("train already left")
  const kioskKey = kioskAt(data, trip.fromStation)
  if (kioskKey === null) return giveUp("no kiosk at station")
  const card = bankCardOf(passenger.index, passenger.index)
  if (card.token === "") return giveUp("card not issued")
  const givesPhone = Math.random() < plan.kiosks.walkUpPhoneShare
  const runId = data.runIds[trip.train]
  const noOffer = noOfferAtSearch(trip, runId, kioskKey)
  if (noOffer !== "") return giveUp(noOffer)
  thinkTime()
  const held = call("hold", "kiosk.holdWalkUp", {
    body: Object.assign({ runId: runId, fromStation: trip.fromStation, toStation: trip.toStation }, givesPhone ? { passengerPhone: passenger.phone } : {}),
    headers: kioskKey, handles: holdRefusals, needs: ["orderId"]
  })
  if (!held.ok) return giveUp(held.tag)
  seatHeld(held.durationMs)
  if (readCard(card.mode) === "") return giveUp("CardUnreadable")
  const startMs = Date.now()
  const paid = payWithPin(card.pin, card.pan, (pinBlock, attempt) => call("pay", "kiosk.payByCard", {
    path: { orderId: held.body.orderId }, body: { cardToken: card.token, pinBlock: pinBlock },
    headers: withIdempotencyKey(kioskKey, "kiosk-pay-" + passenger.index + "-" + attempt), handles: ["CardDeclined"], needs: ["printJobId"]
  }))
  if (!paid.ok) return giveUp(paid.tag)
  if (!printUntilOut(kioskKey, [paid.body.printJobId])) return giveUp("print-failed")
  ticketReceived(startMs)
}
`

export const k6AppPickupJourney = `
// ---- app-pickup: bought in the app, printed at a kiosk before the train leaves (simulator/journeys/Kiosk.ts) ----

/** @param {SetupData} data */
export function appPickup(data) {
  const passenger = passengerOf("app-pickup")
  const trip = drawTrip()
  const refused = registerCustomer(passenger)
  if (refused !== "") return giveUp(refused)
  thinkTime()
  const token = logIn(passenger)
  if (token === "") return giveUp("login refused")
  const auth = bearer(token)
  const held = holdSeat("hold", { runId: data.runIds[trip.train], fromStation: trip.fromStation, toStation: trip.toStation }, auth)
  if (!held.ok) return giveUp(held.tag)
  const payment = payFromWallet(passenger, held.body, auth, -1)
  if (!payment.paid) return giveUp(payment.reason)
  // asks for the ticket at once, whatever the payment's answer said
  const ticket = awaitTicket(held.body.orderId, auth, true)
  if (ticket === null) return giveUp("TicketNeverArrived")
  ticketReceived(payment.startMs)
  const voucher = Math.random() < plan.kiosks.pickupByVoucherShare
    ? call("get-voucher", "delivery.getVoucher", { path: { orderId: held.body.orderId }, headers: auth, needs: ["display"] }) : null
  if (voucher !== null && !voucher.ok) return giveUp(voucher.tag)
  sleepUntil(data.clock, departureOf(trip) - uniform(plan.kiosks.pickupBeforeDepartureMs))
  if (scenarioNowMs(data.clock) >= departureOf(trip)) return giveUp("train already left")
  const kioskKey = kioskAt(data, trip.fromStation)
  if (kioskKey === null) return giveUp("no kiosk at station")
  const pickup = call("pickup", "kiosk.pickup", {
    body: voucher !== null ? { voucherCode: voucher.body.display } : { phone: passenger.phone, residentId: passenger.residentId },
    headers: kioskKey
  })
  if (!pickup.ok) return giveUp(pickup.tag)
  if (!printUntilOut(kioskKey, (/** @type {Array<{ jobId: string }>} */ (pickup.body)).map((job) => job.jobId))) giveUp("print-failed")
}
`

export const k6RemoteCardJourney = `
// ---- remote-card: booked with the paying card, paid by swiping it at a kiosk (simulator/journeys/Kiosk.ts) ----

/** this VU's call-centre agents' sessions, by agent: an agent signs in once and again when the session has ended */
/** @type {Record<string, string>} */
const agentSessions = {}

/**
 * The booking, by a call to the call centre (callCentreShare: an agent books for the caller) or in the app; the order
 * ID, or "" when refused. @param {SetupData} data @param {Passenger} passenger @param {Trip} trip @param {string} pan
 */
function bookRemotely(data, passenger, trip, pan) {
  const booking = { runId: data.runIds[trip.train], fromStation: trip.fromStation, toStation: trip.toStation, passengerName: "Passenger " + passenger.index, cardNumber: pan }
  if (Math.random() < plan.kiosks.remoteCard.callCentreShare) {
    const agent = plan.kiosks.remoteCard.agents[passenger.index % plan.kiosks.remoteCard.agents.length]
    sleepScenario(uniform(plan.kiosks.remoteCard.callMs))
    for (let signIn = 0; signIn < 2; signIn++) {
      if (!agentSessions[agent.agentId] || signIn > 0) {
        const session = call("agent-login", "remoteBookings.agentLogin", { body: agent, needs: ["token"] })
        if (!session.ok) return ""
        agentSessions[agent.agentId] = String(session.body.token)
      }
      const booked = call("book-for-caller", "remoteBookings.bookForCaller", {
        body: Object.assign({ callerPhone: passenger.phone }, booking), headers: { "x-agent-session": agentSessions[agent.agentId] },
        handles: ["Unauthorized"].concat(holdRefusals), needs: ["orderId"]
      })
      if (booked.ok) { seatHeld(booked.durationMs); return String(booked.body.orderId) }
      if (booked.tag !== "Unauthorized") return ""
    }
    return ""
  }
  if (registerCustomer(passenger) !== "") return ""
  thinkTime()
  const token = logIn(passenger)
  if (token === "") return ""
  const booked = call("book-remote", "remoteBookings.bookRemoteCard", { body: booking, headers: bearer(token), handles: holdRefusals, needs: ["orderId"] })
  if (booked.ok) seatHeld(booked.durationMs)
  return booked.ok ? String(booked.body.orderId) : ""
}

/** @param {SetupData} data */
export function remoteCard(data) {
  const passenger = passengerOf("remote-card")
  const trip = drawTrip()
  const departureMs = departureOf(trip)
  if (scenarioNowMs(data.clock) >= departureMs) return giveUp("train already left")
  const card = bankCardOf(passenger.index, passenger.index)
  if (card.token === "") return giveUp("card not issued")
  const orderId = bookRemotely(data, passenger, trip, card.pan)
  if (orderId === "") return giveUp("booking refused")
  if (Math.random() < plan.kiosks.remoteCard.noShowRate) return
  const latestMs = departureMs - plan.kiosks.remoteCard.latestKioskVisitBeforeDepartureMs - scenarioNowMs(data.clock)
  sleepScenario(Math.max(0, Math.min(uniform(plan.kiosks.remoteCard.kioskAfterBookingMs), latestMs)))
  if (scenarioNowMs(data.clock) >= departureMs) return giveUp("train already left")
  const kioskKey = kioskAt(data, trip.fromStation)
  if (kioskKey === null) return giveUp("no kiosk at station")
  const booking = call("remote-booking", "kiosk.getRemoteBooking", { path: { orderId: orderId }, headers: kioskKey, needs: ["state"] })
  if (!booking.ok || booking.body.state !== "held") return giveUp(booking.ok ? "booking " + booking.body.state : booking.tag)
  if (Math.random() < plan.kiosks.remoteCard.wrongCardRate && !swipeWrongCardFirst(passenger, orderId, kioskKey, card.pin)) return
  if (readCard(card.mode) === "") return giveUp("CardUnreadable")
  const startMs = Date.now()
  const paid = payWithPin(card.pin, card.pan, (pinBlock, attempt) => call("pay-remote", "kiosk.payRemoteBooking", {
    path: { orderId: orderId }, body: { cardToken: card.token, cardNumber: card.pan, pinBlock: pinBlock },
    headers: withIdempotencyKey(kioskKey, "kiosk-remote-" + passenger.index + "-" + attempt), handles: ["CardDeclined"], needs: ["printJobId"]
  }))
  if (!paid.ok) return giveUp(paid.tag)
  if (!printUntilOut(kioskKey, [paid.body.printJobId])) return giveUp("print-failed")
  ticketReceived(startMs)
}

/**
 * Another of the booker's cards swiped first: the server refuses it (CardNotBooked) before the bank is asked, and
 * nothing is charged. False when the journey ends here (that card paid, or another refusal).
 * @param {Passenger} passenger @param {string} orderId @param {Record<string, string>} kioskKey @param {string} pin
 */
function swipeWrongCardFirst(passenger, orderId, kioskKey, pin) {
  const other = bankCardOf(passenger.index, passenger.index + plan.kiosks.remoteCard.otherCardAccountOffset)
  if (other.token === "" || readCard(other.mode) === "") return true
  const refused = call("pay-remote", "kiosk.payRemoteBooking", {
    path: { orderId: orderId }, body: { cardToken: other.token, cardNumber: other.pan, pinBlock: pinBlockOf(pin, other.pan) },
    headers: withIdempotencyKey(kioskKey, "kiosk-remote-other-" + passenger.index + "-1"), handles: ["CardNotBooked"], needs: ["printJobId"]
  })
  if (refused.ok) giveUp("paid by a card not booked")
  else if (refused.tag !== "CardNotBooked") giveUp(refused.tag)
  return refused.tag === "CardNotBooked"
}
`
