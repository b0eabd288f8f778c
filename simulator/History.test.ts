/**
 * A history moved to its file reads back as it was recorded: every event in order, lines split across the file's
 * chunks and multi-byte text included, for readers that each read on from where they stopped.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Effect } from "effect"
import type { HistoryEvent } from "../devices/HistoryEvents.js"
import { History } from "./History.js"

const eventAt = (index: number): HistoryEvent => ({
  atMs: 1_000 + index, actor: `phone-${index % 7}`, kind: index % 3 === 0 ? "pay" : "hold", outcome: "ok",
  // Chinese names take three bytes a character in the file: a chunk may end inside one
  detail: { orderId: `O${index}`, passengerName: "张伟".repeat(1 + (index % 5)) }
})

const recorded = (count: number, storage: ConstructorParameters<typeof History>[2]) => {
  const history = new History(Effect.succeed(0), undefined, storage)
  const events = Array.from({ length: count }, (_, index) => eventAt(index))
  for (const event of events) history.add(event)
  return { history, events }
}

describe("a history past its memory limit", () => {
  test("moves to its file once past the limit, and reads back every event in order, across 64-byte chunks", () => {
    const { history, events } = recorded(300, { maxEventsInMemory: 10, fileChunkBytes: 64 })
    assert.equal(history.onDisk, true)
    assert.equal(history.size, 300)
    assert.deepEqual(history.toArray(), events)
    assert.deepEqual(Array.from(history.readFrom(297)), events.slice(297))
    assert.equal(history.toJsonLines(), events.map((event) => JSON.stringify(event) + "\n").join(""))
  })

  test("the same trace hash and the same lines as a history kept in memory", () => {
    const onDisk = recorded(200, { maxEventsInMemory: 0, fileChunkBytes: 100 }).history
    const inMemory = recorded(200, {}).history
    assert.equal(inMemory.onDisk, false)
    assert.equal(onDisk.traceHash(), inMemory.traceHash())
    assert.equal(onDisk.toJsonLines(), inMemory.toJsonLines())
  })

  test("readers that each read on from where they stopped, interleaved with new events, each see every event once", () => {
    const history = new History(Effect.succeed(0), undefined, { maxEventsInMemory: 5, fileChunkBytes: 128 })
    const seen: Array<Array<number>> = [[], [], []]
    const read = [0, 0, 0]
    for (let index = 0; index < 120; index++) {
      history.add(eventAt(index))
      const reader = index % 3
      for (const event of history.readFrom(read[reader]!)) { read[reader]!++; seen[reader]!.push(event.atMs - 1_000) }
    }
    for (const [reader, indexes] of seen.entries()) {
      assert.deepEqual(indexes, Array.from({ length: read[reader]! }, (_, index) => index), `reader ${reader} saw each event once, in order`)
    }
  })

  test("each event keeps the journey it was recorded for, in memory and in the file", () => {
    for (const storage of [{}, { maxEventsInMemory: 1, fileChunkBytes: 50 }]) {
      const history = new History(Effect.succeed(0), undefined, storage)
      history.add(eventAt(0), "app")
      history.add(eventAt(1))
      history.add(eventAt(2), "sms")
      assert.deepEqual(Array.from(history.readWithJourneys(), ([event, journey]) => [event.atMs, journey]), [[1_000, "app"], [1_001, undefined], [1_002, "sms"]])
      assert.deepEqual(Array.from(history.readWithJourneys(2), ([, journey]) => journey), ["sms"])
    }
  })
})
