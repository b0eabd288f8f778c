/**
 * A client whose answers go missing (the scenario's `client-timeouts` fault): the request reaches the server
 * and takes effect, but the answer is lost; the device waits for its timeout, backs off, and sends the same
 * request again with the same idempotency key. What it must never do is pay twice: invariant 8 checks that.
 */
import { Effect, Random } from "effect"
import type { HistoryEvent, HistoryKind } from "./HistoryEvents.js"
import { outcomeOf } from "./HistoryEvents.js"
import { activeFault, HistoryRecorder } from "./Instruments.js"
import type { Faults } from "./Instruments.js"

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
  env: { readonly sleepScenario: (ms: number) => Effect.Effect<void> },
  actor: string,
  kind: HistoryKind,
  send: Effect.Effect<A, E, R>,
  sendUnrecorded: Effect.Effect<B, unknown, R>,
  keyed?: { readonly key: string; readonly detailOf?: (answer: B) => HistoryEvent["detail"] }
): Effect.Effect<A, E | ClientTimedOut, R | HistoryRecorder | Faults> =>
  Effect.gen(function* () {
    for (let attempt = 0; ; attempt++) {
      const fault = yield* activeFault("client-timeouts")
      const lost = fault !== undefined && (yield* Random.next) < fault.responseLossRate
      if (!fault || !lost) return yield* send
      if (attempt >= fault.maxRetries) return yield* Effect.fail(new ClientTimedOut(attempt + 1))
      const answer = yield* Effect.exit(sendUnrecorded)
      const history = yield* HistoryRecorder
      const atMs = yield* history.now
      const lostAnswer = answer._tag === "Success"
        ? { answer: "ok", ...keyed?.detailOf?.(answer.value) }
        : { answer: answer.cause._tag === "Fail" ? outcomeOf(answer.cause.error) : "Defect" }
      history.add({ atMs, actor, kind, outcome: "ResponseLost", detail: keyed ? { attempt, key: keyed.key, ...lostAnswer } : { attempt } })
      yield* env.sleepScenario(fault.timeoutMs + fault.backoffMs * 2 ** attempt)
    }
  })

/** how many times a device sends a request again after it could not reach the server */
export const maxTransportRetries = 6
/** the first wait before such a retry; it doubles each time (1, 2, 4, 8, 16, 32 s: about a minute in all) */
export const transportRetryBackoffMs = 1_000

const isTransportFailure = (error: unknown) =>
  typeof error === "object" && error !== null && "_tag" in error && (error as { _tag: string })._tag === "RequestError"

/**
 * Send again, after a doubling backoff on the scenario's clock, a request that never reached the server or
 * whose connection broke (a crashed server): `RequestError` from the HTTP client. Each attempt is recorded by
 * `send`. A server that answered, even with an error, is not retried here. No draw from `Random`, so a run
 * without transport failures is unchanged.
 */
export const withTransportRetries = <A, E, R>(
  sleepScenario: (ms: number) => Effect.Effect<void>,
  send: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.gen(function* () {
    for (let attempt = 0; ; attempt++) {
      const exit = yield* Effect.exit(send)
      if (exit._tag === "Success") return exit.value
      const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      if (attempt >= maxTransportRetries || !isTransportFailure(failure)) return yield* exit
      yield* sleepScenario(transportRetryBackoffMs * 2 ** attempt)
    }
  })
