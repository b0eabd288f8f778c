/**
 * The Chromium the browser tests drive (reports/html.browser.test.ts): prints its path on stdout.
 * Looks for `CHUNYUN_CHROMIUM`, then the usual Debian/Ubuntu paths; when none is there and this is a
 * Debian machine run as root (CI), installs the `chromium` package with apt-get (see the README for how
 * long it takes). apt's output goes to a log file, not the terminal: one line says where it is while it
 * installs, and a failure prints the log's last lines. Anything else exits 1 with the reason, so a test
 * that needs a browser fails loudly instead of passing without one.
 *   node scripts/chromium.mjs            → /usr/bin/chromium
 */
import { execFileSync } from "node:child_process"
import { closeSync, existsSync, openSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const knownPaths = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"]
const aptGetPath = "/usr/bin/apt-get"
/** where apt-get's output goes while it installs */
export const installLogPath = join(tmpdir(), "chunyun-chromium-install.log")
/** how much of the log a failed install prints */
const failureLogTailLines = 30

const logTail = () => {
  try {
    return readFileSync(installLogPath, "utf8").trimEnd().split("\n").slice(-failureLogTailLines).join("\n")
  } catch {
    return "(no log written)"
  }
}

export const findChromium = () => {
  const fromEnvironment = process.env.CHUNYUN_CHROMIUM
  if (fromEnvironment !== undefined && fromEnvironment !== "") {
    if (!existsSync(fromEnvironment)) throw new Error(`CHUNYUN_CHROMIUM=${fromEnvironment} does not exist`)
    return fromEnvironment
  }
  return knownPaths.find((path) => existsSync(path))
}

const install = () => {
  if (!existsSync(aptGetPath)) {
    throw new Error(`no Chromium at ${knownPaths.join(", ")} and no apt-get to install one: install Chromium or set CHUNYUN_CHROMIUM`)
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`no Chromium at ${knownPaths.join(", ")}; installing needs root: run \`apt-get install -y chromium\` or set CHUNYUN_CHROMIUM`)
  }
  // apt's own output (hundreds of dpkg lines) goes to the log; stdout carries the path only.
  const log = openSync(installLogPath, "w")
  const options = { stdio: ["ignore", log, log], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }
  const startedMs = Date.now()
  try {
    execFileSync(aptGetPath, ["update", "-qq"], options)
    execFileSync(aptGetPath, ["install", "-y", "-qq", "--no-install-recommends", "chromium"], options)
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message.split("\n")[0] : String(error)}; the last lines of ${installLogPath}:\n${logTail()}`)
  } finally {
    closeSync(log)
  }
  console.error(`chromium: not found, so installed the Debian package in ${Math.round((Date.now() - startedMs) / 1_000)} s (apt-get's output: ${installLogPath})`)
}

/** The path of a Chromium, installed first when missing and possible; throws with the reason otherwise. */
export const ensureChromium = () => {
  const found = findChromium()
  if (found !== undefined) return found
  try {
    install()
  } catch (error) {
    throw new Error(`chromium: cannot install: ${error instanceof Error ? error.message : String(error)}`)
  }
  const installed = findChromium()
  if (installed === undefined) throw new Error(`chromium: apt-get install chromium finished but none of ${knownPaths.join(", ")} exists`)
  return installed
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    console.log(ensureChromium())
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error))
    process.exit(1)
  }
}
