/**
 * The parts of an exported k6 script every journey uses, as JavaScript text: the pure helpers (the same arithmetic
 * as the harness's TypeScript: resident IDs, card numbers, PIN blocks, device IDs, departures, seat maps), then the
 * k6 runtime (one checked, tagged request; the server's clock; metrics; the passenger a VU plays).
 *
 * The pure helpers import no k6 module, so a test runs them in node against the TypeScript they copy. The text is
 * JavaScript inside TypeScript template strings: it uses no template literals of its own (string concatenation
 * instead), so every `${…}` below is the exporter's.
 */
import { defaultSettings } from "../../reference/Config.js"
import { ticketTextPrefix } from "../../reference/delivery/Issuance/TicketCode.js"

/** Functions of their arguments only; they read neither k6 nor the plan. */
export const k6PureHelpers = `
// ---- pure helpers: the harness's arithmetic, in plain JavaScript ----

/** simulator/Population.ts: the passengers' regions, birth dates from 1946 on a stride through 25,000 days */
const passengerRegions = ["110105", "310115", "440305", "510107", "330106", "420106", "370102", "610113", "210102", "500103"]
const firstBirthMs = Date.UTC(1946, 0, 1)
const birthDaySpan = 25000
const birthDayStride = 7919
const residentIdWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]

/** @param {number} index the phone number of passenger index (simulator/Population.ts phoneNumberOf) */
function phoneOf(index) { return "13" + String(index).padStart(9, "0") }

/** @param {number} index the zero-padded 8-digit index the harness's idempotency keys carry */
function key8(index) { return String(index).padStart(8, "0") }

/** @param {string} first17 the first 17 digits and their ISO 7064 MOD 11-2 check character (GB 11643) */
function withCheckCharacter(first17) {
  let sum = 0
  for (let position = 0; position < 17; position++) sum += Number(first17[position]) * residentIdWeights[position]
  return first17 + "10X98765432"[sum % 11]
}

/** @param {number} index a valid resident ID of passenger index (simulator/Population.ts residentIdOf) */
function residentIdOf(index) {
  const birthMs = firstBirthMs + ((index * birthDayStride) % birthDaySpan) * 86400000
  const yyyymmdd = new Date(birthMs).toISOString().slice(0, 10).replace(/-/g, "")
  return withCheckCharacter(passengerRegions[index % passengerRegions.length] + yyyymmdd + String(index % 1000).padStart(3, "0"))
}

/** @param {string} bin @param {number} account a 16-digit card number with its Luhn check digit (devices/CardReader.ts panOf) */
function panOf(bin, account) {
  const body = bin + String(account % 1000000000).padStart(9, "0")
  let sum = 0
  for (let index = 0; index < body.length; index++) {
    let digit = Number(body[body.length - 1 - index])
    if (index % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2
    sum += digit
  }
  return body + String((10 - (sum % 10)) % 10)
}

/** simulator/journeys/Kiosk.ts: the issuers of the passengers' cards */
const cardBins = ["622202", "621700", "622848", "621661", "622588"]
/** @param {number} index passenger index's card and PIN (simulator/journeys/Kiosk.ts cardSecretsOf) */
function cardSecretsOf(index) {
  return { pan: panOf(cardBins[index % cardBins.length], index), pin: String(100000 + ((index * 7919) % 900000)) }
}

/** @param {string} pin @param {string} pan the ISO 9564 format-0 PIN block: PIN field XOR PAN field (reference/payments/Payments/PinBlock.ts) */
function pinBlockOf(pin, pan) {
  const pinField = ("0" + pin.length.toString(16).toUpperCase() + pin + "FFFFFFFFFFFFFFFF").slice(0, 16)
  const panField = "0000" + pan.slice(-13, -1)
  let block = ""
  for (let index = 0; index < 16; index++) block += (parseInt(pinField[index], 16) ^ parseInt(panField[index], 16)).toString(16)
  return block.toUpperCase()
}

/** CRC-64/XZ's table as [high, low] 32-bit halves: the script needs no BigInt */
const crc64Table = (function () {
  /** @type {Array<[number, number]>} */
  const table = []
  for (let byte = 0; byte < 256; byte++) {
    let high = 0
    let low = byte
    for (let bit = 0; bit < 8; bit++) {
      const carry = low & 1
      low = ((low >>> 1) | ((high & 1) << 31)) >>> 0
      high = high >>> 1
      if (carry === 1) { high = (high ^ 0xc96c5795) >>> 0; low = (low ^ 0xd7870f42) >>> 0 }
    }
    table.push([high, low])
  }
  return table
})()

/** @param {number} value 8 lowercase hex digits of an unsigned 32-bit value */
function hex32(value) { return (value >>> 0).toString(16).padStart(8, "0") }

/** @param {ReadonlyArray<number>} bytes CRC-64/XZ as 16 hex digits (reference/customers/Customers/DeviceId.ts crc64Xz) */
function crc64XzHex(bytes) {
  let high = 0xffffffff
  let low = 0xffffffff
  for (const byte of bytes) {
    const entry = crc64Table[(low ^ byte) & 0xff]
    low = (((low >>> 8) | ((high & 0xff) << 24)) ^ entry[1]) >>> 0
    high = ((high >>> 8) ^ entry[0]) >>> 0
  }
  return hex32(~high) + hex32(~low)
}

/** @param {number} value @param {number} count value's low count bytes, big-endian, zero-padded in front to 8 */
function fieldOfNumber(value, count) {
  const bytes = [0, 0, 0, 0, 0, 0, 0, 0]
  let rest = value
  for (let position = 7; position >= 8 - count; position--) { bytes[position] = rest % 256; rest = Math.floor(rest / 256) }
  return bytes
}

/** @param {string} text ASCII text as an 8-byte field, zero-padded in front */
function fieldOfText(text) {
  const bytes = [0, 0, 0, 0, 0, 0, 0, 0]
  for (let index = 0; index < text.length; index++) bytes[8 - text.length + index] = text.charCodeAt(index)
  return bytes
}

/** simulator/journeys/CinemaGoer.ts: the goers' phones */
const deviceModels = [["P40", "Huawei"], ["Mi 10", "Xiaomi"], ["Reno4", "OPPO"], ["X50", "vivo"], ["iPhone12", "Apple"]]

/**
 * A cinema-goer's anonymous device ID (simulator/journeys/CinemaGoer.ts deviceIdOf): machine number, MAC, model, brand, the
 * install time when the app sends one, then the CRC-64/XZ check code, in hex.
 * @param {number} index @param {string} installTime "HH:MM:SS", or "" for none
 */
function deviceIdOf(index, installTime) {
  const model = deviceModels[index % deviceModels.length]
  const machine = [0x4e, 0x43].concat(fieldOfNumber(index, 6).slice(2))
  const covered = machine.concat(fieldOfNumber(0x3c22fb000000 + index, 6), fieldOfText(model[0]), fieldOfText(model[1]),
    installTime === "" ? [] : fieldOfText(installTime))
  let text = ""
  for (const byte of covered) text += (byte < 16 ? "0" : "") + byte.toString(16)
  return text + crc64XzHex(covered)
}

/** @param {number} secondOfDay "HH:MM:SS" */
function timeOfDayOf(secondOfDay) {
  const two = (/** @type {number} */ value) => String(value).padStart(2, "0")
  return two(Math.floor(secondOfDay / 3600)) + ":" + two(Math.floor(secondOfDay / 60) % 60) + ":" + two(secondOfDay % 60)
}

/** @param {string} serviceDate @param {number} minuteOfDay @param {number} utcOffsetMinutes epoch ms (reference/delivery/Checkin.ts departureEpochMs) */
function departureEpochMs(serviceDate, minuteOfDay, utcOffsetMinutes) {
  return Date.parse(serviceDate + "T00:00:00Z") + (minuteOfDay - utcOffsetMinutes) * 60000
}

/**
 * @param {number} poll @param {number} intervalMs @param {number} maxIntervalMs the wait before poll + 1 for a ticket:
 * intervalMs, doubled after each poll that found none, never more than maxIntervalMs (devices/Phone.ts ticketPollWaitMs)
 */
function ticketPollWaitMs(poll, intervalMs, maxIntervalMs) {
  return Math.max(intervalMs, Math.min(maxIntervalMs, intervalMs * Math.pow(2, Math.min(poll, 30))))
}

/** @param {ReadonlyArray<number>} weights @param {number} uniform a draw in [0, 1): the chosen index (simulator/Population.ts weightedIndex) */
function weightedIndex(weights, uniform) {
  let total = 0
  for (const weight of weights) total += weight
  let remaining = uniform * total
  let last = 0
  for (let index = 0; index < weights.length; index++) {
    remaining -= weights[index]
    if (remaining < 0 && weights[index] > 0) return index
    if (weights[index] > 0) last = index
  }
  return last
}

/**
 * @typedef {{ legend: { free: string, gap: string }, sections: ReadonlyArray<{ section: number, rows: ReadonlyArray<{ cells: string, seatCodes: ReadonlyArray<string> }> }> }} SeatMap
 */

/** @param {SeatMap} map the free seats, coach by coach, front to back, left to right (devices/Phone.ts freeSeatsOnMap) */
function freeSeatsOnMap(map) {
  /** @type {Array<{ coach: number, seatCode: string }>} */
  const free = []
  for (const section of map.sections) {
    for (const row of section.rows) {
      let seatIndex = 0
      for (const cell of row.cells.split("")) {
        if (cell === map.legend.gap) continue
        const seatCode = row.seatCodes[seatIndex++]
        if (cell === map.legend.free && seatCode !== undefined) free.push({ coach: section.section, seatCode: seatCode })
      }
    }
  }
  return free
}

/** @param {SeatMap} map @param {number} hall the hall's free seats, hottest first: middle rows, near the centre (simulator/journeys/CinemaGoer.ts) */
function freeSeatsByHotness(map, hall) {
  const section = map.sections.find((candidate) => candidate.section === hall)
  if (section === undefined) return []
  const seated = section.rows.filter((row) => row.seatCodes.length > 0)
  const middleRow = (seated.length - 1) / 2
  /** @type {Array<{ seatCode: string, hotness: number, order: number }>} */
  const seats = []
  seated.forEach((row, rowIndex) => {
    const middleColumn = (row.cells.length - 1) / 2
    let seatIndex = 0
    row.cells.split("").forEach((cell, column) => {
      if (cell === map.legend.gap) return
      const seatCode = row.seatCodes[seatIndex++]
      if (cell !== map.legend.free || seatCode === undefined) return
      seats.push({ seatCode: seatCode, hotness: -(2 * Math.abs(rowIndex - middleRow) + Math.abs(column - middleColumn)), order: seats.length })
    })
  })
  return seats.sort((a, b) => b.hotness - a.hotness || a.order - b.order)
}

/** @param {string} text text for a RegExp that matches it literally */
function escapeRegExp(text) { return text.replace(/[.*+?^$()|[\\]\\\\{}]/g, "\\\\$&") }
`

