import { FileSystem, Path } from "@effect/platform"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import assert from "node:assert/strict"
import { test } from "node:test"
import { sampleFailingReport } from "./fixture.js"
import { renderHtml } from "./html.js"
import { currentReportVersion, Report } from "./Report.js"
import { writeReport } from "./write.js"

const platform = Layer.merge(NodeFileSystem.layer, NodePath.layer)

const runInTempDirectory = <A, E>(
  body: (directory: string) => Effect.Effect<A, E, FileSystem.FileSystem | Path.Path>
): Promise<A> =>
  Effect.gen(function*() {
    const fileSystem = yield* FileSystem.FileSystem
    // Scoped: the directory (under node:os tmpdir) is removed when the test ends, pass or fail.
    const directory = yield* fileSystem.makeTempDirectoryScoped({ prefix: "chunyun-report-" })
    return yield* body(directory)
  }).pipe(Effect.scoped, Effect.provide(platform), Effect.runPromise)

test("writes report.json and report.html into a directory it creates, and the JSON decodes back", async () => {
  const written = await runInTempDirectory((directory) =>
    Effect.gen(function*() {
      const fileSystem = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const target = path.join(directory, "runs", "2026-01-20")
      const paths = yield* writeReport(target, sampleFailingReport)
      return {
        paths,
        expectedPaths: { jsonPath: path.join(target, "report.json"), htmlPath: path.join(target, "report.html") },
        json: yield* fileSystem.readFileString(paths.jsonPath),
        html: yield* fileSystem.readFileString(paths.htmlPath)
      }
    })
  )
  assert.deepEqual(written.paths, written.expectedPaths)
  assert.deepEqual(Schema.decodeUnknownSync(Report)(JSON.parse(written.json)), sampleFailingReport)
  assert.ok(written.json.startsWith(`{\n  "reportVersion": ${currentReportVersion},\n  "scenario": "spring-festival"`))
  assert.ok(written.json.endsWith("}\n"))
  assert.equal(written.html, renderHtml(sampleFailingReport))
})

test("writing twice into the same directory overwrites rather than fails", async () => {
  const json = await runInTempDirectory((directory) =>
    Effect.gen(function*() {
      const fileSystem = yield* FileSystem.FileSystem
      yield* writeReport(directory, { ...sampleFailingReport, seed: 1 })
      const paths = yield* writeReport(directory, sampleFailingReport)
      return yield* fileSystem.readFileString(paths.jsonPath)
    })
  )
  assert.equal(Schema.decodeUnknownSync(Report)(JSON.parse(json)).seed, sampleFailingReport.seed)
})

test("a disk failure arrives as a typed PlatformError, not a defect", async () => {
  const error = await runInTempDirectory((directory) =>
    Effect.gen(function*() {
      const fileSystem = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const blocker = path.join(directory, "not-a-directory")
      yield* fileSystem.writeFileString(blocker, "")
      return yield* Effect.flip(writeReport(path.join(blocker, "report"), sampleFailingReport))
    })
  )
  assert.equal(error._tag, "SystemError")
})
