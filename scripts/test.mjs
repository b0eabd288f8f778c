/**
 * `npm test`: the whole suite on SQLite and, at the same time, the reference server's suite again on PostgreSQL
 * (one shared suite for every implementation of the store). Each pass is its own `node --test` run with
 * `CHUNYUN_TEST_STORE` set; every test name carries its store (store-reporter.mjs). Exits non-zero when a
 * test fails in either pass. PostgreSQL: `CHUNYUN_TEST_POSTGRES_URL`, default postgres://root@127.0.0.1:5432/test.
 */
import { spawn } from "node:child_process"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { buildCliBundle } from "./cliBundle.mjs"
import { buildTests } from "./testBuild.mjs"

const projectDirectory = dirname(dirname(fileURLToPath(import.meta.url)))
const reporter = join(projectDirectory, "scripts", "store-reporter.mjs")
const testRoots = ["reference", "devices", "simulator", "scenarios", "reports", "cli"]
/** the reference server's own tests: the ones that run against each store */
const storeSuiteRoot = "reference/"

const testFiles = testRoots
  .flatMap((root) => readdirSync(join(projectDirectory, root), { recursive: true }).map((file) => `${root}/${String(file)}`))
  .filter((file) => file.endsWith(".test.ts"))
  .sort()

/**
 * Long checks that repeat what a faster test already asserts: every scenario file run three times at 100 passengers
 * (each scenario's own test already compares two runs' trace hashes). `npm run test:scenarios` runs them.
 */
const slowTestFiles = ["simulator/ScenarioDeterminism.test.ts"]
const defaultFiles = process.env.CHUNYUN_FULL === "1" ? testFiles : testFiles.filter((file) => !slowTestFiles.includes(file))

/**
 * The files that took longest (measured in a whole `npm test` on two cores, longest first) start first, the rest
 * follow in name order: started last, a two-minute file would run alone at the end of its pass.
 */
const longestFirst = [
  "simulator/Mutation.test.ts", "cli/main.test.ts", "simulator/Load.test.ts", "simulator/Determinism.test.ts",
  "reference/OpenApiFuzz.test.ts", "simulator/CrashMidRush.test.ts", "simulator/journeys/GatewayScenarios.test.ts",
  "cli/serveWorkers.test.ts", "cli/target.test.ts", "reports/html.browser.test.ts", "reference/Crash.test.ts", "simulator/RealCrash.test.ts",
  "simulator/journeys/SmsBooking.test.ts", "simulator/journeys/Kiosk.test.ts", "simulator/Replay.test.ts",
  "reference/customers/Customers.test.ts", "reference/operations/Backup.test.ts", "reference/AccessControl.test.ts", "reference/payments/Accounts.test.ts"
]
const startOrder = (file) => {
  const rank = longestFirst.indexOf(file)
  return rank === -1 ? longestFirst.length : rank
}
const inStartOrder = (files) => [...files].sort((a, b) => startOrder(a) - startOrder(b) || a.localeCompare(b))

// The SQLite pass runs three files at a time beside the PostgreSQL pass: on two cores the suite is nearly
// CPU-bound, but its files also wait (on child processes, on a browser, on timers): with two at a time the
// cores were busy 83 % of the wall time, and one file at a time left a core idle once PostgreSQL's pass was done.
// The PostgreSQL pass runs two at a time (each test has a schema of its own): one at a time it was the long pole,
// a file waiting on the database while the SQLite pass had finished.
const passes = [
  { store: "sqlite", files: inStartOrder(defaultFiles), concurrency: 3 },
  { store: "postgres", files: inStartOrder(defaultFiles.filter((file) => file.startsWith(storeSuiteRoot))), concurrency: 2, withoutCoverage: true }
]

/**
 * Under c8 every process writes V8's coverage (NODE_V8_COVERAGE), which costs a test about 30 % more CPU. The
 * coverage figure is the SQLite pass's: the PostgreSQL pass runs the same tests of the same code without it (its
 * PostgreSQL-only lines are not counted), and the typecheck runs beside the tests without it.
 */
const { NODE_V8_COVERAGE: _coverage, ...environmentWithoutCoverage } = process.env

