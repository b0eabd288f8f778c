/**
 * A bench server in a process of its own (a TypeScript file run through tsx), ready once it prints
 * `listening on http://…`: the trivial endpoint of the driver benchmark and the layers of the HTTP stack's floor.
 */
import { spawn } from "node:child_process"

/** how long such a server may take to print its address */
const childServerStartTimeoutMs = 60_000

export interface ChildServer {
  readonly baseUrl: string
  readonly pid: number | undefined
  readonly stop: () => void
}

/** Starts `entry` with `args` and resolves once it listens; `label` names it in an error. */
export const startChildServer = (entry: string, args: ReadonlyArray<string>, label: string) => new Promise<ChildServer>((resolve, reject) => {
  const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], { stdio: ["ignore", "pipe", "inherit"] })
  const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`${label} did not start within ${childServerStartTimeoutMs} ms`)) }, childServerStartTimeoutMs)
  let buffered = ""
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString()
    const match = /listening on (http:\/\/[\d.:]+)/.exec(buffered)
    if (!match) return
    clearTimeout(timer)
    child.stdout.removeAllListeners("data")
    child.stdout.resume()
    resolve({ baseUrl: match[1]!, pid: child.pid, stop: () => child.kill("SIGTERM") })
  })
  child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`${label} exited with ${code}`)) })
})
