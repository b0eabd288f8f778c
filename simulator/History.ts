/**
 * The history recorder: every device call and notable event, with its virtual time and actor, in the
 * order it happened. The trace hash is SHA-256 over these lines, so the same scenario + seed + code give
 * the same hash. Credentials and wall-clock times never enter the history.
 *
 * A history keeps its events in memory up to `defaultMaxHistoryEventsInMemory` (or its `HistoryStorage`'s limit);
 * past it, it moves them to a file and appends
 * every later one there as a JSON line, so a run of a million passengers holds no array of every event. Readers
 * (`read`, `readFrom`, `readWithJourneys`) stream the events back in order either way: the metrics, the audits and
 * the history file are folds over that stream.
 */
import { createHash } from "node:crypto"
import { closeSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Clock, Effect, Fiber, FiberRef, Option } from "effect"
import type { HistoryEvent, HistoryKind } from "../devices/HistoryEvents.js"
import type { Recorder } from "../devices/Instruments.js"
import type { JourneyKind } from "../scenarios/Scenario.js"

/**
 * The journey kind of the passenger a fiber works for: set by the runner around each journey kind's preparation and
 * each passenger's journey (simulator/Journeys.ts `prepareRun`), and inherited by the fibers they fork. A device
 * passengers share (a kiosk, a call-centre agent) serves each one on that passenger's fiber, so its calls count for
 * the passenger's journey; a background actor (an attendant's rounds, a gateway's pull loop, a fault) has none.
 */
export const currentJourney = FiberRef.unsafeMake<JourneyKind | undefined>(undefined)

/** The journey of the fiber running now; undefined outside a fiber or on one that works for no passenger. */
const currentFiberJourney = (): JourneyKind | undefined =>
  Option.match(Fiber.getCurrentFiber(), { onNone: () => undefined, onSome: (fiber) => fiber.getFiberRef(currentJourney) })

/** events a history keeps in memory; past this it moves them to a file (about 110 bytes an event there) */
export const defaultMaxHistoryEventsInMemory = 250_000
/** bytes of event lines gathered before one write to the history's file, and read from it at a time */
export const historyFileChunkBytes = 4 * 1024 * 1024

/** Told of each event as it is recorded, with the journey it was recorded for (undefined: a background actor's). */
export type HistoryListener = (event: HistoryEvent, journey: JourneyKind | undefined) => void

/** readers of a history's file that each read on from where they stopped without a re-scan */
const maxResumePoints = 8

/** closes the file of a history nobody holds any more (one not closed with `close`) */
const unclosedFiles = new FinalizationRegistry<number>((fd) => { try { closeSync(fd) } catch { /* already closed */ } })

/** Events appended to a file as JSON lines and read back in order; the file is unlinked once open, so it goes with the process. */
class EventFile {
  private readonly fd: number
  private pending: Array<string> = []
  private pendingBytes = 0
  /** bytes written to the file so far */
  private writtenBytes = 0
  /**
   * where the latest reads stopped (an event's index and its line's byte offset), one per reader that reads on from
   * where it stopped (the progress display's tallies): a read starts at the nearest one before it, not at the start
   */
  private readonly resumePoints: Array<{ index: number; offset: number }> = [{ index: 0, offset: 0 }]

  constructor(private readonly chunkBytes: number) {
    const directory = mkdtempSync(join(tmpdir(), "chunyun-history-"))
    const path = join(directory, "events.jsonl")
    this.fd = openSync(path, "w+")
    unlinkSync(path)
    rmSync(directory, { recursive: true, force: true })
    unclosedFiles.register(this, this.fd, this)
  }

  append(line: string): void {
    this.pending.push(line, "\n")
    this.pendingBytes += line.length + 1
    if (this.pendingBytes >= this.chunkBytes) this.flush()
  }

