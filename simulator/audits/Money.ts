/**
 * Money: the ledger balances (2), and a request retried with its idempotency key charges once (8).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { History } from "../History.js"
import type { HistoryEvent, HistoryKind } from "../../devices/HistoryEvents.js"
import type { Violation } from "./Witness.js"

/** orders of a drifting or overdrawn wallet's customer named, to find its phone in the history */
const maxOrdersPerAccount = 3

/** The orders of each customer whose wallet is named, so the witness can show their phones' payments. */
const ordersOfWallets = (accountIds: ReadonlyArray<string>) => Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const customerIds = accountIds.filter((id) => id.startsWith("W")).map((id) => id.slice(1))
  const orders = new Map<string, Array<string>>()
  if (customerIds.length === 0) return orders
  const rows = yield* sql<{ id: string; customer_id: string }>`SELECT id, customer_id FROM orders
    WHERE ${sql.in("customer_id", customerIds.slice(0, 100))} ORDER BY held_at_ms, id`
  for (const row of rows) {
    const own = orders.get(`W${row.customer_id}`) ?? []
    if (own.length < maxOrdersPerAccount) orders.set(`W${row.customer_id}`, [...own, row.id])
  }
  return orders
})

/**
 * (2) Every transfer balances, balances equal their entries, no wallet is negative. A wallet's balance is its
 * row, which every payment's conditional debit reads, so it must equal the wallet's entries; a system
 * account's balance is its entries by definition (`account_balances`), so the sum over every account is zero
 * exactly when the wallets' rows agree with the ledger. A system account's row keeps no sums: a non-zero
 * stored one is drift too. Each customer's running net spend (invoices are decided on it) must equal what the
 * ledger's transfers for their orders brought the centre.
 */
export const moneyConserved = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [total] = yield* sql<{ total: number | null }>`SELECT SUM(balance_fen) AS total FROM account_balances`
  const drift = yield* sql<{ id: string; kind: string; balance_fen: number; ledger: number }>`
    SELECT a.id, a.kind, a.balance_fen,
      CASE WHEN a.kind = 'wallet' THEN
        COALESCE((SELECT SUM(amount_fen) FROM transfers t WHERE t.credit_account_id = a.id), 0)
        - COALESCE((SELECT SUM(amount_fen) FROM transfers t WHERE t.debit_account_id = a.id), 0)
      ELSE 0 END AS ledger
    FROM accounts a`
  const negative = yield* sql<{ id: string; balance_fen: number }>`SELECT id, balance_fen FROM accounts WHERE kind = 'wallet' AND balance_fen < 0`
  // each customer's running net spend (what invoices are decided on) against the ledger's transfers for their orders
  const spends = yield* sql<{ id: string; net_spend_fen: number; ledger: number }>`
    SELECT c.id, c.net_spend_fen,
      COALESCE((SELECT SUM(CASE WHEN t.credit_account_id = 'centre' THEN t.amount_fen WHEN t.debit_account_id = 'centre' THEN -t.amount_fen ELSE 0 END)
                FROM transfers t JOIN orders o ON o.id = t.order_id WHERE o.customer_id = c.id), 0) AS ledger
    FROM customers c`
  const spendDrift = spends.filter((row) => Number(row.net_spend_fen) !== Number(row.ledger))
  const drifting = drift.filter((row) => Number(row.balance_fen) !== Number(row.ledger))
  const orders = yield* ordersOfWallets([...drifting, ...negative, ...spendDrift.map((row) => ({ id: `W${row.id}` }))].map((row) => row.id))
  const violations: Array<Violation> = [
    ...(Number(total?.total ?? 0) === 0 ? [] : [{ line: `balances sum to ${total?.total} fen, not 0` }]),
    ...drifting.map((row) => ({
      line: row.kind === "wallet"
        ? `account ${row.id}: balance ${row.balance_fen} but entries sum to ${row.ledger}`
        : `account ${row.id}: a system account keeps no balance row, but its row holds ${row.balance_fen} fen`,
      orders: orders.get(row.id) ?? []
    })),
    ...negative.map((row) => ({ line: `wallet ${row.id} is at ${row.balance_fen} fen`, orders: orders.get(row.id) ?? [] })),
    ...spendDrift.map((row) => ({
      line: `customer ${row.id}: net spend counted ${row.net_spend_fen} fen but the ledger's transfers for their orders sum to ${row.ledger}`,
      orders: orders.get(`W${row.id}`) ?? []
    }))
  ]
  return violations
})

