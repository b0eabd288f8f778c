/**
 * The driver on the trivial endpoint, in this process or in several child processes (`--driver-processes`),
 * whose HDR histograms are merged: a driver that needs more than one core can have them.
 */
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import { clientsFor, dispatch, drive, Recorder } from "./driver.js"

const request = { method: "GET" as const, path: "/" }

export const trivialConnections = 50

/** The driver, closed model, one connection per VU: as many requests as the endpoint answers. */
export const trivialDriver = async (baseUrl: string, connections: number, durationMs: number) => {
  const clients = clientsFor(baseUrl, connections)
  const recorder = new Recorder()
  const outcome = await drive({ executor: "constant-vus", vus: connections, durationMs }, async (intendedMs, _index, vu) => {
    await dispatch(clients[vu]!, request, false)
    recorder.record("request", performance.now() - intendedMs)
  })
  await Promise.all(clients.map((client) => client.close()))
  const result = { perSecond: outcome.iterations / (outcome.elapsedMs / 1_000), p99Ms: recorder.summary("request").p99, encoded: recorder.encode() }
  recorder.destroy()
  return result
}

interface ChildResult { readonly perSecond: number; readonly encoded: Record<string, string> }

/** `processes` children, each with its share of the connections for the same duration; rates add up. */
export const runChildDrivers = async (processes: number, baseUrl: string, connections: number, durationMs: number) => {
  const childEntry = fileURLToPath(new URL("./trivialChild.ts", import.meta.url))
  const results = await Promise.all(Array.from({ length: processes }, () => new Promise<ChildResult>((resolve, reject) => {
    const child = fork(childEntry, [baseUrl, String(Math.ceil(connections / processes)), String(durationMs)], { execArgv: ["--import", "tsx"] })
    child.once("message", (message) => resolve(message as ChildResult))
    child.once("exit", (code) => { if (code !== 0) reject(new Error(`driver process exited with ${code}`)) })
  })))
  const merged = new Recorder()
  for (const result of results) merged.merge(result.encoded)
  const summary = { perSecond: results.reduce((sum, result) => sum + result.perSecond, 0), p99Ms: merged.summary("request").p99 }
  merged.destroy()
  return summary
}
