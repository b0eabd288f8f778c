/**
 * A stand-in for k6, for tests on a machine without the k6 binary: it loads an exported script in this process with
 * its k6 modules (k6/http, k6, k6/execution, k6/metrics) replaced, and runs its `setup()` and journey functions one
 * iteration at a time. As in k6, a request blocks its caller: a worker thread sends it (fetch) while this thread waits
 * on an Atomics flag, and sleep() waits the same way. Every request, check and metric sample is recorded with the
 * tags k6 would give it (the k6 scenario's own, and the request's or check's).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads"

/** how long one request may take before the stand-in fails the call (wall time) */
export const standInRequestTimeoutMs = 30_000

export interface StandInRequest { readonly name: string; readonly method: string; readonly url: string; readonly status: number; readonly tags: Readonly<Record<string, string>> }
export interface StandInCheck { readonly name: string; readonly passed: boolean; readonly tags: Readonly<Record<string, string>> }
export interface StandInSample { readonly metric: string; readonly value: number; readonly tags: Readonly<Record<string, string>> }

export interface StandInRun {
  readonly options: { readonly scenarios: Record<string, { readonly exec?: string; readonly tags?: Record<string, string> }> }
  readonly setup: () => unknown
  /** one iteration of the k6 scenario `scenario` (its `exec` function, its tags, its next iteration number) */
  readonly iterate: (scenario: string, data: unknown) => void
  readonly requests: Array<StandInRequest>
  readonly checks: Array<StandInCheck>
  readonly samples: Array<StandInSample>
  readonly close: () => Promise<void>
}

const senderSource = `
const { parentPort, workerData } = require("node:worker_threads")
const flag = new Int32Array(workerData.flag)
parentPort.on("message", async (request) => {
  const started = performance.now()
  let answer
  try {
    const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body === null ? undefined : request.body,
      signal: AbortSignal.timeout(workerData.timeoutMs) })
    answer = { status: response.status, body: await response.text() }
  } catch (error) {
    answer = { status: 0, body: "", error: String(error) }
  }
  answer.durationMs = performance.now() - started
  workerData.port.postMessage(answer)
  Atomics.store(flag, 0, 1)
  Atomics.notify(flag, 0)
})
`

const moduleSources = {
  "k6-http.mjs": `export default { request: (method, url, body, params) => globalThis.__k6StandIn.request(method, url, body, params) }`,
  "k6.mjs": `export const check = (value, sets, tags) => globalThis.__k6StandIn.check(value, sets, tags)
export const sleep = (seconds) => globalThis.__k6StandIn.sleep(seconds)`,
  "k6-execution.mjs": `export default { get scenario() { return globalThis.__k6StandIn.scenario() } }`,
  "k6-metrics.mjs": `class Metric { constructor(name) { this.name = name } add(value, tags) { globalThis.__k6StandIn.sample(this.name, value, tags) } }
export class Trend extends Metric {}
export class Counter extends Metric {}`
} as const

type Params = { readonly headers?: Record<string, string>; readonly tags?: Record<string, string> }

/** Load `script` with `env` as its __ENV. */
export const loadK6Script = async (script: string, env: Record<string, string>): Promise<StandInRun> => {
  const directory = mkdtempSync(join(tmpdir(), "chunyun-k6-stand-in-"))
  for (const [file, source] of Object.entries(moduleSources)) writeFileSync(join(directory, file), source)
  const rewritten = script.replace(/from "k6\/http"/, `from "./k6-http.mjs"`).replace(/from "k6"/, `from "./k6.mjs"`)
    .replace(/from "k6\/execution"/, `from "./k6-execution.mjs"`).replace(/from "k6\/metrics"/, `from "./k6-metrics.mjs"`)
  writeFileSync(join(directory, "script.mjs"), rewritten)
  const flagBuffer = new SharedArrayBuffer(4)
  const flag = new Int32Array(flagBuffer)
  const sleeper = new Int32Array(new SharedArrayBuffer(4))
  const channel = new MessageChannel()
  const sender = new Worker(senderSource, { eval: true, workerData: { flag: flagBuffer, port: channel.port2, timeoutMs: standInRequestTimeoutMs }, transferList: [channel.port2] })
  const run = { requests: [] as Array<StandInRequest>, checks: [] as Array<StandInCheck>, samples: [] as Array<StandInSample> }
  const iterations = new Map<string, number>()
  let current: { name: string; iterationInTest: number; tags: Record<string, string> } = { name: "setup", iterationInTest: 0, tags: {} }
  const globals = globalThis as unknown as { __k6StandIn?: unknown; __ENV?: unknown }
  globals.__ENV = env
  globals.__k6StandIn = {
    request: (method: string, url: string, body: string | null, params: Params = {}) => {
      Atomics.store(flag, 0, 0)
      sender.postMessage({ method, url, headers: params.headers ?? {}, body })
      if (Atomics.wait(flag, 0, 0, standInRequestTimeoutMs + 1_000) === "timed-out") throw new Error(`k6 stand-in: no answer to ${method} ${url}`)
      const answer = receiveMessageOnPort(channel.port1)?.message as { status: number; body: string; durationMs: number }
      const tags = { ...current.tags, ...params.tags }
      run.requests.push({ name: params.tags?.name ?? url, method, url, status: answer.status, tags })
      return { status: answer.status, body: answer.body, timings: { duration: answer.durationMs }, json: () => JSON.parse(answer.body) }
    },
    check: (value: unknown, sets: Record<string, boolean | ((value: unknown) => boolean)>, tags: Record<string, string> = {}) => {
      let all = true
      for (const [name, checker] of Object.entries(sets)) {
        const passed = typeof checker === "function" ? checker(value) : checker
        run.checks.push({ name, passed, tags: { ...current.tags, ...tags } })
        all &&= passed
      }
      return all
    },
    sleep: (seconds: number) => { if (seconds > 0) Atomics.wait(sleeper, 0, 0, seconds * 1_000) },
    scenario: () => ({ name: current.name, iterationInTest: current.iterationInTest }),
    sample: (metric: string, value: number, tags: Record<string, string> = {}) => { run.samples.push({ metric, value, tags: { ...current.tags, ...tags } }) }
  }
  const module = await import(pathToFileURL(join(directory, "script.mjs")).href) as Record<string, unknown>
  const options = module["options"] as StandInRun["options"]
  const functionOf = (name: string) => {
    const found = module[name]
    if (typeof found !== "function") throw new Error(`k6 stand-in: the script exports no function ${name}`)
    return found as (data?: unknown) => unknown
  }
  return {
    ...run, options,
    setup: () => { current = { name: "setup", iterationInTest: 0, tags: {} }; return functionOf("setup")() },
    iterate: (scenario, data) => {
      const spec = options.scenarios[scenario]
      if (spec === undefined) throw new Error(`k6 stand-in: the script has no k6 scenario ${scenario}`)
      const iterationInTest = iterations.get(scenario) ?? 0
      iterations.set(scenario, iterationInTest + 1)
      current = { name: scenario, iterationInTest, tags: { scenario, ...spec.tags } }
      functionOf(spec.exec ?? "default")(data)
    },
    close: async () => {
      await sender.terminate()
      channel.port1.close()
      delete globals.__k6StandIn
      rmSync(directory, { recursive: true, force: true })
    }
  }
}
