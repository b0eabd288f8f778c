import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { FenTotal } from "../../Domain.js"
import type { CustomerId, OrderId, TransferId } from "../../Domain.js"
import { Queries } from "../../Store/Queries.js"

/** The ledger's fixed accounts. A wallet's ID is `W` + its customer's ID. */
export const centreAccountId = "centre"
export const bankClearingAccountId = "bank-clearing"
export const walletAccountId = (customerId: CustomerId) => `W${customerId}`

/**
 * The accounts that are not a customer's wallet: the centre and the clearing accounts of the bank, the card
 * acquirer and the gateway. Every payment of the rush moves money into or out of one of them, so none of them
 * keeps a balance row: a row that every payment updates would queue every payment behind one lock, however
 * many server processes run. Their balance is the sum of their entries (`accountBalance`). A wallet keeps its
 * balance row, because the rule "a wallet never goes below zero" is a conditional write on it.
 */
export const systemAccountIds: ReadonlySet<string> = new Set([centreAccountId, bankClearingAccountId, "card-clearing", "gateway-clearing"])
export const keepsBalanceRow = (accountId: string) => !systemAccountIds.has(accountId)

export type TransferPurpose = "top-up" | "order-payment" | "change-payment" | "late-capture" | "refund"

export interface NewTransfer {
  readonly id: TransferId
  readonly debit: string
  readonly credit: string
  readonly amountFen: FenTotal
  readonly purpose: TransferPurpose
  readonly orderId: OrderId | null
  readonly nowMs: number
}

export class LedgerRepo extends Effect.Service<LedgerRepo>()("LedgerRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const queries = yield* Queries

    /** An account's balance: its row for a wallet, the sum of its entries for a system account. */
    const balance = (accountId: string) =>
      keepsBalanceRow(accountId)
        ? Effect.map(queries.first<{ balance_fen: number }>("SELECT balance_fen FROM accounts WHERE id = ?", [accountId]), (row) => row?.balance_fen)
        : Effect.map(queries.first<{ balance_fen: number | null }>(`SELECT
              COALESCE((SELECT SUM(amount_fen) FROM transfers WHERE credit_account_id = ?), 0)
            - COALESCE((SELECT SUM(amount_fen) FROM transfers WHERE debit_account_id = ?), 0) AS balance_fen`, [accountId, accountId]),
          (row) => Number(row?.balance_fen ?? 0))

    /**
     * Debit a wallet (a system account has no row to debit): false, changing nothing, when the wallet lacks
     * `amountFen` beyond what pending transfers reserve.
     */
    const debit = (accountId: string, amountFen: FenTotal) =>
      keepsBalanceRow(accountId)
        ? Effect.map(queries.all(`UPDATE accounts SET balance_fen = balance_fen - ? WHERE id = ? AND balance_fen - pending_debits_fen >= ? RETURNING id`,
            [amountFen, accountId, amountFen]), (rows) => rows.length === 1)
        : Effect.succeed(true)

    const credit = (accountId: string, amountFen: FenTotal) =>
      keepsBalanceRow(accountId)
        ? Effect.flatMap(queries.all("UPDATE accounts SET balance_fen = balance_fen + ? WHERE id = ? RETURNING id", [amountFen, accountId]),
            (rows) => rows.length === 1 ? Effect.void : Effect.dieMessage(`credit account ${accountId} missing`))
        : Effect.void

    const insertTransfer = (transfer: NewTransfer) =>
      queries.run(`INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?)`, [transfer.id, transfer.debit, transfer.credit, transfer.amountFen, transfer.purpose, transfer.orderId, transfer.nowMs])

    return {
      ensureSystemAccounts: sql`INSERT INTO accounts (id, kind) VALUES (${centreAccountId}, 'centre'), (${bankClearingAccountId}, 'bank-clearing')
        ON CONFLICT (id) DO NOTHING`,
      openWallet: (customerId: CustomerId) =>
        sql`INSERT INTO accounts (id, kind, customer_id) VALUES (${walletAccountId(customerId)}, 'wallet', ${customerId})`,
      balance,
      /** A customer's wallet balance (0 for a wallet not opened): a wallet never goes below zero. */
      walletBalance: (customerId: CustomerId) => Effect.map(balance(walletAccountId(customerId)), (fen) => FenTotal.make(Number(fen ?? 0))),
      debit,
      credit,
      insertTransfer,
      /**
       * Moves money in one double-entry transfer. The debit is conditional (a wallet never goes below
       * zero); returns false, changing nothing, when the debit account lacks the funds.
       */
      transfer: (transfer: NewTransfer) =>
        Effect.gen(function* () {
          if (!(yield* debit(transfer.debit, transfer.amountFen))) return false
          yield* credit(transfer.credit, transfer.amountFen)
          yield* insertTransfer(transfer)
          return true
        })
    }
  })
}) {}
