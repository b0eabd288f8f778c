/**
 * The history file and QA replay. A run writes its history as JSON lines next to report.json: a header line
 * saying what made it (the scenario as it ran, decoded, so a since-edited file cannot fool a replay; the seed,
 * mode, server options and code version), then one event per line. `chunyun replay <file>` runs the same
 * scenario and seed again in virtual mode with the code as it is now and compares, actor by actor, what the
 * devices were answered then and now.
 */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs"
import { relative } from "node:path"
import { Either, ParseResult, Schema } from "effect"
import type { InventoryVariant } from "../reference/Settings/Holds.js"
import { inventoryVariants } from "../reference/Settings/Holds.js"
import type { InvariantResult, Report } from "../reports/Report.js"
import { Scenario } from "../scenarios/Scenario.js"
import { formatEvent } from "./audits/Witness.js"
import type { History } from "./History.js"
import type { HistoryEvent } from "../devices/HistoryEvents.js"
import { HistoryKinds } from "../devices/HistoryEvents.js"
import { runVirtual } from "./Virtual.js"
import type { RunOptions } from "./Virtual.js"
import type { RunProgress } from "./Progress.js"
import { ServerLog } from "./ServerLog.js"
import type { ServerLogCounts } from "./ServerLog.js"
import { HarnessError } from "../reports/HarnessError.js"

export const historyFormat = "chunyun-history"
export const historyFormatVersion = 1
export const historyFileName = "history.jsonl"
/** where `chunyun replay` writes its server's log: beside the history it replays */
export const replayServerLogFileName = "server-replay.log"

export const HistoryHeader = Schema.Struct({
  format: Schema.Literal(historyFormat),
  version: Schema.Literal(historyFormatVersion),
  /** the scenario file as it was named on the command line (for the reader; the replay uses `scenario`) */
  scenarioFile: Schema.String,
  scenario: Scenario,
  seed: Schema.Int,
  mode: Schema.Literal("virtual", "real"),
  options: Schema.Struct({ inventory: Schema.Literal(...inventoryVariants), unsafe: Schema.Boolean }),
  codeVersion: Schema.String,
  traceHash: Schema.String,
  /** how many event lines follow: a cut file is refused rather than compared */
  events: Schema.Int
})
export type HistoryHeader = typeof HistoryHeader.Type

const DetailValue = Schema.Union(Schema.String, Schema.Number, Schema.Boolean, Schema.Null)
export const HistoryEventSchema = Schema.Struct({
  atMs: Schema.Number,
  actor: Schema.String,
  kind: Schema.Literal(...HistoryKinds),
  outcome: Schema.String,
  durationMs: Schema.optionalWith(Schema.Number, { exact: true }),
  detail: Schema.optionalWith(Schema.Record({ key: Schema.String, value: DetailValue }), { exact: true })
})

export class HistoryFileError extends HarnessError("HistoryFileError") {}

/** Writes the history file: the header, then the events in the order they happened (the lines the trace hash covers). */
export const writeHistoryFile = (path: string, header: Omit<HistoryHeader, "format" | "version" | "traceHash" | "events">, history: History) => {
  const full: HistoryHeader = {
    format: historyFormat, version: historyFormatVersion, ...header, traceHash: history.traceHash(), events: history.size
  }
  const fd = openSync(path, "w")
  try {
    writeSync(fd, JSON.stringify(Schema.encodeSync(HistoryHeader)(full)) + "\n")
    for (const chunk of history.jsonLines()) writeSync(fd, chunk)
  } finally {
    closeSync(fd)
  }
}

const formatPath = (path: ReadonlyArray<PropertyKey>) => path.length === 0 ? "(the line)" : path.map(String).join(".")

const decodeLine = <A, I>(schema: Schema.Schema<A, I>, file: string, lineNumber: number, text: string, what: string): A => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new HistoryFileError(`${file}:${lineNumber}: expected ${what} as one JSON object, got ${JSON.stringify(text.slice(0, 60))}`)
  }
  const decoded = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(value)
  if (Either.isRight(decoded)) return decoded.right
  const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
  throw new HistoryFileError(issues.map((issue) => `${file}:${lineNumber}: ${what}, at ${formatPath(issue.path)}: ${issue.message}`).join("\n"))
}

