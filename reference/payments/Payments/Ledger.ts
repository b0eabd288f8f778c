/**
 * Two-phase transfers, as TigerBeetle has them: a pending transfer reserves its amount in the accounts'
 * `pending_debits_fen` / `pending_credits_fen` (a wallet's row; a system account's pending sums are those of its
 * pending transfers, Accounts/Repo.ts `keepsBalanceRow`), then is posted (a normal row in `transfers`, which a
 * refund can reverse like any wallet payment) or voided (the reservation released). Either way both
 * accounts change by the same amount in one transaction, so Σ balance = 0 and Σ pending debits =
 * Σ pending credits hold at every step. Every function here runs inside the caller's transaction.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Schema } from "effect"
import { FenDelta, FenTotal } from "../../Domain.js"
import type { OrderId, TransferId } from "../../Domain.js"
import { forUpdate } from "../../Store/Dialect.js"
import { keepsBalanceRow, LedgerRepo } from "../Accounts/Repo.js"

export const cardClearingAccountId = "card-clearing"
export const gatewayClearingAccountId = "gateway-clearing"

export type PendingPurpose = "card-payment" | "gateway-payment"
export type PostedPurpose = "order-payment" | "late-capture" | "refund"

export interface PendingTransferRow {
  readonly id: TransferId
  readonly debit_account_id: string
  readonly credit_account_id: string
  readonly amount_fen: number
  readonly purpose: PendingPurpose
  readonly order_id: OrderId
  readonly state: "pending" | "posted" | "voided"
  readonly timeout_at_ms: number
  readonly posted_transfer_id: TransferId | null
}

/** Internal: a concurrent payment of the same order reserved first (answered as PaymentInProgress). */
export class LiveReservationExists extends Schema.TaggedError<LiveReservationExists>()(
  "LiveReservationExists", { orderId: Schema.String }
) {}

