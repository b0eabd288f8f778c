/**
 * Remote bookings paid by card at a kiosk (seed 001, claim 8): a remote booking is paid by the card it was booked
 * with and no other way. From the store: every remote booking whose payment was captured (an `order-payment`
 * transfer) was paid from card clearing, by one card payment at a kiosk that was captured (or later refunded), and
 * the keyed token of the card swiped for it is the booking's. Money conservation, one ticket per payment and the
 * print jobs are audited for these payments as for any card payment (Money.ts, Tickets.ts, PrintJobs.ts).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { Violation } from "./Witness.js"

export const remoteCardPaidByBookedCard = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const paid = yield* sql<{ order_id: string; debit_account_id: string; card_payments: number; booked_card_payments: number }>`
    SELECT r.order_id, t.debit_account_id,
      (SELECT COUNT(*) FROM card_payments c WHERE c.order_id = r.order_id AND c.state IN ('captured', 'refunded')) AS card_payments,
      (SELECT COUNT(*) FROM card_payments c WHERE c.order_id = r.order_id AND c.state IN ('captured', 'refunded')
        AND c.card_token = r.card_token) AS booked_card_payments
    FROM remote_bookings r JOIN transfers t ON t.order_id = r.order_id AND t.purpose = 'order-payment'
    ORDER BY r.order_id`
  const violations: Array<Violation> = []
  for (const row of paid) {
    const about = (line: string) => violations.push({ line: `remote booking ${row.order_id}: ${line}`, orders: [row.order_id] })
    if (row.debit_account_id !== "card-clearing") about(`paid from ${row.debit_account_id}, not by card`)
    else if (Number(row.card_payments) !== 1) about(`${row.card_payments} captured card payments, not 1`)
    else if (Number(row.booked_card_payments) !== 1) about("paid by a card that is not the card it was booked with")
  }
  return violations
})
