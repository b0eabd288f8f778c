/**
 * QA replay: a recorded run replayed on the same code differs nowhere; replayed on a server with a shorter hold
 * TTL (a test-only setting), the phones whose holds now expire before they pay are reported, call by call. A
 * history file that is not one is refused with its file, line and what was expected.
 */
import assert from "node:assert/strict"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"
import { Schema } from "effect"
import { chunyun, describeResult } from "../cli/testing/chunyun.js"
import { Scenario } from "../scenarios/Scenario.js"
import { compareSessions, HistoryFileError, readHistoryFile, writeHistoryFile, renderReplay, replayCommandsOf, replayHistory } from "./Replay.js"
import type { ReplayResult } from "./Replay.js"
import { smallScenarioInput } from "./testing/smallScenario.js"
import { runVirtual } from "./Virtual.js"

/** few passengers: the replay runs the scenario again, three times here */
const replayPassengerCount = 80
const seed = 5
/** shorter than the phones' think time between hold and payment (0.5–4 s): many holds expire first */
const shortHoldTtlMs = 1_000

const scenario = Schema.decodeUnknownSync(Scenario)({
  ...smallScenarioInput, name: "spring-festival-replay", passengers: { ...smallScenarioInput.passengers, count: replayPassengerCount }
})

let directory: string
let historyFile: string
let same: ReplayResult
let changed: ReplayResult
let progressHeader: ReplayResult["header"] | undefined
const shown: Array<{ final: boolean; nowMs: number; finished: number }> = []

before(async () => {
  directory = mkdtempSync(join(tmpdir(), "chunyun-replay-"))
  historyFile = join(directory, "history.jsonl")
  const outcome = await runVirtual(scenario, seed)
  writeHistoryFile(historyFile, {
    scenarioFile: "simulator/testing/smallScenario.ts", scenario, seed, mode: "virtual", options: { inventory: "conditional", unsafe: false }, codeVersion: "test"
  }, outcome.history)
  same = await replayHistory(historyFile, {
    serverLogPath: join(directory, "server-replay.log"),
    progress: (header) => {
      progressHeader = header
      return (progress, final = false) => { shown.push({ final, nowMs: progress.nowMs, finished: progress.passengers.finished }) }
    }
  })
  changed = await replayHistory(historyFile, { runOptions: { testServerSettings: { holdTtlMs: shortHoldTtlMs } } })
})
after(() => rmSync(directory, { recursive: true, force: true }))

describe("chunyun replay", () => {
  test("the same code replays the recording exactly: no actor differs, the trace is identical", () => {
    assert.equal(same.differences.length, 0, renderReplay(same, "test"))
    assert.equal(same.nowTraceHash, same.header.traceHash)
    assert.ok(same.compared >= replayPassengerCount, `${same.compared} actors compared`)
    assert.match(renderReplay(same, "test"), /\n0 of \d+ actors differ\n$/)
  })

  test("the replay shows its progress as a run does, made from the recording's header, and ends on the final state", () => {
    assert.equal(progressHeader?.scenario.name, scenario.name)
    assert.equal(progressHeader?.seed, seed)
    // offers during the run depend on the machine's speed; the last is the final one, every passenger done
    assert.deepEqual(shown.at(-1), { final: true, nowMs: Math.max(...shown.map((offer) => offer.nowMs)), finished: replayPassengerCount })
    assert.equal(shown.filter((offer) => offer.final).length, 1)
    // the replay's server logged to its own file, which is there whatever it holds
    assert.equal(same.serverLog?.path, join(directory, "server-replay.log"))
    assert.equal(readFileSync(same.serverLog.path, "utf8").split("\n").filter((line) => line !== "").length, same.serverLog.counts.lines)
  })

  test("a shorter hold TTL on the server: the phones whose payment now finds the hold expired are named, recorded vs now", () => {
    assert.ok(changed.differences.length > 0, "no actor differs")
    const expiredNow = changed.differences.filter((difference) => difference.now?.kind === "pay" && difference.now.outcome === "HoldExpired")
    assert.ok(expiredNow.length > 0, renderReplay(changed, "test"))
    for (const difference of expiredNow) {
      assert.equal(difference.recorded?.kind, "pay")
      assert.equal(difference.recorded?.outcome, "ok")
    }
    const text = renderReplay(changed, "test")
    const first = expiredNow[0]!
    assert.ok(text.includes(`${first.actor}: call ${first.index + 1} differs`), text)
    assert.match(text, /\n {2}recorded: @\d\d:\d\d:\d\d\.\d{3} phone-\d+ pay ok key=pay-\d{8} orderId=O[0-9a-f]+/)
    assert.match(text, /\n {2}now: {6}@\d\d:\d\d:\d\d\.\d{3} phone-\d+ pay HoldExpired/)
    assert.match(text, new RegExp(`\\n${changed.differences.length} of ${changed.compared} actors differ\\n$`))
  })

  test("--actor narrows the comparison to the actors named", () => {
    const actor = changed.differences[0]!.actor
    const recorded = readHistoryFile(historyFile).events
    const narrowed = compareSessions(recorded, changed.nowHistory.toArray(), [actor, "phone-0"])
    assert.equal(narrowed.compared, 2)
    assert.deepEqual(narrowed.differences.filter((difference) => difference.actor === actor), [changed.differences[0]])
    assert.equal(compareSessions(recorded, recorded, [actor]).differences.length, 0)
  })
})

