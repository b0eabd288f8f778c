/**
 * `chunyun serve` as a person exploring it runs it: a line per request on stdout unless `--quiet`, which every
 * server the harness starts is given.
 */
import assert from "node:assert/strict"
import { once } from "node:events"
import { after, before, describe, test } from "node:test"
import { spawnServer, testCliEntry } from "../reference/testing/Ops.js"
import type { ChildServer } from "../reference/testing/Ops.js"
import { rawRequest, waitUntil } from "../reference/testing/TestServer.js"
import { serveCommandLine } from "../simulator/Real.js"

/** how long a line already written may take to reach the test through the pipe: a bound, not a speed limit */
const pipeDeliveryMs = 30_000

/** `serve` on an in-memory store that has answered its listening line */
const started = async (server: ChildServer) => {
  const baseUrl = await server.listening
  assert.ok(baseUrl, `the server did not start: ${server.stderr()}`)
  return baseUrl
}

/** Everything the server wrote to stdout, once it has exited and the pipe is drained. */
const stdoutAfterStop = async (server: ChildServer) => {
  const stdout = server.process.stdout
  const drained = stdout === null || stdout.readableEnded ? Promise.resolve() : once(stdout, "end")
  await server.stop()
  await drained
  return server.stdout()
}

describe("chunyun serve's request log", () => {
  let server: ChildServer
  let baseUrl: string
  before(async () => {
    server = spawnServer(["--db", ":memory:", "--password-cost", "256"], undefined, { requestLog: true })
    baseUrl = await started(server)
  })
  after(() => server.stop())

  test("writes method, route, status and duration for each request", async () => {
    await rawRequest(baseUrl, "GET", "/health")
    await rawRequest(baseUrl, "GET", "/runs/G1-20270128/seat-map")
    const logged = await waitUntil(async () => /^GET \/runs\/:runId\/seat-map \d{3} \d+\.\d ms$/m.test(server.stdout()), pipeDeliveryMs)
    assert.ok(logged, server.stdout())
    assert.match(server.stdout(), /^GET \/health 200 \d+\.\d ms$/m)
  })
})

test("chunyun serve --quiet writes no line per request", async () => {
  const server = spawnServer(["--db", ":memory:", "--password-cost", "256"])
  const baseUrl = await started(server)
  const answer = await rawRequest(baseUrl, "GET", "/health")
  assert.equal(answer.status, 200)
  const stdout = await stdoutAfterStop(server)
  assert.match(stdout, /listening on/i)
  assert.doesNotMatch(stdout, /GET \/health/)
})

test("every server the harness starts is started --quiet", () => {
  const commandLine = serveCommandLine(testCliEntry, ["--port", "0"])
  assert.deepEqual(commandLine.slice(commandLine.indexOf("serve"), commandLine.indexOf("serve") + 2), ["serve", "--quiet"])
})
