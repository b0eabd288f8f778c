/**
 * The design matrix: one scenario run across every combination of server designs, then one
 * comparison. An axis is a field of the scenario's `server` section (`inventory`, `issuance`,
 * `batching`, `payment`, or any numeric knob such as `outboxPollIntervalMs`) or `store`:
 *
 * - `sqlite` — virtual mode on SQLite in memory, or a SQLite file behind `chunyun serve` in real mode
 * - `sqlite-memory` — virtual mode only; `sqlite-file` — real mode only
 * - `postgres` — one `chunyun serve` on a fresh PostgreSQL schema; `postgres:N` — N of them on one schema,
 *   phones spread over them by passenger index (real mode only)
 *
 * Mode: every combination runs in one mode, so the table compares like with like. `auto` is virtual when
 * every combination can run there, else real. Virtual mode charges no time for server work and runs one
 * request at a time: it shows what a design does to correctness and to the designed-in waits (polling,
 * callbacks), not to contention; real mode shows contention.
 */
import { randomBytes } from "node:crypto"
import { Either, ParseResult, Schema } from "effect"
import type { ScenarioInput } from "../scenarios/Scenario.js"
import { Scenario } from "../scenarios/Scenario.js"
import { HarnessError } from "../reports/HarnessError.js"

export const storeNames = ["sqlite", "sqlite-memory", "sqlite-file", "postgres"] as const
export type StoreChoice =
  | { readonly kind: "sqlite-memory" | "sqlite-file" | "sqlite" }
  | { readonly kind: "postgres"; readonly workers: number }

/** how many `chunyun serve` processes one `postgres:N` combination may start */
export const maxPostgresWorkers = 16

export interface MatrixAxis { readonly key: string; readonly values: ReadonlyArray<string> }

export class MatrixUsageError extends HarnessError("MatrixUsageError") {}

/** `inventory=conditional,row-lock` → an axis; the values are checked when the combinations are built. */
export const parseVary = (text: string): MatrixAxis => {
  const match = /^([A-Za-z][A-Za-z0-9]*)=(.+)$/.exec(text)
  if (!match) throw new MatrixUsageError(`--vary expects key=value,value…, got "${text}"`)
  const values = match[2]!.split(",").map((value) => value.trim()).filter((value) => value.length > 0)
  if (values.length === 0) throw new MatrixUsageError(`--vary ${match[1]} lists no values`)
  if (new Set(values).size !== values.length) throw new MatrixUsageError(`--vary ${match[1]} lists a value twice`)
  return { key: match[1]!, values }
}

export const parseStore = (text: string): StoreChoice => {
  const postgres = /^postgres(?::(\d+))?$/.exec(text)
  if (postgres) {
    const workers = postgres[1] === undefined ? 1 : Number(postgres[1])
    if (!Number.isInteger(workers) || workers < 1 || workers > maxPostgresWorkers) {
      throw new MatrixUsageError(`store ${text}: 1 to ${maxPostgresWorkers} workers`)
    }
    return { kind: "postgres", workers }
  }
  if (text === "sqlite" || text === "sqlite-memory" || text === "sqlite-file") return { kind: text }
  throw new MatrixUsageError(`store expects one of sqlite, sqlite-memory, sqlite-file, postgres, postgres:N; got "${text}"`)
}

export interface Combination {
  /** `inventory=queue store=postgres:4`: the row's name, in axis order */
  readonly label: string
  /** a directory name for the run's report */
  readonly slug: string
  readonly variant: Readonly<Record<string, string>>
  readonly scenario: Scenario
  readonly store: StoreChoice
}

/** The server section with one axis value set: a number where the scenario has a number. */
const withServerValue = (input: ScenarioInput, key: string, value: string): ScenarioInput => {
  const server = input.server as Record<string, unknown>
  const current = server[key]
  const parsed = typeof current === "number" || (current === undefined && /^\d+$/.test(value)) ? Number(value) : value
  return { ...input, server: { ...input.server, [key]: parsed } as ScenarioInput["server"] }
}