  private flush(): void {
    if (this.pending.length === 0) return
    this.writtenBytes += writeSync(this.fd, this.pending.join(""), this.writtenBytes)
    this.pending = []
    this.pendingBytes = 0
  }

  /** Each line from event `from` on (0: the first), as far as the file held when reading began. */
  *lines(from: number): Generator<string> {
    this.flush()
    const endBytes = this.writtenBytes
    const start = this.resumePoints.reduce((best, point) => point.index <= from && point.index > best.index ? point : best)
    const point = { index: start.index, offset: start.offset }
    this.resumePoints.push(point)
    if (this.resumePoints.length > maxResumePoints) this.resumePoints.splice(1, 1)
    let index = start.index
    let position = start.offset
    const chunk = Buffer.allocUnsafe(Math.min(this.chunkBytes, Math.max(1, endBytes - position)))
    // a line's bytes are split across chunks at most at a chunk's end; a newline byte (10) is never inside a
    // multi-byte UTF-8 character, so lines are found on the bytes
    let carry = Buffer.alloc(0)
    while (position < endBytes) {
      const read = readSync(this.fd, chunk, 0, Math.min(chunk.length, endBytes - position), position)
      if (read === 0) break
      const bytes = carry.length === 0 ? chunk.subarray(0, read) : Buffer.concat([carry, chunk.subarray(0, read)])
      const bytesStartAt = position - carry.length
      position += read
      let lineStart = 0
      for (let newline = bytes.indexOf(10); newline !== -1; newline = bytes.indexOf(10, lineStart)) {
        const line = bytes.toString("utf8", lineStart, newline)
        lineStart = newline + 1
        index++
        if (index > from) {
          point.index = index
          point.offset = bytesStartAt + lineStart
          yield line
        }
      }
      carry = Buffer.from(bytes.subarray(lineStart))
    }
  }

  close(): void {
    unclosedFiles.unregister(this)
    closeSync(this.fd)
  }
}

/** Each event's JSON line, made as it is read. */
function* linesOf(events: ReadonlyArray<HistoryEvent>): Generator<string> {
  for (const event of events) yield JSON.stringify(event)
}

/** Where a history keeps its events: in memory up to `maxEventsInMemory`, then in a file read and written `fileChunkBytes` at a time. */
export interface HistoryStorage {
  readonly maxEventsInMemory?: number | undefined
  readonly fileChunkBytes?: number | undefined
}

/** The history recorder of a run (the `HistoryRecorder` the modes provide to devices). */
export class History implements Recorder {
  /**
   * `now` stamps events on the scenario's timeline; latencies are always measured with the Clock. `onEvent` is told
   * of each event as it is recorded (`run --out-json` streams the requests from here); it neither changes nor keeps
   * the history, and must not throw. Past `maxEventsInMemory` events the history moves them to a file.
   */
  constructor(
    readonly now: Effect.Effect<number> = Clock.currentTimeMillis,
    private readonly onEvent?: HistoryListener,
    private readonly storage: HistoryStorage = {}
  ) {}

  /** the events while the history holds them in memory; left empty once they moved to `file` */
  private inMemory: Array<HistoryEvent> = []
  private file: EventFile | undefined
  private recorded = 0
  /** running counts by "kind:outcome", for the progress line */
  readonly tally = new Map<string, number>()
  private readonly hash = createHash("sha256")
  /**
   * the journey each event was recorded for, by the event's place in the history: an index into `journeyNames`
   * (0: none). Beside the history, not in its lines, so not in the trace hash.
   */
  private journeyCodes = new Uint8Array(1_024)
  private readonly journeyNames: Array<JourneyKind | undefined> = [undefined]

  /** the events recorded so far */
  get size(): number { return this.recorded }

  /** whether the events have moved to the history's file */
  get onDisk(): boolean { return this.file !== undefined }

