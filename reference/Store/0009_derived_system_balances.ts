/**
 * System accounts without a balance row (migration 0009): the centre's and the clearing accounts' balances are
 * the sums of their entries, not columns every payment updates (reference/payments/Accounts/Repo.ts `keepsBalanceRow`).
 * Their stored sums are zeroed, and `account_balances` shows every account's balance and pending amounts as the
 * ledger defines them: a wallet's from its row, a system account's from its transfers and live reservations.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const derivedSystemBalancesMigration = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`UPDATE accounts SET balance_fen = 0, pending_debits_fen = 0, pending_credits_fen = 0 WHERE kind <> 'wallet'`)
  yield* sql.unsafe(`CREATE VIEW account_balances AS
    SELECT a.id, a.kind, a.customer_id,
      CASE WHEN a.kind = 'wallet' THEN a.balance_fen ELSE
        COALESCE((SELECT SUM(t.amount_fen) FROM transfers t WHERE t.credit_account_id = a.id), 0)
        - COALESCE((SELECT SUM(t.amount_fen) FROM transfers t WHERE t.debit_account_id = a.id), 0) END AS balance_fen,
      CASE WHEN a.kind = 'wallet' THEN a.pending_debits_fen ELSE
        COALESCE((SELECT SUM(p.amount_fen) FROM pending_transfers p WHERE p.state = 'pending' AND p.debit_account_id = a.id), 0) END AS pending_debits_fen,
      CASE WHEN a.kind = 'wallet' THEN a.pending_credits_fen ELSE
        COALESCE((SELECT SUM(p.amount_fen) FROM pending_transfers p WHERE p.state = 'pending' AND p.credit_account_id = a.id), 0) END AS pending_credits_fen
    FROM accounts a`)
})
