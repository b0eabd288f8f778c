/**
 * `chunyun export-k6 <scenario>`: the scenario's load as a k6 script, to run the same journeys from many
 * machines with k6 or k6-operator when one driver is not enough. What maps:
 *
 * - `load` (simulator/Executors.ts) → one entry of `options.scenarios`, field for field (ms → "…ms",
 *   VUs → VUs). Without `load`, the scenario's exponential arrival curve becomes a `ramping-arrival-rate`
 *   whose stages follow the curve (piecewise linear over five mean delays), `maxVUs` = `maxPassengersInFlight`.
 * - thresholds → `options.thresholds`: the trends (payment_to_issuance, hold, checkin) are custom k6 Trends
 *   with the same names, http_req_failed is k6's own, tickets_issued_per_second is the `rate` of a Counter
 *   `tickets_issued`. What k6 cannot measure is listed in the script's header and left out: `invariants`
 *   (run the auditor over the store afterwards) and a trend's `count`.
 * - the journey: search, register, log in, hold, top up, pay, wait for the ticket — the phone's purchase
 *   (devices/Phone.ts) without the gate, whose QR check needs the gate's Ed25519 key. Paths come from the
 *   HttpApi's OpenAPI document, so a renamed endpoint fails the export rather than the load test.
 *
 * Scenario time is wall time in the script (k6 runs against an unscaled server); `timeScale` divides
 * every duration and think time and multiplies every rate, as `run --mode real --time-scale` does.
 */
import { OpenApi } from "@effect/platform"
import { ChunyunApi } from "../reference/Api.js"
import type { Scenario } from "../scenarios/Scenario.js"
import type { Executor } from "../simulator/Executors.js"

/** stages approximating the exponential arrival curve: how many, over how many mean delays */
export const arrivalCurveStages = 10
export const arrivalCurveMeans = 5

const operationIds = {
  search: "catalog.search", createRun: "catalog.createRun", register: "customers.register", login: "customers.login",
  hold: "orders.hold", topUp: "accounts.topUp", pay: "accounts.pay", getTicket: "issuance.getTicket"
} as const
type Operation = keyof typeof operationIds

/** Each operation's method and path, from the OpenAPI document; `{orderId}` becomes a template slot. */
const endpointsOf = (): Record<Operation, { method: string; path: string }> => {
  const paths = OpenApi.fromApi(ChunyunApi).paths as Record<string, Record<string, { operationId?: string } | undefined>>
  const found = {} as Record<Operation, { method: string; path: string }>
  for (const [operation, operationId] of Object.entries(operationIds) as Array<[Operation, string]>) {
    const match = Object.entries(paths).flatMap(([path, methods]) =>
      Object.entries(methods).filter(([, spec]) => spec?.operationId === operationId).map(([method]) => ({ method: method.toUpperCase(), path })))[0]
    if (!match) throw new Error(`export-k6: the API has no operation ${operationId}`)
    found[operation] = { method: match.method, path: match.path.replace(/\{(\w+)\}/g, "${$1}") }
  }
  return found
}

const ms = (value: number) => `${Math.max(0, Math.round(value))}ms`

/** A k6 rate is an integer per time unit: an integer rate per second as is, anything else per minute or hour. */
const rateOf = (ratePerSecond: number) => {
  if (Number.isInteger(ratePerSecond)) return { rate: ratePerSecond, timeUnit: "1s" }
  if (Number.isInteger(ratePerSecond * 60)) return { rate: ratePerSecond * 60, timeUnit: "1m" }
  return { rate: Math.max(1, Math.round(ratePerSecond * 3_600)), timeUnit: "1h" }
}

/** The k6 scenario of an executor, its durations divided by `timeScale` and its rates multiplied. */
export const k6ScenarioOf = (executor: Executor, timeScale: number): Record<string, unknown> => {
  const stages = (list: ReadonlyArray<{ durationMs: number; target: number }>) =>
    list.map((stage) => ({ duration: ms(stage.durationMs / timeScale), target: stage.target }))
  switch (executor.executor) {
    case "constant-arrival-rate":
      return {
        executor: executor.executor, ...rateOf(executor.ratePerSecond * timeScale), duration: ms(executor.durationMs / timeScale),
        preAllocatedVUs: executor.preAllocatedVus, maxVUs: executor.maxVus ?? executor.preAllocatedVus
      }
    case "ramping-arrival-rate":
      return {
        executor: executor.executor, startRate: executor.startRate, timeUnit: ms(executor.timeUnitMs / timeScale), stages: stages(executor.stages),
        preAllocatedVUs: executor.preAllocatedVus, maxVUs: executor.maxVus ?? executor.preAllocatedVus
      }
    case "constant-vus":
      return { executor: executor.executor, vus: executor.vus, duration: ms(executor.durationMs / timeScale) }
    case "ramping-vus":
      return { executor: executor.executor, startVUs: executor.startVus, stages: stages(executor.stages) }
  }
}

