/**
 * Faults put in on purpose: the crash point of the crash test (FaultPoints.ts) and the planted bugs of the
 * mutation tests. Unset in every real run.
 */
import { Context, Layer } from "effect"

/** Every point the code marks, in the order a payment passes them. */
export const faultPointNames = [
  "pay.before-transaction", // password verified, nothing written
  "pay.after-transfer", // inside the payment transaction: money moved, order still held
  "pay.before-outbox", // inside: order paid, no outbox row yet
  "pay.before-commit", // inside: outbox row written, not committed
  "pay.after-commit", // committed, ticket not issued, client not answered
  "issue.after-claim", // inside the issue transaction: outbox row claimed
  "issue.after-ticket-insert", // inside: ticket row written, order still paid
  "issue.before-commit", // inside: order issued, not committed
  "issue.after-commit", // ticket committed, client not answered
  "sweep.before-issue", // the outbox sweeper found a pending row
  "sweep.after-issue" // the sweeper issued one row
] as const
export type FaultPointName = typeof faultPointNames[number]

export interface CrashAt {
  readonly point: FaultPointName
  /** the 1-based hit of `point` that kills the process */
  readonly hit: number
}

export const plantedBugs = ["none", "no-idempotency-check", "ticket-never-delivered", "gate-admits-used-ticket"] as const
export type PlantedBug = typeof plantedBugs[number]

/** the crash point and the planted bug */
export interface FaultSettings {
  /** the fault point whose hit kills the process (crash test only; unset in every real run) */
  readonly crashAt?: CrashAt
  /**
   * A bug planted on purpose, for the mutation tests only (simulator/Mutation.test.ts): proof that the auditor
   * reports what it exists to catch. Never read from the command line or the environment.
   * - no-idempotency-check: wallet top-ups and payments neither look up nor store their idempotency key, so a
   *   retried request is executed again (invariant 8)
   * - ticket-never-delivered: a ticket is issued and stored, but `GET /orders/:orderId/ticket` answers
   *   `TicketNotIssued` for every order and a payment's answer leaves the ticket out, so no phone ever holds the
   *   ticket it paid for (seen only by clients)
   * - gate-admits-used-ticket: a gate's redemption does not check that the ticket was admitted before, so a
   *   second presentation of a used ticket is admitted again (invariant 5)
   */
  readonly plantedBug: PlantedBug
}

export const defaultFaultSettings: FaultSettings = {
  plantedBug: "none"
}

/** The fault settings a server runs with. */
export class FaultConfig extends Context.Tag("FaultConfig")<FaultConfig, FaultSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<FaultSettings> = {}) => Layer.succeed(FaultConfig, { ...defaultFaultSettings, ...overrides })
}
