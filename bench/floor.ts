/**
 * The HTTP stack's floor, layer by layer: the same `GET /ticket-keys` with a small JSON answer from node:http alone,
 * from @effect/platform's HttpRouter, from an HttpApi contract of one endpoint, and from the server itself (its
 * whole contract, request guard, request observer, metrics; no store read). Each in its own process under the same
 * autocannon load, with the server process's CPU per request: what each layer adds to every request the server answers.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import autocannon from "autocannon"
import { processTreeCpuMs } from "../simulator/HostLoad.js"
import { startServerProcess } from "../simulator/Real.js"

export interface FloorRow {
  readonly label: string
  readonly perSecond: number
  /** the server process's CPU per answered request */
  readonly cpuMicrosPerRequest: number | undefined
}

/** the server's own endpoint that reads nothing from the store, and the path every layer answers on */
const floorPath = "/ticket-keys"
const floorServerEntry = fileURLToPath(new URL("./floorServer.ts", import.meta.url))
/** how long a layer's server may take to print its address */
const floorServerStartTimeoutMs = 60_000

const startFloorServer = (kind: string) => new Promise<{ baseUrl: string; pid: number | undefined; stop: () => void }>((resolve, reject) => {
  const child = spawn(process.execPath, ["--import", "tsx", floorServerEntry, kind, floorPath], { stdio: ["ignore", "pipe", "inherit"] })
  const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`floor server ${kind} did not start within ${floorServerStartTimeoutMs} ms`)) }, floorServerStartTimeoutMs)
  let buffered = ""
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString()
    const match = /listening on (http:\/\/[\d.:]+)/.exec(buffered)
    if (!match) return
    clearTimeout(timer)
    child.stdout.removeAllListeners("data")
    child.stdout.resume()
    resolve({ baseUrl: match[1]!, pid: child.pid, stop: () => child.kill("SIGKILL") })
  })
  child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`floor server ${kind} exited with ${code}`)) })
})

/** autocannon on `url` for `durationMs` after a warm-up of a quarter of it, with the server's CPU per request */
const measure = async (label: string, url: string, pid: number | undefined, connections: number, durationMs: number): Promise<FloorRow> => {
  await autocannon({ url, connections, duration: durationMs / 4_000 })
  const cpuBeforeMs = pid === undefined ? undefined : processTreeCpuMs(pid)
  const result = await autocannon({ url, connections, duration: durationMs / 1_000 })
  const cpuAfterMs = pid === undefined ? undefined : processTreeCpuMs(pid)
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${label}: ${result.non2xx} answers not 2xx, ${result.errors} errors`)
  const answered = result.requests.total
  return {
    label, perSecond: answered / (durationMs / 1_000),
    cpuMicrosPerRequest: cpuBeforeMs === undefined || cpuAfterMs === undefined || answered === 0 ? undefined : ((cpuAfterMs - cpuBeforeMs) * 1_000) / answered
  }
}

/** The four layers, one after the other; the server's own row runs `chunyun serve` from `cliEntry` on a fresh SQLite file. */
export const floorLadder = async (cliEntry: string, serverArgs: ReadonlyArray<string>, connections: number, durationMs: number) => {
  const rows: Array<FloorRow> = []
  for (const [kind, label] of [["node", "node:http"], ["router", "Effect HttpRouter"], ["api", "Effect HttpApi, one endpoint"]] as const) {
    const server = await startFloorServer(kind)
    try {
      rows.push(await measure(label, `${server.baseUrl}${floorPath}`, server.pid, connections, durationMs))
    } finally {
      server.stop()
    }
  }
  const server = await startServerProcess(cliEntry, ["--port", "0", ...serverArgs])
  try {
    rows.push(await measure("chunyun serve (no store read)", `${server.baseUrl}${floorPath}`, server.pid, connections, durationMs))
  } finally {
    await server.stop()
  }
  return rows
}
