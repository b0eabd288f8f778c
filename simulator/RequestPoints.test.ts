/**
 * `run --out-json`'s writer: a point per request event (answered, or its answer lost), nothing for other events, each
 * metric declared once before its first point, and a file that fails mid-run ends the stream, never the run.
 */
import assert from "node:assert/strict"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, test } from "node:test"
import type { HistoryEvent } from "../devices/HistoryEvents.js"
import { actorKindOf, answeredMetric, lostMetric, RequestPointsFile } from "./RequestPoints.js"

const events: ReadonlyArray<HistoryEvent> = [
  { atMs: Date.parse("2027-01-28T00:00:01.000Z"), actor: "phone-3", kind: "hold", outcome: "ok", durationMs: 12 },
  { atMs: Date.parse("2027-01-28T00:00:02.000Z"), actor: "phone-4", kind: "hold", outcome: "SoldOut", durationMs: 7 },
  { atMs: Date.parse("2027-01-28T00:00:03.000Z"), actor: "phone-3", kind: "pay", outcome: "ResponseLost", detail: { attempt: 0 } },
  { atMs: Date.parse("2027-01-28T00:00:04.000Z"), actor: "phone-4", kind: "gave-up", outcome: "SoldOut" },
  { atMs: Date.parse("2027-01-28T00:00:05.000Z"), actor: "kiosk-K01", kind: "pay-card", outcome: "ok", durationMs: 30 }
]

let directory: string
before(() => { directory = mkdtempSync(join(tmpdir(), "chunyun-points-")) })
after(() => rmSync(directory, { recursive: true, force: true }))

test("one point per request event, each metric declared once before its first point", () => {
  const file = new RequestPointsFile(join(directory, "points.jsonl"))
  for (const event of events) file.record(event, event.actor.startsWith("kiosk") ? undefined : "app")
  assert.deepEqual(file.close(), { points: 4 })
  const lines = readFileSync(file.path, "utf8").trimEnd().split("\n").map((line) => JSON.parse(line) as {
    type: string; metric: string; data: { time: string; value: number; tags: Record<string, string> }
  })
  assert.deepEqual(lines.map((line) => `${line.type} ${line.metric}`), [
    `Metric ${answeredMetric}`, `Point ${answeredMetric}`, `Point ${answeredMetric}`, `Metric ${lostMetric}`, `Point ${lostMetric}`, `Point ${answeredMetric}`
  ])
  assert.deepEqual(lines[1]!.data, {
    time: "2027-01-28T00:00:01.000Z", value: 12, tags: { endpoint: "hold", actor_kind: "phone", journey: "app", outcome: "ok", expected_response: "true" }
  })
  assert.deepEqual(lines[2]!.data.tags, { endpoint: "hold", actor_kind: "phone", journey: "app", outcome: "SoldOut", status: "409", expected_response: "false" })
  assert.equal(lines[4]!.data.value, 1)
  assert.equal(lines[5]!.data.tags["actor_kind"], "kiosk")
  assert.equal(lines[5]!.data.tags["journey"], "background", "a call made for no passenger's journey")
})

test("a file that cannot be written any more ends the stream and says why; recording goes on without throwing", { skip: !existsSync("/dev/full") }, () => {
  const file = new RequestPointsFile("/dev/full")
  for (const event of events) file.record(event, undefined)
  const outcome = file.close()
  assert.equal(outcome.points, 0)
  assert.match(outcome.failure ?? "", /ENOSPC/)
  file.record(events[0]!, "app")
})

test("an actor's kind is its name up to its number", () => {
  assert.deepEqual(["phone-12", "fan-3-friend", "fault-0-client-timeouts", "server"].map(actorKindOf), ["phone", "fan", "fault", "server"])
})
