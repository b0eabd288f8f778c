/**
 * The outside-load reading: parsing /proc, the run's own process tree, and on Linux a real busy process
 * outside the tree (reparented to init) read as outside load while the same work inside the tree is not.
 */
import assert from "node:assert/strict"
import { spawn, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { describe, test } from "node:test"
import { maxLoadedReruns, measureQuietly, outsideCpuShare, ownProcessTicks, parseProcessStat, parseProcStat, sampleCpuTicks } from "./HostLoad.js"
import type { CpuTicks, HostProbe, LoadEvent, ProcessStat } from "./HostLoad.js"

/** how long the busy processes of the live tests spin */
const busyMs = 1_500
const hasProc = existsSync("/proc/stat")

describe("host load parsing", () => {
  test("/proc/stat: busy counts user, nice, system, irq, softirq and steal; idle and iowait are not busy", () => {
    assert.deepEqual(parseProcStat("cpu  100 5 20 800 10 1 2 3 0 0\ncpu0 50 2 10 400 5 0 1 1 0 0\n"), { busy: 131, total: 941 })
    assert.throws(() => parseProcStat("intr 1 2 3\n"), /no cpu line/)
  })

  test("/proc/<pid>/stat: a command holding spaces and parentheses, ticks and children's ticks", () => {
    const stat = parseProcessStat("4072 (node (worker) 1) S 4071 4072 4072 0 -1 4194560 3910 535999 0 126 7 2 5533 466 20 0 1 0 6599\n")
    assert.deepEqual(stat, { pid: 4072, parent: 4071, command: "node (worker) 1", ticks: 9, childTicks: 5999 })
    assert.equal(parseProcessStat("garbage"), undefined)
    assert.equal(parseProcessStat("12 (x) S"), undefined)
  })

  test("own ticks: the tree under the root with the children it waited for, and named commands with theirs", () => {
    const stat = (pid: number, parent: number, command: string, ticks: number, childTicks = 0): ProcessStat => ({ pid, parent, command, ticks, childTicks })
    const processes = [
      stat(1, 0, "init", 1_000), stat(10, 1, "node", 100, 40), stat(11, 10, "chunyun serve", 50), stat(12, 11, "worker", 25),
      stat(20, 1, "postgres", 70, 30), stat(21, 20, "postgres", 7), stat(30, 1, "other", 900)
    ]
    assert.equal(ownProcessTicks(processes, 10), 215)
    assert.equal(ownProcessTicks(processes, 10, ["postgres"]), 322)
  })

  test("outside share: the machine's busy ticks less the run's own, over every core's ticks, clamped to 0..1", () => {
    assert.equal(outsideCpuShare({ busy: 100, total: 1_000, own: 50 }, { busy: 400, total: 2_000, own: 150 }), 0.2)
    assert.equal(outsideCpuShare({ busy: 100, total: 1_000, own: 50 }, { busy: 150, total: 2_000, own: 150 }), 0)
    assert.equal(outsideCpuShare(undefined, { busy: 1, total: 2, own: 0 }), undefined)
    assert.equal(outsideCpuShare({ busy: 1, total: 2, own: 0 }, { busy: 1, total: 2, own: 0 }), undefined)
  })
})

/**
 * A probe whose runs read the given outside shares in turn (each run: 1,000 ticks of machine, the share of
 * them busy outside), and whose quiet checks read `quietShares` in turn (a probe each).
 */
const scriptedHost = (runShares: ReadonlyArray<number>, quietShares: ReadonlyArray<number> = []) => {
  let ticks: CpuTicks = { busy: 0, total: 0, own: 0 }
  let samples = 0
  const quietCalls: Array<string> = []
  const host: HostProbe = {
    sample: (alsoOwn) => {
      quietCalls.push(`sample ${alsoOwn.join(",")}`)
      // every second sample closes a run: the outside share of that run is the next scripted one
      if (samples++ % 2 === 1) {
        const share = runShares[Math.floor(samples / 2) - 1] ?? 0
        ticks = { busy: ticks.busy + 1_000 * share + 300, total: ticks.total + 1_000, own: ticks.own + 300 }
      }
      return ticks
    },
    waitForQuiet: async (maxShare) => {
      const probes = quietShares.length === 0 ? 1 : quietShares.length
      quietCalls.push(`quiet ${maxShare}`)
      return { share: quietShares.at(-1) ?? 0, probes, waitedMs: probes * 2_000 }
    }
  }
  return { host, calls: quietCalls }
}

describe("measuring a run quietly", () => {
  test("a quiet wall-clock run: one quiet check, one run, its share kept", async () => {
    const { host, calls } = scriptedHost([0.02])
    let runs = 0
    const measured = await measureQuietly(async () => ++runs, { wallClock: true, maxShare: 0.1, alsoOwn: ["postgres"], host })
    assert.equal(runs, 1)
    assert.equal(measured.value, 1)
    assert.ok(Math.abs(measured.share! - 0.02) < 1e-9)
    assert.equal(measured.underOutsideLoad, false)
    assert.deepEqual(calls, ["quiet 0.1", "sample postgres", "sample postgres"])
  })

  test("a loaded run runs again after a quiet check; the second reading is kept", async () => {
    const { host } = scriptedHost([0.4, 0.03])
    const events: Array<LoadEvent> = []
    let runs = 0
    const measured = await measureQuietly(async () => ++runs, { wallClock: true, maxShare: 0.1, host, onLoad: (event) => events.push(event) })
    assert.equal(runs, 2)
    assert.equal(measured.value, 2)
    assert.equal(measured.underOutsideLoad, false)
    assert.deepEqual(events, [{ kind: "loaded", share: 0.4, rerun: true }])
  })

  test("still loaded after its re-runs: flagged; the wait for quiet is reported when it took more than one probe", async () => {
    const { host } = scriptedHost([0.4, 0.5], [0.6, 0.3, 0.25])
    const events: Array<LoadEvent> = []
    let runs = 0
    const measured = await measureQuietly(async () => ++runs, { wallClock: true, maxShare: 0.1, host, onLoad: (event) => events.push(event) })
    assert.equal(runs, 1 + maxLoadedReruns)
    assert.equal(measured.underOutsideLoad, true)
    assert.equal(measured.share, 0.5)
    assert.deepEqual(events.filter((event) => event.kind === "loaded"), [{ kind: "loaded", share: 0.4, rerun: true }, { kind: "loaded", share: 0.5, rerun: false }])
    assert.deepEqual(events.filter((event) => event.kind === "waited"), [
      { kind: "waited", waitedMs: 6_000, share: 0.25 }, { kind: "waited", waitedMs: 6_000, share: 0.25 }
    ])
  })

  test("a virtual run does not depend on the machine: no quiet check, no re-run, never flagged", async () => {
    const { host, calls } = scriptedHost([0.9])
    let runs = 0
    const measured = await measureQuietly(async () => ++runs, { wallClock: false, maxShare: 0.1, host })
    assert.equal(runs, 1)
    assert.equal(measured.share, 0.9)
    assert.equal(measured.underOutsideLoad, false)
    assert.equal(calls.filter((call) => call.startsWith("quiet")).length, 0)
  })
})

const busyScript = `const end = Date.now() + ${busyMs}; while (Date.now() < end) {}`
/** CPU the run's own child burns: by its own CPU clock, so a loaded machine makes it take longer, not less */
const childCpuMs = 1_000
const cpuBusyScript = `while (process.cpuUsage().user < ${childCpuMs * 1000}) {}`

describe("host load on this machine", { skip: hasProc ? false : "no /proc" }, () => {
  test("a busy process outside the run's tree is outside load; the run's own busy child is not", async () => {
    // the shell starts the loop in the background and exits at once: the loop is reparented away from us
    const start = sampleCpuTicks()
    const orphaned = spawnSync("sh", ["-c", `"${process.execPath}" -e '${busyScript}' >/dev/null 2>&1 &`])
    assert.equal(orphaned.status, 0)
    await new Promise((resolve) => setTimeout(resolve, busyMs + 300))
    const share = outsideCpuShare(start, sampleCpuTicks())!
    // one core of the machine's cores kept busy by something outside the tree
    const cores = (await import("node:os")).availableParallelism()
    assert.ok(share >= 0.6 / cores, `outside share ${share} with one busy core of ${cores}`)

    const ownStart = sampleCpuTicks()!
    const child = spawn(process.execPath, ["-e", cpuBusyScript], { stdio: "ignore" })
    await new Promise((resolve) => child.on("exit", resolve))
    const ownEnd = sampleCpuTicks()!
    // the child's 1 s of CPU (and its start-up) arrives through our cutime once it was waited for: 100 ticks a second
    assert.ok(ownEnd.own - ownStart.own >= (childCpuMs / 1000) * 100 * 0.95, `own ticks grew by ${ownEnd.own - ownStart.own}`)
  })
})
