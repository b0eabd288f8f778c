/**
 * How busy the machine was with work that is not the run's own (a design matrix compared rows
 * measured while the test suite shared the cores, and PostgreSQL rows issued 9 of 290 tickets). Real-mode
 * numbers are wall-clock numbers, so a row is only comparable with the others when the machine was quiet.
 *
 * Linux `/proc`: the CPU time of the whole machine (`/proc/stat`) minus the CPU time of the run's own
 * processes — this process and its descendants (the `chunyun serve` children, and through `cutime` the
 * ones that already exited), plus PostgreSQL's processes when the run uses PostgreSQL — is the outside
 * load. It is a share of the machine's capacity over the interval: 0.5 on two cores is one core kept busy
 * by something else. Elsewhere (no `/proc`) the reading is `undefined` and nothing is flagged.
 *
 * This measures the host, not the simulation: nothing here reaches a trace or a virtual clock.
 */
import { readdirSync, readFileSync } from "node:fs"

/** outside load above this share of the machine makes a real-mode row not comparable */
export const defaultMaxOutsideCpuShare = 0.1
/** how long a quiet check samples before a row */
export const quietProbeMs = 2_000
/** how long the matrix waits for the machine to become quiet before a row, at most */
export const quietWaitMaxMs = 60_000
/** a run measured under outside load runs this many more times (after waiting for quiet) before it is flagged */
export const maxLoadedReruns = 1

export interface CpuTicks {
  /** every core's busy ticks (user, nice, system, irq, softirq, steal) */
  readonly busy: number
  /** every core's ticks, busy and idle */
  readonly total: number
  /** ticks of the run's own processes (see `ownProcessTicks`) */
  readonly own: number
}

/** The first line of /proc/stat: `cpu user nice system idle iowait irq softirq steal guest guest_nice`. */
export const parseProcStat = (text: string): { readonly busy: number; readonly total: number } => {
  const line = text.split("\n").find((candidate) => /^cpu\s/.test(candidate))
  if (!line) throw new Error("/proc/stat has no cpu line")
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number)
  // guest time is already counted in user
  const busy = user + nice + system + irq + softirq + steal
  return { busy, total: busy + idle + iowait }
}

export interface ProcessStat {
  readonly pid: number
  readonly parent: number
  readonly command: string
  /** utime + stime */
  readonly ticks: number
  /** cutime + cstime: children it waited for */
  readonly childTicks: number
}

/** `/proc/<pid>/stat`; the command sits in parentheses and may itself hold spaces or parentheses. */
export const parseProcessStat = (text: string): ProcessStat | undefined => {
  const open = text.indexOf("(")
  const close = text.lastIndexOf(")")
  if (open < 0 || close < open) return undefined
  const fields = text.slice(close + 2).trim().split(/\s+/)
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17
  const number = (field: number) => Number(fields[field - 3] ?? Number.NaN)
  const stat = {
    pid: Number(text.slice(0, open).trim()), parent: number(4), command: text.slice(open + 1, close),
    ticks: number(14) + number(15), childTicks: number(16) + number(17)
  }
  return Object.values(stat).some((value) => typeof value === "number" && !Number.isFinite(value)) ? undefined : stat
}

/**
 * The run's own ticks among `processes`: the tree under `rootPid` (each one's own ticks and those of the
 * children it already waited for), and every process whose command is in `alsoOwn` with its children.
 */
export const ownProcessTicks = (processes: ReadonlyArray<ProcessStat>, rootPid: number, alsoOwn: ReadonlyArray<string> = []): number => {
  const byParent = new Map<number, Array<ProcessStat>>()
  for (const stat of processes) byParent.set(stat.parent, [...(byParent.get(stat.parent) ?? []), stat])
  const own = new Set<number>()
  const visit = (pid: number) => {
    if (own.has(pid)) return
    own.add(pid)
    for (const child of byParent.get(pid) ?? []) visit(child.pid)
  }
  visit(rootPid)
  for (const stat of processes) if (alsoOwn.includes(stat.command)) visit(stat.pid)
  return processes.filter((stat) => own.has(stat.pid)).reduce((sum, stat) => sum + stat.ticks + stat.childTicks, 0)
}

const readProcesses = (): Array<ProcessStat> => {
  const processes: Array<ProcessStat> = []
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = parseProcessStat(readFileSync(`/proc/${entry}/stat`, "utf8"))
      if (stat) processes.push(stat)
    } catch {
      // the process ended between the listing and the read
    }
  }
  return processes
}

/** Linux's USER_HZ: the unit of /proc's CPU times (100 on every mainstream architecture) */
export const clockTicksPerSecond = 100

/** CPU milliseconds of the process tree under `rootPid` so far (the exited children it waited for included); undefined without /proc. */
export const processTreeCpuMs = (rootPid: number): number | undefined => {
  try {
    return (ownProcessTicks(readProcesses(), rootPid) * 1_000) / clockTicksPerSecond
  } catch {
    return undefined
  }
}

