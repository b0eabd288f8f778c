/**
 * The background jobs' list: one entry per job, each enabled and paced as the server's settings say. A real server
 * and virtual mode both start every enabled entry once (Server.ts `sweepers`, simulator/Virtual.ts).
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { backgroundJobs } from "./Background.js"
import type { BackgroundSettings } from "./Background.js"
import { defaultIssuanceSettings } from "../Settings/Issuance.js"
import { defaultSweeperSettings } from "../Settings/Sweepers.js"
import { defaultUpstreamSettings } from "../Settings/Upstream.js"
import { defaultSimulatedGatewaySettings } from "../Simulated/Settings.js"

const defaultSettings: BackgroundSettings = {
  ...defaultSweeperSettings, issuance: defaultIssuanceSettings.issuance, upstreamSync: defaultUpstreamSettings.upstreamSync,
  simulatedGatewayCallbackIntervalMs: defaultSimulatedGatewaySettings.simulatedGatewayCallbackIntervalMs
}

const job = (name: string) => {
  const found = backgroundJobs.find((candidate) => candidate.name === name)
  assert.ok(found, `no background job named ${name}; the list has ${backgroundJobs.map((entry) => entry.name).join(", ")}`)
  return found
}

describe("background jobs", () => {
  test("each job is listed once", () => {
    const names = backgroundJobs.map((entry) => entry.name)
    assert.deepEqual([...new Set(names)], names)
  })

  test("each job's interval is the server setting named for it", () => {
    const settings = { ...defaultSettings, outboxSweepIntervalMs: 11, holdSweepIntervalMs: 12, deliverySweepIntervalMs: 13, gatewayReconcileIntervalMs: 14,
      pendingTransferSweepIntervalMs: 15, simulatedGatewayCallbackIntervalMs: 16, upstreamPushIntervalMs: 17 }
    assert.deepEqual(Object.fromEntries(backgroundJobs.map((entry) => [entry.name, entry.intervalMs(settings)])), {
      "outbox-sweep": 11, "hold-expiry": 12, "delivery-sweep": 13, "gateway-reconcile": 14, "void-timed-out-reservations": 15,
      "simulated-gateway-callbacks": 16, "upstream-push": 17
    })
  })

  test("the upstream push runs only with upstream sync on; the others always", () => {
    const enabled = (upstreamSync: boolean) => backgroundJobs.filter((entry) => entry.enabled({ ...defaultSettings, upstreamSync })).map((entry) => entry.name)
    assert.equal(enabled(false).includes("upstream-push"), false)
    assert.deepEqual(enabled(true), backgroundJobs.map((entry) => entry.name))
  })

  test("the outbox sweep keeps its interval when it is the only issuer (issuance worker), and backs off otherwise", () => {
    assert.equal(job("outbox-sweep").idlePace({ ...defaultSettings, issuance: "worker" }), "fixed")
    assert.equal(job("outbox-sweep").idlePace({ ...defaultSettings, issuance: "inline" }), "doubling")
    for (const name of ["gateway-reconcile", "void-timed-out-reservations", "simulated-gateway-callbacks"]) assert.equal(job(name).idlePace(defaultSettings), "gateway")
  })
})
