/**
 * Loads a report.json and decodes it with the Report schema. Every failure names the file, the
 * path inside the report and what was expected, as scenario files do.
 */
import { readFileSync } from "node:fs"
import { Either, ParseResult, Schema } from "effect"
import { currentReportVersion, Report } from "../reports/Report.js"
import { formatPath } from "./scenarioFile.js"
import { HarnessError } from "../reports/HarnessError.js"

export class ReportFileError extends HarnessError("ReportFileError") {}

export const decodeReport = (file: string, value: unknown): Report => {
  const version = typeof value === "object" && value !== null && "reportVersion" in value ? value.reportVersion : undefined
  if (typeof version === "number" && version > currentReportVersion) {
    throw new ReportFileError(`${file}: report version ${version} was written by a newer chunyun; this one reads versions up to ${currentReportVersion}`)
  }
  const decoded = Schema.decodeUnknownEither(Report, { errors: "all" })(value)
  if (Either.isRight(decoded)) return decoded.right
  const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
  throw new ReportFileError(issues.map((issue) => `${file}: at ${formatPath(issue.path)}: ${issue.message}`).join("\n"))
}

export const loadReport = (file: string): Report => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (error) {
    const code = error instanceof Error && "code" in error ? String(error.code) : ""
    throw new ReportFileError(code === "ENOENT" ? `${file}: no such report file` : `${file}: cannot be read: ${error instanceof Error ? error.message : String(error)}`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new ReportFileError(`${file}: is not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  return decodeReport(file, value)
}
