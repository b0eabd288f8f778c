/**
 * The test files as JavaScript, for `npm test`. Run through tsx, every test process spends about 2.5 s of CPU
 * before its first test: tsx's loader hooks answer each of the ~1,500 modules it loads (the project's and Effect's)
 * one message at a time. Here esbuild compiles all test files in one build (a few hundred milliseconds): the
 * project's modules are bundled into shared chunks, packages stay imports that node loads from node_modules as
 * usual. Each source's `import.meta.url` is replaced by the URL of its own .ts file, so paths computed from it
 * (the project directory, a fixture beside a test) are the same as when the sources run. Linked source maps let
 * stack traces (`--enable-source-maps`) and coverage (c8) name the TypeScript lines.
 */
import { build } from "esbuild"
import { readFile, rm } from "node:fs/promises"
import { dirname, join, relative } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const projectDirectory = dirname(dirname(fileURLToPath(import.meta.url)))
/** where the compiled tests go (gitignored); inside the project, so packages resolve from its node_modules */
export const testBuildDirectory = join(projectDirectory, ".test-build")

/** The source's own URL wherever it reads `import.meta.url`. */
const ownImportMetaUrl = {
  name: "own-import-meta-url",
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, "utf8")
      return { contents: text.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)), loader: "ts" }
    })
  }
}

/**
 * Compiles the given test files (paths relative to the project) and returns a map from each of them to its compiled
 * file's path, relative to the project.
 */
export const buildTests = async (testFiles) => {
  await rm(testBuildDirectory, { recursive: true, force: true })
  await build({
    entryPoints: testFiles.map((file) => join(projectDirectory, file)),
    outdir: testBuildDirectory,
    outbase: projectDirectory,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    plugins: [ownImportMetaUrl],
    logLevel: "warning"
  })
  return new Map(testFiles.map((file) => [file, relative(projectDirectory, join(testBuildDirectory, file.replace(/\.ts$/, ".mjs")))]))
}