/** Reads a history file; every failure names the file, the line and what was expected there. */
export const readHistoryFile = (file: string): { header: HistoryHeader; events: ReadonlyArray<HistoryEvent> } => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (error) {
    const code = error instanceof Error && "code" in error ? String(error.code) : ""
    throw new HistoryFileError(code === "ENOENT" ? `${file}: no such history file` : `${file}: cannot be read: ${error instanceof Error ? error.message : String(error)}`)
  }
  const lines = text.split("\n")
  if (lines.at(-1) === "") lines.pop()
  if (lines.length === 0) throw new HistoryFileError(`${file}:1: expected the history header (the first line of a history.jsonl a run writes), got an empty file`)
  const header = decodeLine(HistoryHeader, file, 1, lines[0]!, `the history header (format "${historyFormat}", version ${historyFormatVersion})`)
  const events = lines.slice(1).map((line, index) => decodeLine(HistoryEventSchema, file, index + 2, line, "a history event"))
  if (events.length !== header.events) {
    throw new HistoryFileError(`${file}:${lines.length + 1}: expected ${header.events} events (the header says so), found ${events.length}: the file is cut or was edited`)
  }
  return { header, events }
}

/**
 * What a call's answer was, in a form that survives a change elsewhere in the run: times (`…Ms`) are left out
 * (they are not answers), and IDs (`…Id`) become their order of first mention in the actor's session (`#1`),
 * since one more or one fewer ID drawn by the server renames every later one without changing any answer.
 */
const canonicalSteps = (events: ReadonlyArray<HistoryEvent>) => {
  const aliases = new Map<string, string>()
  return events.map((event) => {
    const detail = Object.entries(event.detail ?? {}).filter(([key]) => !key.endsWith("Ms")).map(([key, value]) => {
      if (!key.endsWith("Id") || typeof value !== "string") return `${key}=${value}`
      if (!aliases.has(value)) aliases.set(value, `#${aliases.size + 1}`)
      return `${key}=${aliases.get(value)}`
    })
    return [event.kind, event.outcome, ...detail].join(" ")
  })
}

const byActor = (events: ReadonlyArray<HistoryEvent>) => {
  const actors = new Map<string, Array<HistoryEvent>>()
  for (const event of events) {
    const own = actors.get(event.actor)
    if (own) own.push(event)
    else actors.set(event.actor, [event])
  }
  return actors
}

export interface ActorDifference {
  readonly actor: string
  /** position (from 0) of the first call that differs */
  readonly index: number
  readonly recorded: HistoryEvent | undefined
  readonly now: HistoryEvent | undefined
  readonly recordedCalls: number
  readonly nowCalls: number
}

/** The first difference of each actor's session, recorded against now. */
export const compareSessions = (
  recorded: ReadonlyArray<HistoryEvent>, now: ReadonlyArray<HistoryEvent>, actors?: ReadonlyArray<string>
): { compared: number; differences: ReadonlyArray<ActorDifference> } => {
  const then = byActor(recorded)
  const again = byActor(now)
  const names = actors ?? [...new Set([...then.keys(), ...again.keys()])]
  const differences: Array<ActorDifference> = []
  for (const actor of names) {
    const before = then.get(actor) ?? []
    const after = again.get(actor) ?? []
    const stepsBefore = canonicalSteps(before)
    const stepsAfter = canonicalSteps(after)
    const length = Math.max(stepsBefore.length, stepsAfter.length)
    for (let index = 0; index < length; index++) {
      if (stepsBefore[index] === stepsAfter[index]) continue
      differences.push({ actor, index, recorded: before[index], now: after[index], recordedCalls: before.length, nowCalls: after.length })
      break
    }
  }
  return { compared: names.length, differences }
}

export interface ReplayResult {
  readonly file: string
  readonly header: HistoryHeader
  readonly recordedEvents: number
  readonly nowEvents: number
  readonly nowTraceHash: string
  /** the replay's own history, to look further than the first differences */
  readonly nowHistory: History
  readonly compared: number
  readonly differences: ReadonlyArray<ActorDifference>
  readonly brokenInvariants: ReadonlyArray<InvariantResult>
  /** the file the replay's server logged to, and its lines by level */
  readonly serverLog?: { readonly path: string; readonly counts: ServerLogCounts }
}

/** A progress display for the replay of a recording, made once its header is read; `final` when the run is over. */
export type ReplayProgress = (header: HistoryHeader) => (progress: RunProgress, final?: boolean) => void

/**
 * Re-drive a recorded session: the header's scenario and seed, in virtual mode, on the current code.
 * `actors` narrows the comparison (each must appear in the file); `runOptions` is for tests that change the server;
 * `progress` is shown the run as it goes, as `chunyun run` shows its own; the server's log lines go to `serverLogPath`
 * (else to the console).
 */
