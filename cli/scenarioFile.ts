/**
 * Loads a scenario module and decodes its default export. Every failure names the file, the path
 * inside the scenario and what was expected, so a typo is found without reading a stack trace.
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Either, ParseResult, Schema } from "effect"
import { Scenario } from "../scenarios/Scenario.js"
import { HarnessError } from "../reports/HarnessError.js"

export class ScenarioFileError extends HarnessError("ScenarioFileError") {}

export const formatPath = (path: ReadonlyArray<PropertyKey>) =>
  path.length === 0 ? "(root)" : path.map((key, index) => typeof key === "number" ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`).join("")

export const decodeScenario = (file: string, value: unknown): Scenario => {
  const decoded = Schema.decodeUnknownEither(Scenario, { errors: "all", onExcessProperty: "error" })(value)
  if (Either.isRight(decoded)) return decoded.right
  const issues = withoutAbsentAlternative(ParseResult.ArrayFormatter.formatErrorSync(decoded.left))
  throw new ScenarioFileError(issues.map((issue) => `${file}: at ${formatPath(issue.path)}: ${withActualValue(issue, value)}`).join("\n"))
}

const startsWith = (path: ReadonlyArray<PropertyKey>, prefix: ReadonlyArray<PropertyKey>) => prefix.every((key, index) => path[index] === key)

/**
 * An optional field with a wrong value fails both members of its union, the field's type and `undefined`: the second
 * ("Expected undefined") only says the field may be left out. It is dropped where another issue names the same path
 * or one inside it, which says what the value should be.
 */
const withoutAbsentAlternative = (issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>) => {
  const isAbsentAlternative = (issue: ParseResult.ArrayFormatterIssue) => issue.message.startsWith("Expected undefined")
  return issues.filter((issue) => !isAbsentAlternative(issue)
    || !issues.some((other) => !isAbsentAlternative(other) && startsWith(other.path, issue.path)))
}

/** longest quotation of the value a scenario file has where a schema refused it */
export const maxQuotedValueChars = 80

/**
 * The issue's message, and the value the file has at its path when the message does not quote it: the domain's
 * types say what they expect in words (`expected a station code: 3 capital letters (BJP)`), not what they got.
 */
const withActualValue = (issue: ParseResult.ArrayFormatterIssue, input: unknown) => {
  if (issue._tag === "Missing" || issue.message.includes(", actual ")) return issue.message
  let value: unknown = input
  for (const key of issue.path) value = typeof value === "object" && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined
  const quoted = typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? JSON.stringify(value) : undefined
  if (quoted === undefined) return issue.message
  return `${issue.message}, actual ${quoted.length <= maxQuotedValueChars ? quoted : `${quoted.slice(0, maxQuotedValueChars)}…`}`
}

const isUnknownExtension = (error: unknown) =>
  typeof error === "object" && error !== null && "code" in error && error.code === "ERR_UNKNOWN_FILE_EXTENSION"

const isCommonJsExports = (value: unknown): value is { default?: unknown } =>
  typeof value === "object" && value !== null && "__esModule" in value && value.__esModule === true

/**
 * Imports a module by URL. A TypeScript file needs tsx's loader: the `chunyun` command and `npm start` run with it
 * registered for the whole process; a process started without it (the bundled program) loads that one file, and
 * what it imports, through tsx's scoped loader.
 */
const importModule = async (url: string): Promise<{ default?: unknown }> => {
  try {
    return await import(url)
  } catch (error) {
    if (!isUnknownExtension(error)) throw error
    const { tsImport } = await import("tsx/esm/api")
    const loaded: { default?: unknown } = await tsImport(url, import.meta.url)
    // a file outside any `"type": "module"` package loads as CommonJS: its exports are the namespace's default
    return isCommonJsExports(loaded.default) ? loaded.default : loaded
  }
}

export const loadScenario = async (file: string): Promise<Scenario> => {
  const absolute = resolve(file)
  if (!existsSync(absolute)) throw new ScenarioFileError(`${file}: no such scenario file`)
  let module: { default?: unknown }
  try {
    module = await importModule(pathToFileURL(absolute).href)
  } catch (error) {
    throw new ScenarioFileError(`${file}: cannot be loaded: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`)
  }
  if (module.default === undefined) throw new ScenarioFileError(`${file}: has no default export (export default defineScenario({ … }))`)
  return decodeScenario(file, module.default)
}