export class TwoPhaseLedger extends Effect.Service<TwoPhaseLedger>()("TwoPhaseLedger", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const accounts = yield* LedgerRepo

    const byId = (id: TransferId) =>
      sql<PendingTransferRow>`SELECT * FROM pending_transfers WHERE id = ${id} ${forUpdate(sql)}`.pipe(Effect.map((rows) => rows[0]))

    /** The order's reservation that is neither posted nor voided, if any. */
    const liveForOrder = (orderId: OrderId) =>
      sql<PendingTransferRow>`SELECT * FROM pending_transfers WHERE order_id = ${orderId} AND state = 'pending' ${forUpdate(sql)}`
        .pipe(Effect.map((rows) => rows[0]))

    /** A wallet's pending column moves; a system account keeps no row of sums (Accounts/Repo.ts `keepsBalanceRow`). */
    const adjust = (accountId: string, column: "pending_debits_fen" | "pending_credits_fen", deltaFen: FenDelta) =>
      !keepsBalanceRow(accountId) ? Effect.void : sql`UPDATE accounts SET ${sql(column)} = ${sql(column)} + ${deltaFen} WHERE id = ${accountId} RETURNING id`.pipe(
        Effect.flatMap((rows) => rows.length === 1 ? Effect.void : Effect.dieMessage(`ledger account ${accountId} missing`)))

    /**
     * Reserve `amountFen`: false, changing nothing, when the order already has a live reservation (the
     * unique index decides between concurrent ones) or a wallet debit would exceed balance − pending.
     */
    const reserve = (transfer: {
      id: TransferId; debit: string; credit: string; amountFen: FenTotal; purpose: PendingPurpose
      orderId: OrderId; nowMs: number; timeoutMs: number
    }) =>
      Effect.gen(function* () {
        if (keepsBalanceRow(transfer.debit)) {
          const debited = yield* sql`UPDATE accounts SET pending_debits_fen = pending_debits_fen + ${transfer.amountFen}
            WHERE id = ${transfer.debit} AND balance_fen - pending_debits_fen >= ${transfer.amountFen} RETURNING id`
          if (debited.length !== 1) return false
        }
        yield* adjust(transfer.credit, "pending_credits_fen", FenDelta.make(transfer.amountFen))
        const inserted = yield* sql`INSERT INTO pending_transfers (id, debit_account_id, credit_account_id, amount_fen, purpose,
            order_id, state, created_at_ms, timeout_at_ms)
          VALUES (${transfer.id}, ${transfer.debit}, ${transfer.credit}, ${transfer.amountFen}, ${transfer.purpose},
            ${transfer.orderId}, 'pending', ${transfer.nowMs}, ${transfer.nowMs + transfer.timeoutMs})
          ON CONFLICT DO NOTHING RETURNING id`
        // the pending columns were raised for a reservation that lost to another: roll the caller back
        if (inserted.length !== 1) return yield* Effect.fail(new LiveReservationExists({ orderId: transfer.orderId }))
        return true
      })

    /** A posted transfer written directly (no reservation): debit and credit in one step. */
    const postDirect = (transfer: {
      id: TransferId; debit: string; credit: string; amountFen: FenTotal; purpose: PostedPurpose; orderId: OrderId; nowMs: number
    }) =>
      Effect.gen(function* () {
        if (!(yield* accounts.debit(transfer.debit, transfer.amountFen))) {
          return yield* Effect.dieMessage(`debit of ${transfer.debit} refused inside a settled payment`)
        }
        yield* accounts.credit(transfer.credit, transfer.amountFen)
        yield* accounts.insertTransfer(transfer)
      })

    /**
     * Post a live reservation as the order's payment transfer `transferId`; undefined when it was not
     * pending any more (voided by the sweeper, or posted already).
     */
    const post = (pendingId: TransferId, transferId: TransferId, nowMs: number) =>
      Effect.gen(function* () {
        const pending = yield* byId(pendingId)
        if (!pending || pending.state !== "pending") return undefined
        const amountFen = FenTotal.make(Number(pending.amount_fen))
        const releasedFen = FenDelta.make(-amountFen)
        yield* adjust(pending.debit_account_id, "pending_debits_fen", releasedFen)
        yield* adjust(pending.credit_account_id, "pending_credits_fen", releasedFen)
        yield* postDirect({
          id: transferId, debit: pending.debit_account_id, credit: pending.credit_account_id, amountFen,
          purpose: "order-payment", orderId: pending.order_id, nowMs
        })
        const posted = yield* sql`UPDATE pending_transfers SET state = 'posted', resolved_at_ms = ${nowMs}, posted_transfer_id = ${transferId}
          WHERE id = ${pendingId} AND state = 'pending' RETURNING id`
        if (posted.length !== 1) return yield* Effect.dieMessage(`pending transfer ${pendingId} changed under its row lock`)
        return transferId
      })

    /** Release a live reservation; false when it was not pending any more. */
    const voidPending = (pendingId: TransferId, nowMs: number) =>
      Effect.gen(function* () {
        const voided = yield* sql<{ debit_account_id: string; credit_account_id: string; amount_fen: number }>`UPDATE pending_transfers
          SET state = 'voided', resolved_at_ms = ${nowMs} WHERE id = ${pendingId} AND state = 'pending'
          RETURNING debit_account_id, credit_account_id, amount_fen`
        const row = voided[0]
        if (!row) return false
        const releasedFen = FenDelta.make(-Number(row.amount_fen))
        yield* adjust(row.debit_account_id, "pending_debits_fen", releasedFen)
        yield* adjust(row.credit_account_id, "pending_credits_fen", releasedFen)
        return true
      })

    /** Reservations whose timeout passed, oldest first. */
    const timedOut = (nowMs: number, limit: number) =>
      sql<{ id: TransferId }>`SELECT id FROM pending_transfers WHERE state = 'pending' AND timeout_at_ms <= ${nowMs}
        ORDER BY timeout_at_ms, id LIMIT ${limit}`

    return { byId, liveForOrder, reserve, post, postDirect, voidPending, timedOut } as const
  }),
  dependencies: [LedgerRepo.Default]
}) {}
