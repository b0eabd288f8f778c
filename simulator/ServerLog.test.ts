/**
 * The server's log of a run goes to a file beside the report, counted by level: from Effect's logger in an
 * in-process server (virtual mode), and from a server process's output, however its chunks cut the lines (real mode).
 */
import assert from "node:assert/strict"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, test } from "node:test"
import { Effect, Layer, ManagedRuntime } from "effect"
import { ServerLog, serverLogLine } from "./ServerLog.js"
import { VirtualClock } from "./VirtualClock.js"

const directory = mkdtempSync(join(tmpdir(), "chunyun-server-log-"))
after(() => rmSync(directory, { recursive: true, force: true }))

test("Effect's log lines of a runtime given the log's layer go to the file, stamped by the run's clock, and are counted by level", async () => {
  const log = new ServerLog(join(directory, "virtual.log"))
  const clock = new VirtualClock(Date.parse("2027-01-28T08:00:00Z"))
  const runtime = ManagedRuntime.make(Layer.merge(log.layer, Layer.setClock(clock.clock)))
  const printed: Array<unknown> = []
  const console = globalThis.console.log
  globalThis.console.log = (...values: Array<unknown>) => { printed.push(values) }
  try {
    await runtime.runPromise(Effect.gen(function* () {
      yield* Effect.logWarning("offline admission at gate GZS-01 of T1: double")
      yield* Effect.logWarning("offline admission at gate GZS-02 of T2: double")
      yield* Effect.logError("upstream push of order O1 abandoned")
      yield* Effect.logInfo("backup written")
      yield* Effect.logDebug("below the minimum level: not logged")
    }))
  } finally {
    globalThis.console.log = console
    await runtime.dispose()
  }
  log.close()
  assert.deepEqual(printed, [], "nothing reached the console")
  assert.deepEqual(log.counts(), { lines: 4, warnings: 2, errors: 1 })
  const lines = readFileSync(log.path, "utf8").split("\n")
  assert.equal(lines.length, 5)
  assert.match(lines[0]!, /^timestamp=2027-01-28T08:00:00\.000Z level=WARN fiber=#\d+ message="offline admission at gate GZS-01 of T1: double"$/)
  assert.match(lines[2]!, /level=ERROR .*message="upstream push of order O1 abandoned"/)
  assert.equal(serverLogLine(log.counts(), "out/x/server.log"), "server log: 2 warnings, 1 error → out/x/server.log")
})

test("a server process's output is written line by line and counted by its level, however the chunks cut it", () => {
  const log = new ServerLog(join(directory, "real.log"))
  // a `chunyun serve` process logs in the pretty format NodeRuntime.runMain installs
  log.writeOutput("chunyun: admin key written to data/x.admin-key\n[10:50:29.054] INFO (#1): Listening on http://127.0.0.1:4100\n[10:51:00.100] WA")
  log.writeOutput("RN (#9): offline admission at gate GZS-01 of T1: double\n")
  log.writeOutput("timestamp=2027-01-28T08:00:02.000Z level=ERROR fiber=#10 message=\"x\"")
  assert.deepEqual(log.counts(), { lines: 3, warnings: 1, errors: 0 }, "the cut line waits for its end")
  log.close()
  assert.deepEqual(log.counts(), { lines: 4, warnings: 1, errors: 1 }, "closing writes what was left")
  log.writeOutput("a line after the run\n")
  const text = readFileSync(log.path, "utf8")
  assert.match(text, /^chunyun: admin key .*\n\[10:50:29\.054\] INFO \(#1\): Listening .*\n\[10:51:00\.100\] WARN \(#9\): offline admission[^\n]*\ntimestamp=\S+ level=ERROR [^\n]*\n$/)
  assert.equal(serverLogLine({ lines: 0, warnings: 0, errors: 0 }, "server.log"), "server log: 0 warnings, 0 errors → server.log")
})
