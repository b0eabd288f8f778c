/**
 * Named crash points on the paying and issuing path, for the crash test (reference/Crash.test.ts): when the
 * server's settings name a point and a hit count (`crashAt`, `chunyun serve --crash-at pay.after-commit:3`),
 * the process kills itself with SIGKILL at that hit — no finalizer, no flush, no rollback by the process,
 * exactly like a power cut. Unset, every point is `Effect.void`: no counter, no lookup.
 */
import { Effect } from "effect"
import { FaultConfig } from "./Settings/Faults.js"
import { faultPointNames } from "./Settings/Faults.js"
import type { CrashAt, FaultPointName } from "./Settings/Faults.js"

/** `pay.after-commit:3` → { point, hit: 3 }; `pay.after-commit` → hit 1. A string message when malformed. */
export const parseCrashAt = (text: string): CrashAt | string => {
  const [name, hitText, ...rest] = text.split(":")
  if (rest.length > 0 || !(faultPointNames as ReadonlyArray<string>).includes(name ?? "")) {
    return `expected <point>[:<hit>] with a point among ${faultPointNames.join(", ")}, got "${text}"`
  }
  const hit = hitText === undefined ? 1 : Number(hitText)
  if (!Number.isInteger(hit) || hit < 1) return `the hit of --crash-at must be an integer ≥ 1, got "${hitText}"`
  return { point: name as FaultPointName, hit }
}

/** the line a dying process writes to stderr, so a test can tell the crash it asked for from any other exit */
export const crashLine = (crashAt: CrashAt) => `chunyun: fault point ${crashAt.point} hit ${crashAt.hit}: SIGKILL`

export class FaultPoints extends Effect.Service<FaultPoints>()("FaultPoints", {
  effect: Effect.gen(function* () {
    const crashAt = (yield* FaultConfig).crashAt
    if (crashAt === undefined) return { hit: (_point: FaultPointName): Effect.Effect<void> => Effect.void } as const
    let hits = 0
    const die = Effect.sync(() => {
      process.stderr.write(`${crashLine(crashAt)}\n`)
      process.kill(process.pid, "SIGKILL")
    })
    return {
      hit: (point: FaultPointName): Effect.Effect<void> =>
        point !== crashAt.point ? Effect.void : Effect.suspend(() => ++hits === crashAt.hit ? die.pipe(Effect.zipRight(Effect.never)) : Effect.void)
    } as const
  })
}) {}
