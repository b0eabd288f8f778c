/**
 * Kiosk print jobs (seed 001): no print job is lost or printed twice. From the store: every card-paid kiosk
 * order and every card payment captured at a kiosk (a walk-up sale, a remote booking) has its one print job, and every print job (sale or pickup) ended `printed`. From the history (what
 * came out of the kiosks' printers): every job's ticket and receipt came out exactly once, each job the store
 * says is printed did come out, and nothing came out for a job the store does not know.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { InvariantResult } from "../../reports/Report.js"
import type { History } from "../History.js"

const maxWitnessLines = 10

const printedParts = (history: History) => {
  const parts = new Map<string, { ticket: number; receipt: number }>()
  for (const event of history.read()) {
    if (event.kind !== "print" || event.outcome !== "ok") continue
    const jobId = String(event.detail?.jobId)
    const counted = parts.get(jobId) ?? { ticket: 0, receipt: 0 }
    if (event.detail?.part === "ticket") counted.ticket++
    else if (event.detail?.part === "receipt") counted.receipt++
    parts.set(jobId, counted)
  }
  return parts
}

/** `withHistory` false: a store audited on its own (chunyun audit), whose printers' output no history recorded */
export const printJobsPrintedOnce = (history: History, withHistory = true) => Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const paidWithoutJob = yield* sql<{ order_id: string }>`SELECT paid.order_id FROM (
      SELECT ko.order_id FROM kiosk_orders ko
        WHERE EXISTS (SELECT 1 FROM transfers t WHERE t.order_id = ko.order_id AND t.purpose = 'order-payment')
      UNION SELECT c.order_id FROM card_payments c WHERE c.state IN ('captured', 'refunded')) paid
    WHERE NOT EXISTS (SELECT 1 FROM print_jobs j WHERE j.order_id = paid.order_id)
    ORDER BY paid.order_id`
  const jobs = yield* sql<{ id: string; order_id: string; state: string }>`SELECT id, order_id, state FROM print_jobs ORDER BY id`
  const parts = printedParts(history)
  const known = new Set(jobs.map((job) => job.id))
  const witness: Array<string> = [
    ...paidWithoutJob.map((row) => `kiosk order ${row.order_id}: paid, but no print job`),
    ...jobs.filter((job) => job.state !== "printed").map((job) => `print job ${job.id} of order ${job.order_id}: still ${job.state} (lost)`)
  ]
  for (const job of withHistory ? jobs : []) {
    const counted = parts.get(job.id) ?? { ticket: 0, receipt: 0 }
    if (job.state === "printed" && (counted.ticket === 0 || counted.receipt === 0)) {
      witness.push(`print job ${job.id}: printed in the store, but ${counted.ticket} tickets and ${counted.receipt} receipts came out`)
    }
    if (counted.ticket > 1) witness.push(`print job ${job.id}: ticket printed ${counted.ticket} times`)
    if (counted.receipt > 1) witness.push(`print job ${job.id}: receipt printed ${counted.receipt} times`)
  }
  for (const jobId of parts.keys()) if (!known.has(jobId)) witness.push(`print job ${jobId}: came out of a printer, but the store has no such job`)
  const result: InvariantResult = witness.length === 0
    ? { name: "print-jobs-printed-once", description: "No kiosk print job is lost or printed twice (ticket and receipt each once)", violations: 0 }
    : {
      name: "print-jobs-printed-once", description: "No kiosk print job is lost or printed twice (ticket and receipt each once)",
      violations: witness.length, witness: witness.slice(0, maxWitnessLines)
    }
  return result
})