export const replayHistory = async (
  file: string, options: { actors?: ReadonlyArray<string>; runOptions?: RunOptions; progress?: ReplayProgress; serverLogPath?: string } = {}
): Promise<ReplayResult> => {
  const { header, events } = readHistoryFile(file)
  const known = new Set(events.map((event) => event.actor))
  const missing = (options.actors ?? []).filter((actor) => !known.has(actor))
  if (missing.length > 0) throw new HistoryFileError(`${file}: no events of ${missing.join(", ")} in this history`)
  const onProgress = options.progress?.(header)
  const serverLog = options.serverLogPath === undefined ? undefined : new ServerLog(options.serverLogPath)
  const outcome = await runVirtual(header.scenario, header.seed, onProgress, {
    allowUnsafeInventory: header.options.unsafe, ...(serverLog === undefined ? {} : { serverLog }), ...options.runOptions
  }).finally(() => serverLog?.close())
  onProgress?.({ nowMs: outcome.endMs, history: outcome.history, passengers: outcome.passengers }, true)
  const { compared, differences } = compareSessions(events, Array.from(outcome.history.read()), options.actors)
  return {
    file, header, recordedEvents: events.length, nowEvents: outcome.history.size, nowTraceHash: outcome.history.traceHash(),
    nowHistory: outcome.history, compared, differences, brokenInvariants: outcome.invariants.filter((invariant) => invariant.violations !== 0),
    ...(serverLog === undefined ? {} : { serverLog: { path: serverLog.path, counts: serverLog.counts() } })
  }
}

/** actors whose first difference is printed; the rest are counted */
export const maxActorsShown = 20

export const renderReplay = (result: ReplayResult, nowCodeVersion: string): string => {
  const { header } = result
  const sameTrace = result.nowTraceHash === header.traceHash
  const lines = [
    `chunyun replay: ${result.file}`,
    `  recorded: ${header.scenario.name} (${header.scenarioFile}), seed ${header.seed}, ${header.mode} mode, inventory ${header.options.inventory}` +
      `, code ${header.codeVersion}: ${result.recordedEvents} events, trace ${header.traceHash.slice(0, 16)}`,
    `  now:      virtual mode, code ${nowCodeVersion}: ${result.nowEvents} events, trace ${result.nowTraceHash.slice(0, 16)}${sameTrace ? " (identical)" : ""}`,
    ...(header.mode === "real" ? ["  (the recording was made in real mode: its timing was the wall clock's, so the virtual replay may differ anywhere)"] : []),
    `  invariants now: ${result.brokenInvariants.length === 0 ? "all hold" : result.brokenInvariants.map((invariant) => `${invariant.name} (${invariant.violations})`).join(", ")}`
  ]
  for (const difference of result.differences.slice(0, maxActorsShown)) {
    lines.push(
      `${difference.actor}: call ${difference.index + 1} differs (${difference.recordedCalls} calls recorded, ${difference.nowCalls} now)`,
      `  recorded: ${difference.recorded ? formatEvent(difference.recorded).trim() : "(no call)"}`,
      `  now:      ${difference.now ? formatEvent(difference.now).trim() : "(no call)"}`
    )
  }
  if (result.differences.length > maxActorsShown) lines.push(`… and ${result.differences.length - maxActorsShown} more actors differ`)
  lines.push(`${result.differences.length} of ${result.compared} actors differ`)
  return lines.join("\n") + "\n"
}

export interface ReplayContext {
  readonly scenarioFile: string
  readonly seed: number
  /** the command line's overrides of the scenario, repeated so the run is the same */
  readonly inventory?: InventoryVariant
  readonly unsafe: boolean
  readonly passwordCost?: number
  /** the passenger count given on the command line instead of the file's */
  readonly passengers?: number
  readonly historyFile: string
}

/** A word a POSIX shell reads back as itself. */
/** A path as a user in the working directory types it: relative inside it, absolute outside. */
export const shortPath = (path: string) => relative(process.cwd(), path).startsWith("..") ? path : relative(process.cwd(), path)

export const shellWord = (word: string) => /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`

/** The command lines that reproduce a broken invariant: the run itself, then the sessions of its actors. */
export const replayCommandsOf = (context: ReplayContext, actors: ReadonlyArray<string>): Array<string> => [
  ["npx", "chunyun", "run", context.scenarioFile, "--seed", String(context.seed),
    ...(context.passengers === undefined ? [] : ["--passengers", String(context.passengers)]),
    ...(context.passwordCost === undefined ? [] : ["--password-cost", String(context.passwordCost)]),
    ...(context.inventory === undefined ? [] : ["--inventory", context.inventory]), ...(context.unsafe ? ["--unsafe"] : [])].map(shellWord).join(" "),
  ["npx", "chunyun", "replay", context.historyFile, ...actors.flatMap((actor) => ["--actor", actor])].map(shellWord).join(" ")
]

export const withReplayCommands = (report: Report, context: ReplayContext): Report => ({
  ...report,
  invariants: report.invariants.map((invariant) =>
    invariant.violations === 0 ? invariant : { ...invariant, replay: replayCommandsOf(context, invariant.actors ?? []) })
})
