/**
 * The auditor: the invariants of docs/design.md, checked after a run, from two sources. The store audit (`audit`)
 * reads the server's tables with plain SQL, and the history where only clients saw something; the history audit
 * (`auditHistory`, simulator/audits/FromHistory.ts) reads the history of client observations alone, so a server
 * whose store is out of reach is audited too. Each check is independent of the code it audits, and a violation
 * carries a witness: the statement naming the rows or events that break it, then the history events of the actors
 * involved (simulator/audits/Witness.ts), and the actors' names for the replay command line.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import type { InvariantResult } from "../reports/Report.js"
import { chargedOnce, moneyConserved } from "./audits/Money.js"
import { holdsReleased, noDoubleBooking } from "./audits/Seats.js"
import type { HoldAuditOptions } from "./audits/Seats.js"
import { admittedOnce, carriersWithinCapacity, noTicketWithoutPayment, offlineDoubleAdmissions, paymentEndsInOneTicket } from "./audits/Tickets.js"
import { HistoryIndex, invariantResult } from "./audits/Witness.js"
import type { Violation } from "./audits/Witness.js"
import type { History } from "./History.js"
import { printJobsPrintedOnce } from "./audits/PrintJobs.js"
import { remoteCardPaidByBookedCard } from "./audits/RemoteCard.js"

export { maxWitnessLines } from "./audits/Witness.js"
export { auditHistory, historyInvariantNames } from "./audits/FromHistory.js"

export interface AuditOptions extends HoldAuditOptions {
  /**
   * The store is audited without the run's history (chunyun audit): the parts that compare the store with what the
   * devices recorded seeing are skipped rather than read as "the devices saw nothing".
   */
  readonly storeOnly?: boolean
}

/** the store audit's invariants, in the order it reports them */
export const storeInvariantNames = [
  "no-double-booking", "money-conserved", "payment-ends-in-one-ticket", "no-ticket-without-payment", "admitted-once",
  "holds-released", "carrier-within-capacity", "charged-once", "remote-card-paid-by-booked-card", "print-jobs-printed-once"
] as const

/** The store audit: SQL over the server's tables (and the history, for what only clients saw). Every result's source is `store`. */
export const audit = (history: History, options: AuditOptions = {}) =>
  Effect.gen(function* () {
    const index = new HistoryIndex(history)
    const offlineDoubles = yield* offlineDoubleAdmissions
    const checks: ReadonlyArray<readonly [typeof storeInvariantNames[number], string, Effect.Effect<ReadonlyArray<Violation>, SqlError, SqlClient.SqlClient>]> = [
      ["no-double-booking", "No seat-segment is held or sold to two live orders (1)", noDoubleBooking],
      ["money-conserved", "Every transfer balances, balances equal their entries, no wallet is negative (2)", moneyConserved],
      ["payment-ends-in-one-ticket", "Every captured payment ends in exactly one ticket or one refund (3)", paymentEndsInOneTicket],
      ["no-ticket-without-payment", "No ticket exists without a captured payment (4)", noTicketWithoutPayment],
      ["admitted-once", `No ticket is admitted twice (5)${offlineDoubles === 0 ? "" : `; ${offlineDoubles} double admissions by offline gates found at sync, reported separately`}`, admittedOnce(history)],
      ["holds-released", "Every expired hold releases its seats (6)", holdsReleased(history, options)],
      ["carrier-within-capacity", "No SIM carrier holds more than its capacity; every ticket is in exactly one place (7)", carriersWithinCapacity],
      ["charged-once", "A retried request with the same idempotency key never charges twice (8)", chargedOnce(history)],
      // a remote booking is paid by the card it was booked with, at a kiosk, and no other way
      ["remote-card-paid-by-booked-card", "A remote booking is paid only by its booked card, swiped at a kiosk", remoteCardPaidByBookedCard]
    ]
    const results: Array<InvariantResult> = []
    for (const [name, description, check] of checks) results.push(invariantResult(name, description, yield* check, index))
    // a kiosk's print job is never lost or printed twice
    results.push(yield* printJobsPrintedOnce(history, options.storeOnly !== true))
    return results.map((result): InvariantResult => ({ ...result, source: "store" }))
  })