/** The exponential arrivals of a scenario without `load`, as a ramping arrival rate (iterations per minute). */
export const arrivalCurveExecutor = (scenario: Scenario): Executor => {
  const meanMs = scenario.passengers.meanArrivalDelayMs
  const stageMs = Math.max(1, Math.round((arrivalCurveMeans * meanMs) / arrivalCurveStages))
  // rate(t) = count / mean · e^(−t/mean), per minute, rounded: k6 rates are integers
  const perMinuteAt = (tMs: number) => Math.round((scenario.passengers.count / meanMs) * Math.exp(-tMs / meanMs) * 60_000)
  const preAllocatedVus = Math.min(scenario.real.maxPassengersInFlight, 100)
  return {
    executor: "ramping-arrival-rate", startRate: perMinuteAt(0), timeUnitMs: 60_000,
    stages: Array.from({ length: arrivalCurveStages }, (_, index) => ({ durationMs: stageMs, target: perMinuteAt((index + 1) * stageMs) })),
    preAllocatedVus, maxVus: scenario.real.maxPassengersInFlight
  }
}

const trendNames = new Set(["payment_to_issuance", "hold", "checkin"])

/** Our thresholds in k6's syntax, and those k6 cannot evaluate (with why). */
export const k6ThresholdsOf = (thresholds: Scenario["thresholds"]) => {
  const mapped: Record<string, Array<string>> = {}
  const skipped: Array<string> = []
  const add = (metric: string, expression: string) => { (mapped[metric] ??= []).push(expression) }
  for (const [metric, expressions] of Object.entries(thresholds)) {
    for (const expression of expressions) {
      if (metric === "invariants") skipped.push(`${metric}: ${expression} (run the auditor over the store after the test)`)
      else if (trendNames.has(metric) && /^\s*count\b/.test(expression)) skipped.push(`${metric}: ${expression} (a k6 Trend has no count)`)
      else if (metric === "tickets_issued_per_second") add("tickets_issued", expression.replace(/^\s*value\b/, "rate"))
      else add(metric, expression.trim())
    }
  }
  return { thresholds: mapped, skipped }
}

export class K6ExportError extends Error {}

/** the script reads its target and admin key from the environment, as k6 users expect */
export const k6Environment = { baseUrl: "CHUNYUN_BASE_URL", adminKey: "CHUNYUN_ADMIN_KEY", phoneOffset: "CHUNYUN_PHONE_OFFSET" } as const

