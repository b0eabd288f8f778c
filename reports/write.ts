/** Writes a run's report files: `report.json` (the source of truth) and `report.html` rendered from it. */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Schema } from "effect"
import { renderHtml } from "./html.js"
import { Report } from "./Report.js"

export const writeReport = (
  dir: string,
  report: Report
): Effect.Effect<{ jsonPath: string; htmlPath: string }, PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fileSystem = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    // A report that does not encode is a bug in whoever built it, not a failure of the disk.
    const encoded = yield* Effect.orDie(Schema.encode(Report)(report))
    const jsonPath = path.join(dir, "report.json")
    const htmlPath = path.join(dir, "report.html")
    yield* fileSystem.makeDirectory(dir, { recursive: true })
    yield* fileSystem.writeFileString(jsonPath, JSON.stringify(encoded, null, 2) + "\n")
    yield* fileSystem.writeFileString(htmlPath, renderHtml(report))
    return { jsonPath, htmlPath }
  }).pipe(Effect.withSpan("Reports.writeReport", { attributes: { dir } }))
