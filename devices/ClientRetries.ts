/**
 * A client whose answers go missing (the scenario's `client-timeouts` fault): the request reaches the server
 * and takes effect, but the answer is lost; the device waits for its timeout, backs off, and sends the same
 * request again with the same idempotency key. What it must never do is pay twice: invariant 8 checks that.
 */
import { Effect, Random } from "effect"
import type { FaultSchedule } from "../simulator/FaultSchedule.js"
import type { History, HistoryEvent } from "../simulator/History.js"
import { outcomeOf } from "../simulator/History.js"

export class ClientTimedOut {
  readonly _tag = "ClientTimedOut"
  constructor(readonly attempts: number) {}
}

/**
 * Run `send` (a recorded call carrying an idempotency key) until an answer arrives. While the fault is active,
 * each answer is lost with its `responseLossRate`: the loss is recorded as `<kind>` with outcome
 * `ResponseLost`, then the device sleeps `timeoutMs + backoffMs × 2^attempt` and tries again, at most
 * `maxRetries` times. Without the fault, `send` runs once and nothing is drawn from `Random`.
 *
 * `keyed` names the idempotency key and describes the answer that went missing: the device never sees it, but
 * the history does (as a tap on the wire would), so the auditor can tell a retry answered from the stored
 * result from one that charged again (invariant 8).
 */
export const withLostAnswers = <A, E, R, B = unknown>(
  env: {
    readonly faults: FaultSchedule
    readonly history: History
    readonly sleepScenario: (ms: number) => Effect.Effect<void>
    readonly scenarioNowMs: Effect.Effect<number>
  },
  actor: string,
  kind: string,
  send: Effect.Effect<A, E, R>,
  sendUnrecorded: Effect.Effect<B, unknown, R>,
  keyed?: { readonly key: string; readonly detailOf?: (answer: B) => HistoryEvent["detail"] }
): Effect.Effect<A, E | ClientTimedOut, R> =>
  Effect.gen(function* () {
    for (let attempt = 0; ; attempt++) {
      const fault = yield* env.faults.active("client-timeouts")
      const lost = fault !== undefined && (yield* Random.next) < fault.responseLossRate
      if (!fault || !lost) return yield* send
      if (attempt >= fault.maxRetries) return yield* Effect.fail(new ClientTimedOut(attempt + 1))
      const answer = yield* Effect.exit(sendUnrecorded)
      const atMs = yield* env.scenarioNowMs
      const lostAnswer = answer._tag === "Success"
        ? { answer: "ok", ...keyed?.detailOf?.(answer.value) }
        : { answer: answer.cause._tag === "Fail" ? outcomeOf(answer.cause.error) : "Defect" }
      env.history.add({ atMs, actor, kind, outcome: "ResponseLost", detail: keyed ? { attempt, key: keyed.key, ...lostAnswer } : { attempt } })
      yield* env.sleepScenario(fault.timeoutMs + fault.backoffMs * 2 ** attempt)
    }
  })