/** Runs one pass, echoing its output; resolves with its exit code, wall time and the counts its summary printed. */
const runPass = ({ store, files, concurrency, withoutCoverage = false }) => new Promise((resolve, reject) => {
  const startedMs = performance.now()
  const child = spawn(process.execPath, [
    "--enable-source-maps", "--test", `--test-concurrency=${concurrency}`, `--test-reporter=${reporter}`, "--test-reporter-destination=stdout",
    ...files.map((file) => compiledTestFiles.get(file))
  ], { cwd: projectDirectory, env: { ...(withoutCoverage ? environmentWithoutCoverage : process.env), CHUNYUN_TEST_STORE: store, CHUNYUN_CLI_BUNDLE: cliBundle }, stdio: ["ignore", "pipe", "inherit"] })
  const counts = {}
  let pending = ""
  child.stdout.setEncoding("utf8").on("data", (chunk) => {
    const lines = (pending + chunk).split("\n")
    pending = lines.pop() ?? ""
    // whole lines only: the two passes print at the same time
    if (lines.length > 0) process.stdout.write(lines.join("\n") + "\n")
    for (const line of lines) {
      const summary = /^# \[\w+\] (tests|pass|fail|cancelled|skipped|todo) (\d+)$/.exec(line)
      if (summary) counts[summary[1]] = Number(summary[2])
    }
  })
  child.on("error", reject)
  child.on("close", (code, signal) => {
    if (pending) process.stdout.write(pending + "\n")
    resolve({ store, files: files.length, code: code ?? signal, wallSeconds: (performance.now() - startedMs) / 1000, counts })
  })
})

// The test files run compiled (scripts/testBuild.mjs): about 1 s of CPU per test process to load instead of 3.5
// through tsx. The servers and commands the tests start run from one bundled file (scripts/cliBundle.mjs): about
// 1 s of CPU to load instead of 5 through tsx, for a few hundred processes.
const compiledTestFiles = await buildTests(defaultFiles)
const cliBundle = buildCliBundle()

/** `tsc --noEmit`, its errors printed; resolves with its exit code. */
const typecheck = () => new Promise((resolve, reject) => {
  const child = spawn(process.execPath, [join(projectDirectory, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", projectDirectory], {
    cwd: projectDirectory, env: environmentWithoutCoverage, stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout.setEncoding("utf8").on("data", (chunk) => { output += chunk })
  child.stderr.setEncoding("utf8").on("data", (chunk) => { output += chunk })
  child.on("error", reject)
  child.on("close", (code, signal) => {
    if (output) process.stdout.write(`\ntypecheck (tsc --noEmit):\n${output}\n`)
    resolve(code ?? signal)
  })
})

// The passes run side by side, and the typecheck beside them: the PostgreSQL pass waits on the database much of
// the time, so on two cores the whole suite takes little more than its longer pass.
const [typecheckCode, ...results] = await Promise.all([typecheck(), ...passes.map(runPass)])

console.log("\nstore      files  tests   pass   fail  cancelled  skipped  wall s  exit")
for (const result of results) {
  const { tests = "?", pass = "?", fail = "?", cancelled = "?", skipped = "?" } = result.counts
  console.log([
    result.store.padEnd(9), String(result.files).padStart(6), String(tests).padStart(6), String(pass).padStart(6),
    String(fail).padStart(6), String(cancelled).padStart(10), String(skipped).padStart(8),
    result.wallSeconds.toFixed(1).padStart(7), String(result.code).padStart(5)
  ].join(" "))
}
// Under c8, every process wrote its coverage to NODE_V8_COVERAGE: every script it ran (node's own, every package's)
// and, for each, its source map. c8's report merges and converts all of them before it drops what is not the
// project's (--exclude-after-remap: the compiled tests only map to the project's sources once remapped), about 40 s
// of one core after a whole run. Each file is cut to the project's scripts first (its own files and the compiled
// tests; the CLI bundle's processes run without coverage: simulator/Real.ts `environmentToRun`), and a source map to
// its first copy: c8 keeps one map per script for all processes anyway. tsx's scoped loader gives a TypeScript file
// outside a module package (the scenario files tests write to a temporary folder) a `data:` URL, which c8's report
// cannot turn into a path: those go too.
const coverageDirectory = process.env.NODE_V8_COVERAGE
if (coverageDirectory) {
  const projectUrl = pathToFileURL(projectDirectory).href + "/"
  const isProjectScript = (url) => url.startsWith(projectUrl) && !url.includes("/node_modules/")
  const mapsWritten = new Set()
  for (const name of readdirSync(coverageDirectory).filter((file) => file.endsWith(".json"))) {
    const path = join(coverageDirectory, name)
    const coverage = JSON.parse(readFileSync(path, "utf8"))
    coverage.result = (coverage.result ?? []).filter((script) => isProjectScript(script.url))
    const cache = coverage["source-map-cache"] ?? {}
    coverage["source-map-cache"] = Object.fromEntries(Object.entries(cache).filter(([url]) => {
      if (!isProjectScript(url) || mapsWritten.has(url)) return false
      mapsWritten.add(url)
      return true
    }))
    writeFileSync(path, JSON.stringify(coverage))
  }
}

// The store prefix changes the runner's own closing lines; CI reads this plain total instead.
const total = (key) => results.reduce((sum, result) => sum + (result.counts[key] ?? 0), 0)
const skipped = total("skipped") + total("todo")
console.log(`tests: ${total("pass")} passed, ${total("fail") + total("cancelled")} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`)
console.log(`typecheck: ${typecheckCode === 0 ? "no errors" : `failed (tsc exit ${typecheckCode})`}`)
process.exit(typecheckCode === 0 && results.every((result) => result.code === 0) ? 0 : 1)
