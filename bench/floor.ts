/**
 * The HTTP stack's floor, layer by layer: the same `GET /ticket-keys` with a small JSON answer from node:http alone,
 * from @effect/platform's HttpRouter, from an HttpApi contract of one endpoint, and from the server itself (its
 * whole contract, request guard, request observer, metrics; no store read). Each in its own process under the same
 * autocannon load, with the server process's CPU per request: what each layer adds to every request the server answers.
 */
import { fileURLToPath } from "node:url"
import autocannon from "autocannon"
import { processTreeCpuMs } from "../simulator/HostLoad.js"
import { startServerProcess } from "../simulator/Real.js"
import { startChildServer } from "./childServer.js"

/** the layers, from the bottom: node:http, Effect's HttpRouter, an HttpApi of one endpoint, the server itself */
export type FloorLayer = "node" | "router" | "api" | "server"

export interface FloorRow {
  readonly layer: FloorLayer
  readonly label: string
  readonly perSecond: number
  /** the server process's CPU per answered request */
  readonly cpuMicrosPerRequest: number | undefined
}

/** the server's own endpoint that reads nothing from the store, and the path every layer answers on */
const floorPath = "/ticket-keys"
const floorServerEntry = fileURLToPath(new URL("./floorServer.ts", import.meta.url))

/** autocannon on `url` for `durationMs` after a warm-up of a quarter of it, with the server's CPU per request */
const measure = async (
  layer: FloorLayer, label: string, url: string, pid: number | undefined, connections: number, durationMs: number
): Promise<FloorRow> => {
  await autocannon({ url, connections, duration: durationMs / 4_000 })
  const cpuBeforeMs = pid === undefined ? undefined : processTreeCpuMs(pid)
  const result = await autocannon({ url, connections, duration: durationMs / 1_000 })
  const cpuAfterMs = pid === undefined ? undefined : processTreeCpuMs(pid)
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${label}: ${result.non2xx} answers not 2xx, ${result.errors} errors`)
  const answered = result.requests.total
  return {
    layer, label, perSecond: answered / (durationMs / 1_000),
    cpuMicrosPerRequest: cpuBeforeMs === undefined || cpuAfterMs === undefined || answered === 0 ? undefined : ((cpuAfterMs - cpuBeforeMs) * 1_000) / answered
  }
}

/** The four layers, one after the other; the server's own row runs `chunyun serve` from `cliEntry` on a fresh SQLite file. */
export const floorLadder = async (cliEntry: string, serverArgs: ReadonlyArray<string>, connections: number, durationMs: number) => {
  const rows: Array<FloorRow> = []
  for (const [kind, label] of [["node", "node:http"], ["router", "Effect HttpRouter"], ["api", "Effect HttpApi, one endpoint"]] as const) {
    const server = await startChildServer(floorServerEntry, [kind, floorPath], `floor server ${kind}`)
    try {
      rows.push(await measure(kind, label, `${server.baseUrl}${floorPath}`, server.pid, connections, durationMs))
    } finally {
      server.stop()
    }
  }
  const server = await startServerProcess(cliEntry, ["--port", "0", ...serverArgs])
  try {
    rows.push(await measure("server", "chunyun serve (no store read)", `${server.baseUrl}${floorPath}`, server.pid, connections, durationMs))
  } finally {
    await server.stop()
  }
  return rows
}