interface KeyedAttempts {
  readonly actor: string
  readonly kind: HistoryKind
  readonly key: string
  readonly events: Array<HistoryEvent>
  /** the transfers the answers named, lost ones included, in order of first mention */
  readonly transferIds: Array<string>
}

/** The history's calls that carry an idempotency key (`detail.key`), grouped by actor, kind and key. */
const keyedAttempts = (history: History) => {
  const groups = new Map<string, KeyedAttempts>()
  for (const event of history.read()) {
    const key = event.detail?.key
    if (typeof key !== "string") continue
    const id = JSON.stringify([event.actor, event.kind, key])
    const group = groups.get(id) ?? { actor: event.actor, kind: event.kind, key, events: [], transferIds: [] }
    groups.set(id, group)
    group.events.push(event)
    const transferId = event.detail?.transferId
    if (typeof transferId === "string" && !group.transferIds.includes(transferId)) group.transferIds.push(transferId)
  }
  return [...groups.values()]
}

/**
 * (8) A retried request with the same idempotency key never charges twice. From the history: the answers to
 * every attempt of a key sent more than once (the lost ones too, see devices/ClientRetries.ts) name one transfer, and the store's stored answer for the key
 * (idempotency_keys) names that same transfer. From the store alone: no order has two `order-payment` transfers.
 */
export const chargedOnce = (history: History) => Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // a key sent twice is a retry whether or not an answer went missing (ResponseLost): one charge either way
  const retried = keyedAttempts(history).filter((group) => group.events.length > 1)
  const violations: Array<Violation> = []
  const named = retried.flatMap((group) => group.transferIds)
  const inStore = new Set<string>()
  for (let start = 0; start < named.length; start += 500) {
    const rows = yield* sql<{ id: string }>`SELECT id FROM transfers WHERE ${sql.in("id", named.slice(start, start + 500))}`
    for (const row of rows) inStore.add(row.id)
  }
  for (const group of retried.filter((candidate) => candidate.transferIds.length > 1)) {
    const stored = group.transferIds.filter((id) => inStore.has(id))
    violations.push({
      line: `key ${group.key} (${group.actor} ${group.kind}, ${group.events.length} attempts, ` +
        `${group.events.filter((event) => event.outcome === "ResponseLost").length} answers lost): ` +
        `answers name ${group.transferIds.length} transfers ${group.transferIds.join(", ")}, ${stored.length} of them in the store`,
      events: group.events
    })
  }
  // a key's scope is its customer, whom the history does not name: compare only keys one actor and one scope used
  const keys = [...new Set(retried.map((group) => group.key))].filter((key) => retried.filter((group) => group.key === key).length === 1)
  const stored: Array<{ scope: string; idempotency_key: string; response_json: string }> = []
  for (let start = 0; start < keys.length; start += 500) {
    stored.push(...yield* sql<{ scope: string; idempotency_key: string; response_json: string }>`SELECT scope, idempotency_key, response_json
      FROM idempotency_keys WHERE ${sql.in("idempotency_key", keys.slice(start, start + 500))}`)
  }
  for (const row of stored) {
    if (stored.filter((other) => other.idempotency_key === row.idempotency_key).length === 1) violations.push(...storedAnswerDisagrees(row, retried))
  }
  const paidTwice = yield* sql<{ order_id: string; payments: number }>`SELECT order_id, COUNT(*) AS payments FROM transfers
    WHERE purpose = 'order-payment' GROUP BY order_id HAVING COUNT(*) > 1 ORDER BY order_id`
  violations.push(...paidTwice.map((row) => ({ line: `order ${row.order_id}: ${row.payments} order-payment transfers`, orders: [row.order_id] })))
  return violations
})

/** A stored answer names the transfer the key made; a device answered with another one was charged by another. */
const storedAnswerDisagrees = (
  row: { scope: string; idempotency_key: string; response_json: string }, retried: ReadonlyArray<KeyedAttempts>
): Array<Violation> => {
  let storedTransferId: unknown
  try { storedTransferId = (JSON.parse(row.response_json) as { transferId?: unknown }).transferId } catch { storedTransferId = undefined }
  if (typeof storedTransferId !== "string") return []
  return retried
    .filter((group) => group.key === row.idempotency_key && group.transferIds.some((id) => id !== storedTransferId))
    .map((group) => ({
      line: `key ${group.key} (${group.actor} ${group.kind}): stored answer names transfer ${storedTransferId}, ` +
        `but the device was answered ${group.transferIds.filter((id) => id !== storedTransferId).join(", ")}`,
      events: group.events
    }))
}