/** Now's ticks, or undefined without /proc. `alsoOwn`: commands counted as the run's own (e.g. `postgres`). */
export const sampleCpuTicks = (alsoOwn: ReadonlyArray<string> = []): CpuTicks | undefined => {
  try {
    const machine = parseProcStat(readFileSync("/proc/stat", "utf8"))
    return { ...machine, own: ownProcessTicks(readProcesses(), process.pid, alsoOwn) }
  } catch {
    return undefined
  }
}

/** The outside load between two samples, as a share of the machine's capacity (0 to 1). */
export const outsideCpuShare = (start: CpuTicks | undefined, end: CpuTicks | undefined): number | undefined => {
  if (!start || !end || end.total <= start.total) return undefined
  const outside = (end.busy - start.busy) - (end.own - start.own)
  return Math.min(1, Math.max(0, outside / (end.total - start.total)))
}

/** Samples over `durationMs` and returns the outside share (undefined without /proc). */
export const probeOutsideCpuShare = async (durationMs: number, alsoOwn: ReadonlyArray<string> = []): Promise<number | undefined> => {
  const start = sampleCpuTicks(alsoOwn)
  await new Promise((resolve) => setTimeout(resolve, durationMs))
  return outsideCpuShare(start, sampleCpuTicks(alsoOwn))
}

/**
 * Waits until a probe reads at most `maxShare`, probing every `quietProbeMs` for at most `waitMaxMs`.
 * Returns the last reading, how many probes it took and how long it waited.
 */
export const waitForQuiet = async (
  maxShare: number, alsoOwn: ReadonlyArray<string> = [], waitMaxMs = quietWaitMaxMs, probeMs = quietProbeMs
): Promise<{ readonly share: number | undefined; readonly probes: number; readonly waitedMs: number }> => {
  const started = performance.now()
  for (let probes = 1; ; probes++) {
    const share = await probeOutsideCpuShare(probeMs, alsoOwn)
    const waitedMs = performance.now() - started
    if (share === undefined || share <= maxShare || waitedMs + probeMs > waitMaxMs) return { share, probes, waitedMs }
  }
}

/** Where the readings come from: the machine's /proc, or a test's own numbers. */
export interface HostProbe {
  readonly sample: (alsoOwn: ReadonlyArray<string>) => CpuTicks | undefined
  readonly waitForQuiet: (maxShare: number, alsoOwn: ReadonlyArray<string>) => Promise<{ readonly share: number | undefined; readonly probes: number; readonly waitedMs: number }>
}
export const machineProbe: HostProbe = { sample: sampleCpuTicks, waitForQuiet: (maxShare, alsoOwn) => waitForQuiet(maxShare, alsoOwn) }

export type LoadEvent =
  | { readonly kind: "waited"; readonly waitedMs: number; readonly share: number | undefined }
  | { readonly kind: "loaded"; readonly share: number; readonly rerun: boolean }

export interface Measured<A> {
  readonly value: A
  readonly wallDurationMs: number
  /** the outside share while the kept run ran; undefined where it cannot be read */
  readonly share: number | undefined
  /** a wall-clock run still above the limit after its re-runs */
  readonly underOutsideLoad: boolean
}

/**
 * Runs `run` and reads the outside load while it ran. A wall-clock run (`wallClock`) first waits for a
 * quiet machine, and runs again (at most `maxLoadedReruns` times) when it was measured under load; the
 * last run is kept. A virtual run's numbers do not depend on the machine: it is read, never re-run or flagged.
 */
export const measureQuietly = async <A>(run: () => Promise<A>, options: {
  readonly wallClock: boolean
  readonly maxShare: number
  readonly alsoOwn?: ReadonlyArray<string>
  readonly host?: HostProbe
  readonly onLoad?: (event: LoadEvent) => void
}): Promise<Measured<A>> => {
  const host = options.host ?? machineProbe
  const alsoOwn = options.alsoOwn ?? []
  for (let attempt = 0; ; attempt++) {
    if (options.wallClock) {
      const quiet = await host.waitForQuiet(options.maxShare, alsoOwn)
      if (quiet.probes > 1) options.onLoad?.({ kind: "waited", waitedMs: quiet.waitedMs, share: quiet.share })
    }
    const start = host.sample(alsoOwn)
    const wallStart = performance.now()
    const value = await run()
    const wallDurationMs = performance.now() - wallStart
    const share = outsideCpuShare(start, host.sample(alsoOwn))
    const underOutsideLoad = options.wallClock && share !== undefined && share > options.maxShare
    const rerun = underOutsideLoad && attempt < maxLoadedReruns
    if (underOutsideLoad) options.onLoad?.({ kind: "loaded", share: share!, rerun })
    if (!rerun) return { value, wallDurationMs, share, underOutsideLoad }
  }
}
