import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { CustomerId, OrderId, TransferId } from "../Domain.js"

/** The ledger's fixed accounts. A wallet's ID is `W` + its customer's ID. */
export const centreAccountId = "centre"
export const bankClearingAccountId = "bank-clearing"
export const walletAccountId = (customerId: CustomerId) => `W${customerId}`

export class LedgerRepo extends Effect.Service<LedgerRepo>()("LedgerRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return {
      ensureSystemAccounts: sql`INSERT INTO accounts (id, kind) VALUES (${centreAccountId}, 'centre'), (${bankClearingAccountId}, 'bank-clearing')
        ON CONFLICT (id) DO NOTHING`,
      openWallet: (customerId: CustomerId) =>
        sql`INSERT INTO accounts (id, kind, customer_id) VALUES (${walletAccountId(customerId)}, 'wallet', ${customerId})`,
      balance: (accountId: string) =>
        sql<{ balance_fen: number }>`SELECT balance_fen FROM accounts WHERE id = ${accountId}`.pipe(
          Effect.map((rows) => rows[0]?.balance_fen)
        ),
      /**
       * Moves money in one double-entry transfer. The debit is conditional (a wallet never goes below
       * zero); returns false, changing nothing, when the debit account lacks the funds.
       */
      transfer: (transfer: {
        id: TransferId; debit: string; credit: string; amountFen: number
        purpose: "top-up" | "order-payment" | "change-payment"; orderId: OrderId | null; nowMs: number
      }) =>
        Effect.gen(function* () {
          const debited = yield* sql`UPDATE accounts SET balance_fen = balance_fen - ${transfer.amountFen}
            WHERE id = ${transfer.debit} AND (kind <> 'wallet' OR balance_fen >= ${transfer.amountFen}) RETURNING id`
          if (debited.length !== 1) return false
          const credited = yield* sql`UPDATE accounts SET balance_fen = balance_fen + ${transfer.amountFen}
            WHERE id = ${transfer.credit} RETURNING id`
          if (credited.length !== 1) return yield* Effect.dieMessage(`credit account ${transfer.credit} missing`)
          yield* sql`INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms)
            VALUES (${transfer.id}, ${transfer.debit}, ${transfer.credit}, ${transfer.amountFen}, ${transfer.purpose},
                    ${transfer.orderId}, ${transfer.nowMs})`
          return true
        })
    }
  })
}) {}
