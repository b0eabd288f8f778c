/**
 * The Chromium the browser tests drive (reports/html.browser.test.ts): prints its path on stdout.
 * Looks for `CHUNYUN_CHROMIUM`, then the usual Debian/Ubuntu paths; when none is there and this is a
 * Debian machine run as root (CI), installs the `chromium` package with apt-get (about 18 s with the
 * package lists fetched, on the 2-core dev machine). Anything else exits 1 with the reason, so a test
 * that needs a browser fails loudly instead of passing without one.
 *   node scripts/chromium.mjs            → /usr/bin/chromium
 */
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const knownPaths = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"]
const aptGetPath = "/usr/bin/apt-get"

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
  // apt's own output goes to stderr: stdout carries the path only.
  const options = { stdio: ["ignore", process.stderr, process.stderr], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }
  console.error("chromium: not found, installing the Debian package (apt-get install -y chromium)")
  execFileSync(aptGetPath, ["update", "-qq"], options)
  execFileSync(aptGetPath, ["install", "-y", "-qq", "chromium"], options)
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