/** `chunyun replay <args>` as a user runs it */
const chunyunReplay = (args: ReadonlyArray<string>) => chunyun(["replay", ...args])

describe("the replay command's exit codes", () => {
  test("1 when a recorded answer differs from today's (a pay answer edited in the file), naming the actor; 2 for a bad file", async () => {
    const lines = readFileSync(historyFile, "utf8").trimEnd().split("\n")
    const payIndex = lines.findIndex((line, index) => {
      if (index === 0) return false
      const event = JSON.parse(line) as { kind: string; outcome: string }
      return event.kind === "pay" && event.outcome === "ok"
    })
    const edited = JSON.parse(lines[payIndex]!) as { actor: string }
    lines[payIndex] = JSON.stringify({ ...edited, outcome: "InsufficientFunds", detail: undefined })
    const tampered = join(directory, "tampered.jsonl")
    writeFileSync(tampered, lines.join("\n") + "\n")
    const [differs, bad] = await Promise.all([
      chunyunReplay([tampered, "--actor", edited.actor]),
      chunyunReplay([join(directory, "missing.jsonl")])
    ])
    assert.equal(differs.code, 1, describeResult(differs))
    assert.match(differs.stdout, new RegExp(`\\n${edited.actor}: call \\d+ differs[^\\n]*\\n {2}recorded: @[\\d:.]+ ${edited.actor} pay InsufficientFunds\\n {2}now: {6}@[\\d:.]+ ${edited.actor} pay ok`))
    assert.match(differs.stdout, /\n1 of 1 actors differ\n/)
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /invalid history file\n.*missing\.jsonl: no such history file/)
  })
})

describe("the history file", () => {
  const writeLines = (name: string, lines: ReadonlyArray<string>) => {
    const file = join(directory, name)
    writeFileSync(file, lines.join("\n") + "\n")
    return file
  }
  const refusal = (file: string) => {
    try {
      readHistoryFile(file)
    } catch (error) {
      assert.ok(error instanceof HistoryFileError, String(error))
      return error.message
    }
    return assert.fail("the file was accepted")
  }

  test("its header carries the decoded scenario, seed and options; the events follow, as many as it says", () => {
    const { header, events } = readHistoryFile(historyFile)
    assert.deepEqual(header.scenario, scenario)
    assert.equal(header.seed, seed)
    assert.equal(events.length, header.events)
  })

  test("a bad header, a bad event line, a cut file and a missing actor are refused with the file and line", async () => {
    const [headerLine = "", ...eventLines] = readFileSync(historyFile, "utf8").trimEnd().split("\n")
    const header = JSON.parse(headerLine) as { seed: unknown; scenario: { passengers: { count: unknown } } }
    const badSeed = writeLines("bad-seed.jsonl", [JSON.stringify({ ...header, seed: "five" }), ...eventLines])
    assert.match(refusal(badSeed), /bad-seed\.jsonl:1: the history header .*, at seed: Expected an integer|bad-seed\.jsonl:1: .*seed.*Expected/)
    const badCount = writeLines("bad-count.jsonl", [JSON.stringify({ ...header, scenario: { ...header.scenario, passengers: { ...header.scenario.passengers, count: -1 } } }), ...eventLines])
    assert.match(refusal(badCount), /bad-count\.jsonl:1: .*at scenario\.passengers\.count/)
    const badEvent = writeLines("bad-event.jsonl", [headerLine, eventLines[0]!, `{"atMs":"noon","actor":"phone-1","kind":"hold","outcome":"ok"}`, ...eventLines.slice(2)])
    assert.match(refusal(badEvent), /bad-event\.jsonl:3: a history event, at atMs: Expected number/)
    const notJson = writeLines("not-json.jsonl", [headerLine, "hello", ...eventLines.slice(1)])
    assert.match(refusal(notJson), /not-json\.jsonl:2: expected a history event as one JSON object, got "hello"/)
    const cut = writeLines("cut.jsonl", [headerLine, ...eventLines.slice(0, 10)])
    assert.match(refusal(cut), new RegExp(`cut\\.jsonl:12: expected ${eventLines.length} events \\(the header says so\\), found 10`))
    assert.match(refusal(join(directory, "absent.jsonl")), /absent\.jsonl: no such history file/)
    assert.match(refusal(writeLines("report.jsonl", [`{"scenario":"x"}`])), /report\.jsonl:1: the history header \(format "chunyun-history", version 1\)/)
    await assert.rejects(replayHistory(historyFile, { actors: ["phone-99999"] }), /no events of phone-99999 in this history/)
  })

  test("the replay command lines repeat the run's options and name the actors", () => {
    assert.deepEqual(replayCommandsOf({
      scenarioFile: "scenarios/spring-festival.ts", seed: 42, inventory: "unsafe", unsafe: true, historyFile: "out/my run/history.jsonl"
    }, ["phone-12", "phone-40"]), [
      "npx chunyun run scenarios/spring-festival.ts --seed 42 --inventory unsafe --unsafe",
      "npx chunyun replay 'out/my run/history.jsonl' --actor phone-12 --actor phone-40"
    ])
  })
})
