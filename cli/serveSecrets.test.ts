/**
 * A served instance's secrets: drawn at start (the admin key in a file only its owner reads, its path printed),
 * or given; never the public constants the in-process tests use.
 */
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"
import { defaultSettings } from "../reference/Config.js"
import { spawnServer } from "../reference/testing/Ops.js"
import type { ChildServer } from "../reference/testing/Ops.js"
import { rawRequest, tagOf } from "../reference/testing/TestServer.js"
import { defaultCliTimeoutMs } from "./testing/chunyun.js"
import { environmentToRun, nodeArgsToRun } from "../simulator/Real.js"
import { testCliEntry } from "../reference/testing/Ops.js"

const cliEntry = testCliEntry
const adminEndpoint = "/admin/gateway"

describe("chunyun serve with no secrets given", () => {
  let directory: string
  let server: ChildServer
  let baseUrl: string
  before(async () => {
    directory = mkdtempSync(join(tmpdir(), "chunyun-secrets-"))
    server = spawnServer(["--db", join(directory, "store.db"), "--password-cost", "256"], null)
    const listening = await server.listening
    assert.ok(listening, `the server did not start: ${server.stderr()}`)
    baseUrl = listening
  })
  after(async () => {
    await server.stop()
    rmSync(directory, { recursive: true, force: true })
  })

  test("refuses the old constant admin key", async () => {
    const answer = await rawRequest(baseUrl, "GET", adminEndpoint, { headers: { "x-admin-key": defaultSettings.adminKey } })
    assert.equal(answer.status, 403, `the public constant administers a served instance: ${answer.status}`)
    assert.equal(tagOf(answer.json), "Forbidden")
  })

  test("writes the key it drew beside the store, readable by its owner only, and says where", async () => {
    const keyFile = join(directory, "store.db.admin-key")
    assert.ok(server.stdout().includes(`admin key written to ${keyFile}`), `stdout: ${server.stdout()}`)
    assert.equal(statSync(keyFile).mode & 0o777, 0o600)
    const adminKey = readFileSync(keyFile, "utf8").trim()
    assert.notEqual(adminKey, defaultSettings.adminKey)
    assert.ok(!server.stdout().includes(adminKey) && !server.stderr().includes(adminKey), "the key itself is not logged")
    const answer = await rawRequest(baseUrl, "GET", adminEndpoint, { headers: { "x-admin-key": adminKey } })
    assert.equal(answer.status, 200)
  })
})

test("a served instance given the harness's secrets answers its key only", async () => {
  const server = spawnServer(["--db", ":memory:", "--password-cost", "256"])
  try {
    const baseUrl = await server.listening
    assert.ok(baseUrl, `the server did not start: ${server.stderr()}`)
    assert.equal((await rawRequest(baseUrl, "GET", adminEndpoint, { headers: { "x-admin-key": server.adminKey! } })).status, 200)
    assert.equal((await rawRequest(baseUrl, "GET", adminEndpoint, { headers: { "x-admin-key": defaultSettings.adminKey } })).status, 403)
  } finally {
    await server.stop()
  }
})

test("serve refuses the public constants as given secrets, with the reason", () => {
  for (const flags of [["--admin-key", defaultSettings.adminKey], ["--gateway-webhook-secret", defaultSettings.gatewayWebhookSecret], ["--admin-key", "short"]]) {
    const result = spawnSync(process.execPath, [...nodeArgsToRun(cliEntry), "serve", "--db", ":memory:", ...flags], { encoding: "utf8", timeout: defaultCliTimeoutMs, env: environmentToRun(cliEntry) })
    assert.equal(result.status, 2, `${flags.join(" ")}: ${result.stderr}`)
    assert.match(result.stderr, flags[1] === "short" ? /at least \d+ characters/ : /public constant/)
  }
})