  /**
   * Records `event`, for `journey`: by default the journey of the fiber recording it (`currentJourney`), which the
   * history's lines and trace hash leave out.
   */
  add(event: HistoryEvent, journey: JourneyKind | undefined = currentFiberJourney()) {
    const line = JSON.stringify(event)
    this.hash.update(line)
    this.hash.update("\n")
    if (this.file !== undefined) this.file.append(line)
    else {
      this.inMemory.push(event)
      if (this.inMemory.length > (this.storage.maxEventsInMemory ?? defaultMaxHistoryEventsInMemory)) this.moveToFile()
    }
    this.noteJourney(this.recorded++, journey)
    const key = `${event.kind}:${event.outcome}`
    this.tally.set(key, (this.tally.get(key) ?? 0) + 1)
    this.onEvent?.(event, journey)
  }

  private noteJourney(index: number, journey: JourneyKind | undefined): void {
    if (journey === undefined) return
    let code = this.journeyNames.indexOf(journey)
    if (code === -1) code = this.journeyNames.push(journey) - 1
    if (index >= this.journeyCodes.length) {
      const grown = new Uint8Array(this.journeyCodes.length * 2)
      grown.set(this.journeyCodes)
      this.journeyCodes = grown
    }
    this.journeyCodes[index] = code
  }

  private moveToFile(): void {
    const file = new EventFile(this.storage.fileChunkBytes ?? historyFileChunkBytes)
    for (const event of this.inMemory) file.append(JSON.stringify(event))
    this.file = file
    this.inMemory = []
  }

  /** Every event recorded so far, in order: from memory, or streamed from the history's file. */
  read(): Iterable<HistoryEvent> { return this.readFrom(0) }

  /** The events from the `from`-th on (0: the first), as far as the history had recorded when reading began. */
  *readFrom(from: number): Generator<HistoryEvent> {
    if (this.file === undefined) {
      const events = this.inMemory
      const end = events.length
      for (let index = from; index < end; index++) yield events[index]!
      return
    }
    for (const line of this.file.lines(from)) yield JSON.parse(line) as HistoryEvent
  }

  /** Each event with the journey kind it was recorded for (undefined: a background actor's). */
  *readWithJourneys(from = 0): Generator<readonly [HistoryEvent, JourneyKind | undefined]> {
    let index = from
    for (const event of this.readFrom(from)) yield [event, this.journeyNames[this.journeyCodes[index++] ?? 0]]
  }

  /** Every event in one array: for a history small enough to hold (tests, a replay's comparison). */
  toArray(): Array<HistoryEvent> { return Array.from(this.read()) }

  /** The events that pass `keep`, in order: a pass over the history that holds only what it keeps. */
  filter(keep: (event: HistoryEvent) => boolean): Array<HistoryEvent> {
    const kept: Array<HistoryEvent> = []
    for (const event of this.read()) if (keep(event)) kept.push(event)
    return kept
  }

  count(kind: HistoryKind, outcome = "ok"): number { return this.tally.get(`${kind}:${outcome}`) ?? 0 }

  traceHash(): string { return this.hash.copy().digest("hex") }

  /** The history's lines (one JSON event each, each ending in a newline), in chunks of about `historyFileChunkBytes`. */
  *jsonLines(): Generator<string> {
    let chunk: Array<string> = []
    let bytes = 0
    const lines = this.file === undefined ? linesOf(this.inMemory) : this.file.lines(0)
    for (const line of lines) {
      chunk.push(line, "\n")
      bytes += line.length + 1
      if (bytes >= historyFileChunkBytes) { yield chunk.join(""); chunk = []; bytes = 0 }
    }
    if (chunk.length > 0) yield chunk.join("")
  }

  /** The history's lines as one string: for a history small enough to hold twice. */
  toJsonLines(): string { return Array.from(this.jsonLines()).join("") }

  /** Frees the history's file, when it has one; reads find no events after. */
  close(): void {
    this.file?.close()
    this.file = undefined
    this.inMemory = []
  }
}
