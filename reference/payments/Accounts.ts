/**
 * Accounts (seed 000: the account server): wallets, the ticketing centre's account and the bank's
 * clearing account in a double-entry ledger of integer fen. A top-up moves money from the bank into a wallet;
 * paying an order from the wallet is the checkout's (Checkout.ts).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import type { TopUpResult } from "./Accounts/Api.js"
import { TopUpResult as TopUpResultSchema } from "./Accounts/Api.js"
import { bankClearingAccountId, LedgerRepo, walletAccountId } from "./Accounts/Repo.js"
import { Checkout } from "./Checkout.js"
import { FaultConfig } from "../Settings/Faults.js"
import { WalletConfig } from "../Settings/Wallet.js"
import { FenTotal, TopUpTooLarge, WalletBalanceLimitReached } from "../Domain.js"
import type { CustomerId, Fen } from "../Domain.js"
import { Ids } from "../Ids.js"
import { idempotent } from "../Idempotency.js"
import { spanOptions } from "../Spans.js"

export class Accounts extends Effect.Service<Accounts>()("Accounts", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ledger = yield* LedgerRepo
    const checkout = yield* Checkout
    const ids = yield* Ids
    const faultSettings = yield* FaultConfig
    const walletSettings = yield* WalletConfig

    /** the key's stored answer, or the work done once and its answer stored (skipped by the planted mutation) */
    const keyed: typeof idempotent = (options, work) =>
      faultSettings.plantedBug === "no-idempotency-check" ? work : idempotent(options, work)

    const getWallet = (customerId: CustomerId) =>
      Effect.map(ledger.walletBalance(customerId), (balanceFen) => ({ balanceFen }))

    /**
     * Money arriving from the customer's bank (simulated): bank clearing → wallet. At most `maxTopUpFen` at a
     * time, and never past `maxWalletBalanceFen`: the balance is read after the credit, in its transaction, so
     * concurrent top-ups (each waiting for the wallet row's lock) cannot pass the cap together.
     */
    const topUp = (customerId: CustomerId, key: string, amountFen: Fen) =>
      Effect.gen(function* () {
        if (amountFen > walletSettings.maxTopUpFen) return yield* new TopUpTooLarge({ amountFen, maxTopUpFen: FenTotal.make(walletSettings.maxTopUpFen) })
        const nowMs = yield* Clock.currentTimeMillis
        const transferId = yield* ids.transferId
        const work = Effect.gen(function* () {
          yield* ledger.transfer({
            id: transferId, debit: bankClearingAccountId, credit: walletAccountId(customerId),
            amountFen: FenTotal.make(amountFen), purpose: "top-up", orderId: null, nowMs
          })
          const { balanceFen } = yield* getWallet(customerId)
          if (balanceFen > walletSettings.maxWalletBalanceFen) {
            // the failure rolls the credit back with the transaction
            return yield* new WalletBalanceLimitReached({
              balanceFen: FenTotal.make(balanceFen - amountFen), amountFen, maxWalletBalanceFen: FenTotal.make(walletSettings.maxWalletBalanceFen)
            })
          }
          const result: TopUpResult = { transferId, balanceFen }
          return result
        })
        const request = { endpoint: "topUp", amountFen }
        return yield* keyed({ scope: customerId, key, request, schema: TopUpResultSchema, nowMs }, work).pipe(sql.withTransaction)
      }).pipe(Effect.withSpan("Accounts.topUp", spanOptions))

    /** Pay a held order from the wallet: the checkout's wallet payment (Checkout.ts). */
    const pay = checkout.payFromWallet

    return { getWallet, topUp, pay, maxTopUpFen: walletSettings.maxTopUpFen } as const
  }),
  dependencies: [LedgerRepo.Default, Ids.Default]
}) {}