/** Every combination of the axes (the first axis varies slowest), each scenario decoded again. */
export const combinations = (base: Scenario, axes: ReadonlyArray<MatrixAxis>): ReadonlyArray<Combination> => {
  const keys = axes.map((axis) => axis.key)
  const repeated = keys.find((key, index) => keys.indexOf(key) !== index)
  if (repeated) throw new MatrixUsageError(`--vary ${repeated} is given twice`)
  const serverKeys = Object.keys(base.server)
  for (const key of keys) {
    if (key !== "store" && !serverKeys.includes(key)) {
      throw new MatrixUsageError(`--vary ${key}: not a field of the scenario's server section (one of store, ${serverKeys.join(", ")})`)
    }
  }
  let partial: Array<Record<string, string>> = [{}]
  for (const axis of axes) partial = partial.flatMap((chosen) => axis.values.map((value) => ({ ...chosen, [axis.key]: value })))
  const encodedBase = Schema.encodeSync(Scenario)(base) as ScenarioInput
  return partial.map((variant) => {
    let input = encodedBase
    for (const [key, value] of Object.entries(variant)) if (key !== "store") input = withServerValue(input, key, value)
    const decoded = Schema.decodeUnknownEither(Scenario)(input)
    if (Either.isLeft(decoded)) {
      throw new MatrixUsageError(`combination ${labelOf(variant)}:\n${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`)
    }
    return {
      label: labelOf(variant), slug: slugOf(variant), variant, scenario: decoded.right,
      store: parseStore(variant.store ?? "sqlite")
    }
  })
}

const labelOf = (variant: Readonly<Record<string, string>>) =>
  Object.entries(variant).map(([key, value]) => `${key}=${value}`).join(" ") || "baseline"
const slugOf = (variant: Readonly<Record<string, string>>) =>
  Object.values(variant).map((value) => value.replace(/[^A-Za-z0-9-]+/g, "_")).join("-") || "baseline"

export type MatrixMode = "auto" | "virtual" | "real"

/** Why a combination cannot run virtually (undefined: it can). */
export const needsRealMode = (combination: Combination): string | undefined => {
  if (combination.store.kind === "postgres") return "PostgreSQL runs behind `chunyun serve` processes"
  if (combination.store.kind === "sqlite-file") return "a SQLite file is the real server's store"
  if (combination.scenario.server.batching === "group-commit") return "group commit needs overlapping requests"
  if (combination.scenario.server.inventory === "queue") return "a waiting queue forms only when requests overlap"
  return undefined
}

/** The one mode of the whole matrix, or a usage error naming the combination that cannot run in it. */
export const modeOf = (requested: MatrixMode, all: ReadonlyArray<Combination>): "virtual" | "real" => {
  const realOnly = all.map((combination) => ({ combination, reason: needsRealMode(combination) })).filter((entry) => entry.reason !== undefined)
  if (requested === "virtual" && realOnly.length > 0) {
    throw new MatrixUsageError(`--mode virtual: ${realOnly[0]!.combination.label} cannot run virtually (${realOnly[0]!.reason})`)
  }
  const memoryOnly = all.find((combination) => combination.store.kind === "sqlite-memory")
  const mode = requested === "auto" ? (realOnly.length > 0 ? "real" : "virtual") : requested
  if (mode === "real" && memoryOnly) {
    throw new MatrixUsageError(`${memoryOnly.label}: SQLite in memory runs in virtual mode only (a real server's memory is gone before the audit); use sqlite or sqlite-file`)
  }
  return mode
}

/** A PostgreSQL schema name no other run uses (lowercase identifier). */
export const freshSchemaName = (index: number) => `chunyun_matrix_${process.pid}_${index}_${randomBytes(4).toString("hex")}`
