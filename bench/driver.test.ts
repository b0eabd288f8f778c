/**
 * The bench driver: an open model never waits for the server (a slow server gets dropped iterations, not a
 * slower schedule), and latency counts from the intended start (a driver that fell behind shows it).
 * Not in `npm test` (bench/ is outside its roots): `node --import tsx --test bench/driver.test.ts`, ~3 s.
 */
import assert from "node:assert/strict"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { test } from "node:test"
import { dispatch, drive, maxFailureMessages, poolFor, Recorder } from "./driver.js"

const withServer = async (delayMs: number, body: (baseUrl: string) => Promise<void>) => {
  const server = createServer((_request, response) => setTimeout(() => response.end("ok"), delayMs))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  try {
    await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

test("open model: iterations beyond maxVus are dropped, the schedule keeps its pace, the run stops by itself", async () => {
  await withServer(200, async (baseUrl) => {
    const pool = poolFor(baseUrl, 10)
    const startMs = performance.now()
    const outcome = await drive({ executor: "constant-arrival-rate", ratePerSecond: 100, durationMs: 1_000, preAllocatedVus: 5, maxVus: 5 },
      async () => { await dispatch(pool, { method: "GET", path: "/" }) })
    await pool.close()
    assert.equal(outcome.iterations + outcome.dropped, 100)
    // 5 VUs × 200 ms answers: at most ~5 per 200 ms start, the rest are dropped
    assert.ok(outcome.iterations <= 35, `started ${outcome.iterations}`)
    assert.ok(outcome.dropped >= 65)
    assert.ok(performance.now() - startMs < 2_000, "no iteration waited for a free VU")
  })
})

test("latency is measured from the intended start: a blocked driver shows the block in its percentiles", async () => {
  await withServer(0, async (baseUrl) => {
    const pool = poolFor(baseUrl, 10)
    const recorder = new Recorder()
    const blockedMs = 200
    let blocked = false
    const outcome = await drive({ executor: "constant-arrival-rate", ratePerSecond: 100, durationMs: 1_000, preAllocatedVus: 100 }, async (intendedMs, index) => {
      if (index === 20 && !blocked) {
        blocked = true
        const until = performance.now() + blockedMs
        while (performance.now() < until) { /* the driver's event loop is busy: later iterations start late */ }
      }
      await dispatch(pool, { method: "GET", path: "/" })
      recorder.record("request", performance.now() - intendedMs)
    })
    await pool.close()
    const summary = recorder.summary("request")
    recorder.destroy()
    assert.equal(outcome.dropped, 0)
    // about 20 iterations were due during the block; the first waited ~200 ms: p90 is far above a loopback answer
    assert.ok(summary.max >= blockedMs * 0.9, `max ${summary.max} ms`)
    assert.ok(summary.p90 >= 50, `p90 ${summary.p90} ms`)
  })
})

test("a failed iteration is counted under its message, in both models, distinct messages up to maxFailureMessages", async () => {
  const failing = async (_intendedMs: number, index: number) => {
    if (index % 3 === 0) throw new Error(`pay: HTTP 409 kind ${index % 2}`)
    if (index % 3 === 1) throw new Error(`hold: HTTP 500 number ${index}`)
  }
  const closed = await drive({ executor: "constant-vus", vus: 2, durationMs: 50 }, failing)
  const open = await drive({ executor: "constant-arrival-rate", ratePerSecond: 200, durationMs: 100, preAllocatedVus: 5, maxVus: 5 }, failing)
  for (const outcome of [closed, open]) {
    const counted = [...outcome.failures.values()].reduce((sum, count) => sum + count, 0)
    assert.ok(outcome.failed > maxFailureMessages, `only ${outcome.failed} failures: the test needs more than the kept messages`)
    assert.ok(outcome.failures.size <= maxFailureMessages)
    assert.ok(outcome.failures.has("pay: HTTP 409 kind 0") && outcome.failures.has("pay: HTTP 409 kind 1"), [...outcome.failures.keys()].join("; "))
    assert.ok(counted <= outcome.failed && counted >= outcome.failures.get("pay: HTTP 409 kind 0")!)
  }
})