/** The k6 script (an ES module for `k6 run`) running `scenario`'s load at `timeScale`. */
export const exportK6 = (scenario: Scenario, timeScale = 1) => {
  const endpoints = endpointsOf()
  const executor = scenario.load ?? arrivalCurveExecutor(scenario)
  const { thresholds, skipped } = k6ThresholdsOf(scenario.thresholds)
  const options = { scenarios: { [scenario.name]: k6ScenarioOf(executor, timeScale) }, thresholds }
  // the script runs the app journey: on the scenario's first train (a k6 scenario has one iteration function)
  const train = scenario.trains[0]
  if (!train) throw new K6ExportError(`${scenario.name} has no train: export-k6 writes the app journey, which buys a train ticket`)
  const call = (operation: Operation, query = "") => `${JSON.stringify(endpoints[operation].method)}, \`\${baseUrl}${endpoints[operation].path}${query}\``
  const think = scenario.passengers.thinkTimeMs
  return `// k6 script exported by \`chunyun export-k6\` from the scenario "${scenario.name}"${timeScale === 1 ? "" : ` at time scale ${timeScale}`}.
// ${scenario.description}
// Run: CHUNYUN_BASE_URL=http://host:8080 CHUNYUN_ADMIN_KEY=<the server's admin key> k6 run this.js   (or as a k6-operator TestRun)
// (\`chunyun serve\` prints where it wrote its admin key.)
// Each iteration is one passenger's purchase: search, register, log in, hold, top up, pay, wait for the ticket.
// Phone numbers are 13<9 digits> from ${k6Environment.phoneOffset} (default 0) + the iteration: change it to run again on the same store.
${skipped.length === 0 ? "// Every threshold of the scenario is evaluated by k6." : `// Thresholds k6 cannot evaluate, left out:\n${skipped.map((line) => `//   ${line}`).join("\n")}`}
import http from "k6/http"
import { sleep } from "k6"
import exec from "k6/execution"
import { Counter, Trend } from "k6/metrics"

export const options = ${JSON.stringify(options, null, 2)}

const baseUrl = __ENV.${k6Environment.baseUrl} || "http://127.0.0.1:8080"
const adminKey = __ENV.${k6Environment.adminKey} || ""
const phoneOffset = Number(__ENV.${k6Environment.phoneOffset} || "0")
const train = ${JSON.stringify({ trainCode: train.trainCode, serviceDate: train.serviceDate, stops: train.stops, coaches: train.coaches, fareFenPerSegment: train.fareFenPerSegment })}
const thinkTimeMs = ${JSON.stringify({ min: think.min / timeScale, max: think.max / timeScale })}
const ticketPollIntervalMs = ${scenario.passengers.ticketPollIntervalMs / timeScale}
const maxTicketPolls = ${scenario.passengers.maxTicketPolls}

const paymentToIssuance = new Trend("payment_to_issuance", true)
const holdLatency = new Trend("hold", true)
const ticketsIssued = new Counter("tickets_issued")
const json = { "content-type": "application/json" }

/** @param {number} min @param {number} max */
const uniform = (min, max) => min + Math.floor(Math.random() * (max - min + 1))
const thinkTime = () => sleep(uniform(thinkTimeMs.min, thinkTimeMs.max) / 1000)

/** GB 11643: 6 digits of region, birth date, 3 of sequence, ISO 7064 MOD 11-2 check character @param {number} n */
const residentIdOf = (n) => {
  const birth = new Date(Date.UTC(1950, 0, 1) + (n % 20000) * 86400000).toISOString().slice(0, 10).replace(/-/g, "")
  const first17 = "110105" + birth + String(n % 1000).padStart(3, "0")
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  let sum = 0
  for (let index = 0; index < 17; index++) sum += Number(first17[index]) * weights[index]
  return first17 + "10X98765432"[sum % 11]
}

/** The train run the load buys: created once, or found when it exists already. */
export function setup() {
  if (adminKey === "") throw new Error("set ${k6Environment.adminKey} to the server's admin key (chunyun serve prints where it wrote it)")
  const created = http.request(${call("createRun")}, JSON.stringify(train), { headers: { ...json, "x-admin-key": adminKey } })
  if (created.status === 201) return { runId: String(created.json("runId")) }
  const first = train.stops[0].station, last = train.stops[train.stops.length - 1].station
  const found = http.request(${call("search", "?from=${first}&to=${last}&date=${train.serviceDate}")})
  const offers = /** @type {Array<{ runId: string, trainCode: string }>} */ (found.json())
  const offer = (offers || []).find((candidate) => candidate.trainCode === train.trainCode)
  if (!offer) throw new Error(\`cannot create or find the run: \${created.status} \${created.body}\`)
  return { runId: offer.runId }
}

/** @param {{ runId: string }} data */
export default function (data) {
  const n = phoneOffset + exec.scenario.iterationInTest
  const phone = "13" + String(n).padStart(9, "0")
  const password = "pw-" + phone
  const paymentPassword = String(100000 + (n % 900000))
  const from = uniform(0, train.stops.length - 2), to = uniform(from + 1, train.stops.length - 1)
  const fromStation = train.stops[from].station, toStation = train.stops[to].station
  const offers = http.request(${call("search", "?from=${fromStation}&to=${toStation}&date=${train.serviceDate}")})
  if (offers.status !== 200) return
  thinkTime()
  http.request(${call("register")}, JSON.stringify({ phone, password, paymentPassword, residentId: residentIdOf(n) }), { headers: json })
  thinkTime()
  const session = http.request(${call("login")}, JSON.stringify({ phone, password }), { headers: json })
  if (session.status !== 200) return
  const auth = { ...json, authorization: \`Bearer \${session.json("token")}\` }
  const held = http.request(${call("hold")}, JSON.stringify({ runId: data.runId, fromStation, toStation }), { headers: auth })
  holdLatency.add(held.timings.duration)
  if (held.status !== 201) return
  const orderId = String(held.json("orderId"))
  thinkTime()
  http.request(${call("topUp")}, JSON.stringify({ amountFen: Number(held.json("priceFen")) }), { headers: { ...auth, "idempotency-key": \`topup-\${n}\` } })
  const payStartMs = Date.now()
  const paid = http.request(${call("pay")}, JSON.stringify({ paymentPassword }), { headers: { ...auth, "idempotency-key": \`pay-\${n}\` } })
  if (paid.status !== 201) return
  for (let poll = 0; poll <= maxTicketPolls; poll++) {
    if (poll > 0) sleep(ticketPollIntervalMs / 1000)
    const ticket = http.request(${call("getTicket")}, null, { headers: auth })
    if (ticket.status === 200) {
      paymentToIssuance.add(Date.now() - payStartMs)
      ticketsIssued.add(1)
      return
    }
  }
}
`
}
