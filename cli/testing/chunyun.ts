/**
 * `chunyun <args>` for tests, as a user runs it (`npm run chunyun -- <args>`): a child process in the project
 * directory, its exit code or signal, and what it printed.
 */
import { spawn } from "node:child_process"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"
import { environmentToRun, nodeArgsToRun } from "../../simulator/Real.js"

export const projectDirectory = dirname(dirname(dirname(fileURLToPath(import.meta.url))))
/**
 * bounds a hung child. A tiny virtual run takes ~4 s of CPU, a usage error ~5 s (loading the program), but on a
 * loaded two-core machine a replay took over 60 s: the bound is for a child that never ends, not a speed limit.
 */
export const defaultCliTimeoutMs = 300_000

export interface CliResult { readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stdout: string; readonly stderr: string }

/**
 * The program: the bundle `npm test` built (CHUNYUN_CLI_BUNDLE), which loads in a fifth of the CPU and loads
 * scenario files through tsx's scoped loader, or else cli/main.ts through tsx, as `npm run chunyun` runs it.
 */
const cliEntry = (): string => process.env["CHUNYUN_CLI_BUNDLE"] || "cli/main.ts"

/** `env`: the child's environment instead of this process's */
export const chunyun = (args: ReadonlyArray<string>, timeoutMs = defaultCliTimeoutMs, env: NodeJS.ProcessEnv = process.env): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const entry = cliEntry()
    const child = spawn(process.execPath, [...nodeArgsToRun(entry), ...args], {
      cwd: projectDirectory, timeout: timeoutMs, stdio: ["ignore", "pipe", "pipe"], env: environmentToRun(entry, env)
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk })
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  })

/** For an assertion's message: the exit, and both streams. */
export const describeResult = (result: CliResult) => `exit ${result.code} ${result.signal ?? ""}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