/**
 * The k6 side: metrics, one request, the clock, the passenger. It reads `plan` (the scenario's numbers) and
 * `endpoints` (the contract's), which the script defines before it.
 */
export const k6Runtime = `
// ---- k6 runtime: metrics, one checked and tagged request, the server's clock, the passenger ----

const baseUrl = (__ENV.CHUNYUN_BASE_URL || "http://127.0.0.1:8080").replace(/\\/+$/, "")
const adminKey = __ENV.CHUNYUN_ADMIN_KEY || ""

const paymentToIssuance = new Trend("payment_to_issuance", true)
const holdLatency = new Trend("hold", true)
const checkinLatency = new Trend("checkin", true)
const ticketsIssued = new Counter("tickets_issued")
const seatsHeld = new Counter("seats_held")
const admissions = new Counter("admissions")
const journeysGivenUp = new Counter("journeys_given_up")

/** @param {number} paymentStartWallMs the ticket is in hand: payment→issuance from when the payment began */
function ticketReceived(paymentStartWallMs) { paymentToIssuance.add(Date.now() - paymentStartWallMs); ticketsIssued.add(1) }
/** @param {number} durationMs a seat held, and how long its hold took */
function seatHeld(durationMs) { holdLatency.add(durationMs); seatsHeld.add(1) }
/** @param {number} durationMs a gate admitted, and how long its scan took */
function admitted(durationMs) { checkinLatency.add(durationMs); admissions.add(1) }
/** @param {string} reason the passenger gives up, as the harness's "gave-up" event */
function giveUp(reason) { journeysGivenUp.add(1, { reason: reason }) }

/**
 * @typedef {{ ok: boolean, status: number, tag: string, body: any, durationMs: number }} Answer
 * @typedef {{ path?: Record<string, string>, query?: Record<string, string | number | boolean>, body?: unknown,
 *   headers?: Record<string, string>, handles?: ReadonlyArray<string>, needs?: ReadonlyArray<string> }} Request
 */

/** @param {{ body: unknown }} response the answer's JSON, or null */
function jsonOf(response) {
  if (typeof response.body !== "string" || response.body === "") return null
  try { return JSON.parse(response.body) } catch (error) { return null }
}

/** @param {any} body @param {string} path whether the answer has a value at path ("carrier.capacitySlots") */
function hasField(body, path) {
  let value = body
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object") return false
    value = value[part]
  }
  return value !== undefined && value !== null
}

/** @param {string} tag @returns {Answer} a refusal the script decided itself (no request) */
function refusal(tag) { return { ok: false, status: 0, tag: tag, body: null, durationMs: 0 } }

/**
 * One request of a journey, to the endpoint the contract names, tagged with the call's name (tag "name": as the
 * harness's history names the call) and checked: its status is the endpoint's success or a refusal the journey
 * handles (by the error's tag), and a success has the fields the next call reads. A network failure is tagged
 * "RequestError", an answer without a tagged JSON body "HTTP<status>".
 * @param {string} name @param {keyof typeof endpoints} operation @param {Request} request @returns {Answer}
 */
function call(name, operation, request) {
  const endpoint = endpoints[operation]
  const pathValues = request.path || {}
  const path = endpoint.path.replace(/\\{(\\w+)\\}/g, (_, key) => encodeURIComponent(pathValues[key] || ""))
  const query = request.query
  const queryText = query === undefined ? "" : "?" + Object.keys(query).map((key) => encodeURIComponent(key) + "=" + encodeURIComponent(String(query[key]))).join("&")
  const body = request.body === undefined ? null : JSON.stringify(request.body)
  const headers = Object.assign({}, body === null ? {} : { "content-type": "application/json" }, request.headers || {})
  const response = http.request(endpoint.method, baseUrl + path + queryText, body, { headers: headers, tags: { name: name } })
  const answered = response.status === endpoint.status
  const parsed = jsonOf(response)
  const tag = answered ? "" : response.status === 0 ? "RequestError" : parsed !== null && typeof parsed._tag === "string" ? parsed._tag : "HTTP" + response.status
  const handles = request.handles || []
  /** @type {Record<string, () => boolean>} */
  const checks = {}
  checks[name + ": " + endpoint.status + (handles.length === 0 ? "" : " or " + handles.join("/"))] = () => answered || handles.indexOf(tag) >= 0
  for (const field of request.needs || []) checks[name + ": has " + field] = () => !answered || hasField(parsed, field)
  const passed = check(response, checks, { name: name })
  return { ok: answered && passed, status: response.status, tag: tag, body: parsed, durationMs: response.timings.duration }
}

/** @param {string} token */
function bearer(token) { return { authorization: "Bearer " + token } }
/** @param {string} key a gate's, kiosk's, carrier's or SMS gateway's device key */
function deviceKey(key) { return { "x-device-key": key } }
function asAdmin() { return { "x-admin-key": adminKey } }
/** @param {Record<string, string>} headers @param {string} key */
function withIdempotencyKey(headers, key) { return Object.assign({}, headers, { "idempotency-key": key }) }

/** @param {number} scenarioMs sleep this long on the scenario's timeline: its wall time at the time scale */
function sleepScenario(scenarioMs) { if (scenarioMs > 0) sleep(scenarioMs / plan.timeScale / 1000) }
/** @param {{ min: number, max: number }} range a uniform whole number in the range */
function uniform(range) { return range.min + Math.floor(Math.random() * (range.max - range.min + 1)) }
/** @template T @param {ReadonlyArray<T>} items one of them, uniformly */
function pick(items) { return items[Math.floor(Math.random() * items.length)] }
function thinkTime() { sleepScenario(uniform(plan.thinkTimeMs)) }

/** @typedef {{ serverMs: number, wallMs: number, roundTripMs: number }} ServerClock the server's scenario clock read at a wall time (within half the reading's round trip) */
/** @param {ServerClock} clock the server's scenario time now: it runs plan.timeScale times faster than the wall */
function scenarioNowMs(clock) { return clock.serverMs + (Date.now() - clock.wallMs) * plan.timeScale }
/** @param {ServerClock} clock @param {number} atMs sleep until the server's clock reads atMs */
function sleepUntil(clock, atMs) { sleepScenario(atMs - scenarioNowMs(clock)) }

/**
 * The passenger this iteration plays. The journeys' k6 scenarios count their iterations each from 0: iteration i of
 * the k-th journey kind is passenger i × kinds + k, so no two share a phone number.
 * @param {string} kind
 */
function passengerOf(kind) {
  const index = exec.scenario.iterationInTest * plan.journeyKinds.length + plan.journeyKinds.indexOf(kind)
  const phone = phoneOf(index)
  return { index: index, phone: phone, password: "pw-" + phone, paymentPassword: String(100000 + (index % 900000)), residentId: residentIdOf(index) }
}
/** @typedef {ReturnType<typeof passengerOf>} Passenger */
`

/** the numbers the runtime's helpers share with the server's settings */
export const k6RuntimeSettings = {
  utcOffsetMinutes: defaultSettings.utcOffsetMinutes,
  sessionTtlMs: defaultSettings.sessionTtlMs,
  maxTopUpFen: defaultSettings.maxTopUpFen,
  carrierTicketSlotBytes: defaultSettings.carrierTicketSlotBytes,
  maxCarrierCapacityBytes: defaultSettings.maxCarrierCapacityBytes,
  ticketTextPrefix
} as const
