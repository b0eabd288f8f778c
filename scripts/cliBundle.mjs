/**
 * The `chunyun` program as one JavaScript file, for the processes the tests start by the hundred (servers killed and
 * restarted, CLI refusals). Loading the TypeScript sources through tsx costs each process about 5 s of CPU, most of
 * it tsx's loader hooks handling the ~1,500 modules one message at a time; the bundle loads in about 1 s. Packages
 * with native parts stay outside it and load from node_modules as usual.
 * `npm test` builds it once (esbuild, a few seconds) and names it in CHUNYUN_CLI_BUNDLE; without that variable every
 * spawn runs cli/main.ts through tsx, as a user's `npm run chunyun` does.
 */
import { buildSync } from "esbuild"
import { mkdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const projectDirectory = dirname(dirname(fileURLToPath(import.meta.url)))

/** Builds the bundle under node_modules/.cache (so its imports of native packages resolve) and returns its path. */
export const buildCliBundle = () => {
  const outfile = join(projectDirectory, "node_modules", ".cache", "chunyun", "cli.mjs")
  mkdirSync(dirname(outfile), { recursive: true })
  buildSync({
    entryPoints: [join(projectDirectory, "cli", "main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["better-sqlite3", "@napi-rs/canvas", "pg-native", "tsx", "esbuild"],
    // CommonJS packages inside an ES module bundle still call require
    banner: { js: "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);" },
    logLevel: "warning"
  })
  return outfile
}
