/**
 * The server's log of a run, in a file beside the report instead of between the progress display's lines, counted
 * by level for the summary. In virtual mode the in-process server logs through `logger` (Effect's default format,
 * stamped with the virtual clock); in real mode each line a `chunyun serve` process prints goes through `writeOutput`.
 */
import { closeSync, openSync, writeSync } from "node:fs"
import { Layer, Logger } from "effect"

/** the file a run writes beside report.json */
export const serverLogFileName = "server.log"

/**
 * The level of a line, as Effect's loggers write it: the default one `level=WARN`, the pretty one that
 * `NodeRuntime.runMain` installs in a `chunyun serve` process `[10:50:29.054] WARN (#1): …`.
 */
const levelPattern = /(?:^|\s)level=([A-Z]+)(?:\s|$)|^\[[\d:.]+\] ([A-Z]+) \(#\d+\)/
const levelOf = (line: string): string | undefined => {
  const match = levelPattern.exec(line)
  return match?.[1] ?? match?.[2]
}

export interface ServerLogCounts {
  readonly lines: number
  readonly warnings: number
  readonly errors: number
}

export class ServerLog {
  private readonly fd: number
  private readonly byLevel = new Map<string, number>()
  private lines = 0
  /** a line of process output cut by a chunk boundary, waiting for the rest */
  private partial = ""
  private closed = false

  constructor(readonly path: string) {
    this.fd = openSync(path, "w")
  }

  /** Effect's default logger, writing here: give it to the server's runtimes with `layer` */
  readonly logger = Logger.make<unknown, void>((options) => {
    this.writeLine(Logger.stringLogger.log(options), options.logLevel.label)
  })

  /** replaces the default logger (console) of a runtime built with it */
  readonly layer = Logger.replace(Logger.defaultLogger, this.logger)

  /** Output of a server process, in chunks as they come: whole lines are written, each counted by its `level=`. */
  writeOutput(chunk: string): void {
    const lines = (this.partial + chunk).split("\n")
    this.partial = lines.pop() ?? ""
    for (const line of lines) this.writeLine(line, levelOf(line))
  }

  /** a line that comes after `close` (a process's last words after the run) is dropped */
  private writeLine(text: string, level: string | undefined): void {
    if (this.closed) return
    writeSync(this.fd, text + "\n")
    this.lines++
    if (level !== undefined) this.byLevel.set(level, (this.byLevel.get(level) ?? 0) + 1)
  }

  counts(): ServerLogCounts {
    return { lines: this.lines, warnings: this.byLevel.get("WARN") ?? 0, errors: (this.byLevel.get("ERROR") ?? 0) + (this.byLevel.get("FATAL") ?? 0) }
  }

  /** writes what is left of a cut line and closes the file */
  close(): void {
    if (this.partial !== "") this.writeLine(this.partial, levelOf(this.partial))
    this.partial = ""
    this.closed = true
    closeSync(this.fd)
  }
}

/** The summary's line: "server log: 12 warnings, 0 errors → out/…/server.log". */
export const serverLogLine = (counts: ServerLogCounts, path: string): string => {
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`
  return `server log: ${plural(counts.warnings, "warning")}, ${plural(counts.errors, "error")} → ${path}`
}

/** the default logger, unchanged, when a run has no log file of its own */
export const serverLoggerLayer = (log: ServerLog | undefined) => log === undefined ? Layer.empty : log.layer
