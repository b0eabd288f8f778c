/**
 * `chunyun serve --workers N`: N server processes sharing one port (node:cluster hands each accepted
 * connection to a worker) over one PostgreSQL database. The workers are stateless: every order, seat and
 * ledger row is in the store, where PostgreSQL's transactions keep two workers from selling one seat.
 *
 * The primary serves nothing itself. It prints one "listening on" line once every worker serves (so a
 * harness that waits for the line finds all of them ready), relays the real-mode clock jumps to every worker
 * and acknowledges once all have taken them, stops the workers on SIGTERM/SIGINT, and stops the whole group
 * when a worker dies unexpectedly: a load test must not go on against fewer servers than it says.
 */
import cluster from "node:cluster"
import type { Worker } from "node:cluster"
import type { ClockJump } from "./scaledClock.js"

/** most workers one `serve` starts */
export const maxServeWorkers = 64
/** how long workers have to exit after SIGTERM before they are killed */
export const workerStopTimeoutMs = 10_000

export const isClusterWorker = () => cluster.isWorker

interface WorkerServing { readonly type: "chunyun-worker-serving"; readonly port: number }

/**
 * A worker tells its primary it answers requests. Not cluster's "listening" event: the socket listens before
 * the API's handler is attached, and a connection accepted in between hangs unanswered.
 */
export const announceWorkerServing = (address: { readonly _tag: string; readonly port?: number }) => {
  const serving: WorkerServing = { type: "chunyun-worker-serving", port: address.port ?? 0 }
  process.send?.(serving)
}

/**
 * Fork `count` workers running this same command line, with `environment` added to theirs (the secrets every
 * worker must share); resolves never (the process exits with the group).
 */
export const runWorkerPrimary = (count: number, host: string, environment: Readonly<Record<string, string>> = {}) => {
  const workers: Array<Worker> = []
  let serving = 0
  let stopping = false
  const stop = (exitCode: number) => {
    if (stopping) return
    stopping = true
    const killer = setTimeout(() => { for (const worker of workers) worker.process.kill("SIGKILL") }, workerStopTimeoutMs)
    killer.unref()
    let alive = workers.filter((worker) => !worker.isDead()).length
    if (alive === 0) process.exit(exitCode)
    cluster.on("exit", () => { if (--alive === 0) process.exit(exitCode) })
    for (const worker of workers) if (!worker.isDead()) worker.process.kill("SIGTERM")
  }
  for (let index = 0; index < count; index++) {
    const worker = cluster.fork({ ...environment, CHUNYUN_WORKER_INDEX: String(index) })
    workers.push(worker)
    worker.on("message", (message: Partial<WorkerServing>) => {
      if (message?.type !== "chunyun-worker-serving") return
      if (++serving === count) console.log(`chunyun: ${count} workers listening on http://${host}:${message.port}`)
    })
    worker.once("exit", (code, signal) => {
      if (stopping) return
      console.error(`chunyun: worker ${index} (pid ${worker.process.pid}) exited (${signal ?? `code ${code}`}); stopping the other workers`)
      stop(1)
    })
  }
  relayClockJumps(workers)
  process.on("SIGTERM", () => stop(0))
  process.on("SIGINT", () => stop(0))
}

/** A jump of the scaled clock goes to every worker; the harness hears back once all of them have it. */
const relayClockJumps = (workers: ReadonlyArray<Worker>) => {
  const acknowledged = new Map<Worker, number>()
  for (const worker of workers) {
    worker.on("message", (message: { type?: string; offsetMs?: number }) => {
      if (message?.type !== "clock-offset-ack") return
      acknowledged.set(worker, Math.max(acknowledged.get(worker) ?? -1, message.offsetMs ?? -1))
      const slowest = Math.min(...workers.map((each) => acknowledged.get(each) ?? -1))
      if (slowest >= 0) process.send?.({ type: "clock-offset-ack", offsetMs: slowest })
    })
  }
  process.on("message", (message: ClockJump) => {
    if (message?.type !== "clock-offset") return
    for (const worker of workers) worker.send(message)
  })
}
