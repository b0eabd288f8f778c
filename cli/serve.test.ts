/**
 * `chunyun serve` as a person exploring it runs it: a line per request on stdout unless `--quiet`, which every
 * server the harness starts is given; a scenario's catalog loaded at start with `--seed-catalog`, and a file that
 * does not load refused as every command refuses it.
 */
import assert from "node:assert/strict"
import { once } from "node:events"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"
import { chunyun, describeResult, projectDirectory } from "./testing/chunyun.js"
import { spawnServer, testCliEntry } from "../reference/testing/Ops.js"
import type { ChildServer } from "../reference/testing/Ops.js"
import { rawRequest, waitUntil } from "../reference/testing/TestServer.js"
import { serveCommandLine, serverSemiSpaceMb } from "../simulator/Real.js"

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

const springFestival = join(projectDirectory, "scenarios", "spring-festival.ts")
const springFestivalRunIds = ["G1-20270128", "G3-20270128", "D311-20270128"]

describe("chunyun serve --seed-catalog, with its request log", () => {
  let server: ChildServer
  let baseUrl: string
  before(async () => {
    server = spawnServer(["--db", ":memory:", "--password-cost", "256", "--seed-catalog", springFestival], undefined, { requestLog: true })
    baseUrl = await started(server)
  })
  after(() => server.stop())

  test("says in one line, before it listens, what it loaded", () => {
    const lines = server.stdout().split("\n")
    const seeded = lines.findIndex((line) => line.startsWith(`chunyun: catalog of ${springFestival} loaded: `))
    assert.ok(seeded !== -1, server.stdout())
    assert.equal(lines[seeded], `chunyun: catalog of ${springFestival} loaded: 3 train runs (${springFestivalRunIds.join(", ")}), 20 gates`)
    assert.ok(seeded < lines.findIndex((line) => /listening on/i.test(line)), server.stdout())
    // the seeding's own requests are that one line, not a line each
    assert.doesNotMatch(server.stdout(), /POST \/admin\//)
  })

  test("the scenario's trains are on sale from the start", async () => {
    const found = await rawRequest(baseUrl, "GET", "/runs?from=BJP&to=AOH&date=2027-01-28")
    assert.equal(found.status, 200, found.text)
    const runIds = (found.json as ReadonlyArray<{ runId: string }>).map((run) => run.runId).sort()
    assert.deepEqual(runIds, ["G1-20270128", "G3-20270128"])
  })

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

test("every server the harness starts is started --quiet, with its larger young generation", () => {
  const commandLine = serveCommandLine(testCliEntry, ["--port", "0"])
  assert.deepEqual(commandLine.slice(commandLine.indexOf("serve"), commandLine.indexOf("serve") + 2), ["serve", "--quiet"])
  assert.ok(commandLine.indexOf(`--max-semi-space-size=${serverSemiSpaceMb}`) < commandLine.indexOf("serve"), commandLine.join(" "))
})

describe("chunyun serve --seed-catalog with a file that does not load", () => {
  let directory: string
  before(() => { directory = mkdtempSync(join(tmpdir(), "chunyun-seed-")) })
  after(() => rmSync(directory, { recursive: true, force: true }))

  test("is refused before serving, naming the file, the path inside it and what was expected (exit 2)", async () => {
    const file = join(directory, "bad-station.ts")
    writeFileSync(file, `import base from ${JSON.stringify(new URL("../scenarios/spring-festival.ts", import.meta.url).href)}
export default { ...base, trains: [{ ...base.trains[0], stops: base.trains[0].stops.map((stop, index) => index === 1 ? { ...stop, station: "tj" } : stop) }] }
`)
    const result = await chunyun(["serve", "--db", ":memory:", "--port", "0", "--seed-catalog", file])
    assert.equal(result.code, 2, describeResult(result))
    assert.match(result.stderr, /^chunyun: invalid scenario\n/, describeResult(result))
    assert.ok(result.stderr.includes(`${file}: at trains[0].stops[1].station: `), describeResult(result))
    assert.doesNotMatch(result.stdout, /listening on|admin key written/i, describeResult(result))
  })
})

test("chunyun help serve shows serve's options only: the admin key, --seed-catalog, --quiet, /health, /docs and /metrics", async () => {
  const result = await chunyun(["help", "serve"])
  assert.equal(result.code, 0, describeResult(result))
  for (const expected of ["--admin-key K", "CHUNYUN_ADMIN_KEY", "mode 0600", "x-admin-key", "--seed-catalog <scenario.ts>", "--quiet", "GET /health", "GET /docs", "GET /metrics"]) {
    assert.ok(result.stdout.includes(expected), `no "${expected}" in:\n${result.stdout}`)
  }
  assert.doesNotMatch(result.stdout, /chunyun (run|matrix|replay) /)
})
