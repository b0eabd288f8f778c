/**
 * Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: we write
 * commands on fd 3, read replies and events on fd 4, each a JSON message ended by a NUL byte), so the
 * report tests need neither a WebSocket library nor a free port. Tests only.
 */
import { execFileSync, spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import type { Readable, Writable } from "node:stream"
import { fileURLToPath } from "node:url"

/** a protocol call that gets no answer in this time means the browser hung */
export const commandTimeoutMs = 15_000

const projectDirectory = dirname(dirname(dirname(fileURLToPath(import.meta.url))))

/** scripts/chromium.mjs: finds Chromium or installs it; throws with its reason (no browser is a failure, not a skip). */
export const chromiumPath = (): string => {
  try {
    return execFileSync(process.execPath, [join(projectDirectory, "scripts", "chromium.mjs")], {
      encoding: "utf8", stdio: ["ignore", "pipe", "pipe"]
    }).trim()
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? ""
    throw new Error(`no headless Chromium for the report test: ${stderr.trim() || String(error)}`)
  }
}

interface Pending {
  readonly resolve: (result: Record<string, unknown>) => void
  readonly reject: (error: Error) => void
}

type EventListener = (params: Record<string, unknown>, sessionId: string | undefined) => void

export interface Browser {
  /** sends a command (to a page when `sessionId` is given) and waits for its result */
  readonly send: (method: string, params?: Record<string, unknown>, sessionId?: string) => Promise<Record<string, unknown>>
  readonly on: (method: string, listener: EventListener) => void
  readonly close: () => Promise<void>
}

const readMessages = (input: Readable, onMessage: (message: Record<string, unknown>) => void) => {
  let pending = ""
  input.setEncoding("utf8")
  input.on("data", (chunk: string) => {
    const parts = (pending + chunk).split("\0")
    pending = parts.pop() ?? ""
    for (const part of parts) onMessage(JSON.parse(part) as Record<string, unknown>)
  })
}

const stopped = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())))

export const launchChromium = (executable: string): Browser => {
  const profileDirectory = mkdtempSync(join(tmpdir(), "chunyun-chromium-"))
  const child = spawn(executable, [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
    "--force-device-scale-factor=1", "--remote-debugging-pipe", `--user-data-dir=${profileDirectory}`, "about:blank"
  ], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] })
  let stderr = ""
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => { stderr = (stderr + chunk).slice(-4_000) })
  const commands = child.stdio[3] as Writable
  const pending = new Map<number, Pending>()
  const listeners = new Map<string, Array<EventListener>>()
  let nextId = 1
  readMessages(child.stdio[4] as Readable, (message) => {
    const request = typeof message.id === "number" ? pending.get(message.id) : undefined
    if (request !== undefined && typeof message.id === "number") {
      pending.delete(message.id)
      const error = message.error as { message?: string } | undefined
      if (error !== undefined) request.reject(new Error(`DevTools: ${error.message ?? JSON.stringify(error)}`))
      else request.resolve((message.result ?? {}) as Record<string, unknown>)
    } else if (typeof message.method === "string") {
      const sessionId = typeof message.sessionId === "string" ? message.sessionId : undefined
      for (const listener of listeners.get(message.method) ?? []) listener((message.params ?? {}) as Record<string, unknown>, sessionId)
    }
  })
  child.once("exit", (code, signal) => {
    for (const request of pending.values()) request.reject(new Error(`Chromium exited (${code ?? signal}) mid-command: ${stderr}`))
    pending.clear()
  })
  const send: Browser["send"] = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
    const id = nextId++
    const timer = setTimeout(() => { pending.delete(id); reject(new Error(`DevTools ${method}: no answer in ${commandTimeoutMs} ms`)) }, commandTimeoutMs)
    pending.set(id, {
      resolve: (result) => { clearTimeout(timer); resolve(result) },
      reject: (error) => { clearTimeout(timer); reject(error) }
    })
    commands.write(JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) }) + "\0")
  })
  return {
    send,
    on: (method, listener) => listeners.set(method, [...(listeners.get(method) ?? []), listener]),
    close: async () => {
      await send("Browser.close").catch(() => child.kill("SIGKILL"))
      await stopped(child)
      rmSync(profileDirectory, { recursive: true, force: true })
    }
  }
}
