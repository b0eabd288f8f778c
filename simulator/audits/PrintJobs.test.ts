/**
 * The print-jobs audit against planted faults: a store and a history where every job came out once are clean;
 * a paid kiosk order without a job, a job left pending, a ticket or receipt printed twice, a job printed in the
 * store that never came out, and paper for a job the store does not know are each named.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, ManagedRuntime } from "effect"
import { sqliteStore } from "../../reference/Store/Sqlite.js"
import { History } from "../History.js"
import { printJobsPrintedOnce } from "./PrintJobs.js"

const atMs = 1_801_094_400_000

const store = [
  `INSERT INTO customers (id, phone, password_hash, payment_password_hash, created_at_ms) VALUES ('C1', NULL, 'x', 'x', ${atMs})`,
  `INSERT INTO accounts (id, kind, customer_id, balance_fen) VALUES ('centre', 'centre', NULL, 0)`,
  `INSERT INTO train_runs (id, train_code, service_date) VALUES ('R1', 'G1', '2027-01-28')`,
  `INSERT INTO seats (id, run_id, coach, seat_code, seat_class, occupied_mask) VALUES (1, 'R1', 1, '01A', 'second', 1), (2, 'R1', 1, '01B', 'second', 1), (3, 'R1', 1, '01C', 'second', 1)`,
  `INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state, held_at_ms, hold_expires_at_ms) VALUES
    ('O-sale', 'C1', 'R1', 1, 0, 1, 1, 100, 'issued', ${atMs}, ${atMs}), ('O-pickup', 'C1', 'R1', 2, 0, 1, 1, 100, 'issued', ${atMs}, ${atMs}),
    ('O-sale-2', 'C1', 'R1', 3, 0, 1, 1, 100, 'issued', ${atMs}, ${atMs})`,
  `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms) VALUES
    ('T1', 'card-clearing', 'centre', 100, 'order-payment', 'O-sale', ${atMs}), ('T2', 'card-clearing', 'centre', 100, 'order-payment', 'O-pickup', ${atMs}),
    ('T3', 'card-clearing', 'centre', 100, 'order-payment', 'O-sale-2', ${atMs})`,
  `INSERT INTO kiosks (id, station_code, key_hash) VALUES ('K1', 'BJP', 'h1')`,
  `INSERT INTO kiosk_orders (order_id, kiosk_id) VALUES ('O-sale', 'K1'), ('O-sale-2', 'K1')`
]
const jobs = (states: { sale: string; pickup: string }) => [
  `INSERT INTO print_jobs (id, kiosk_id, order_id, receipt_text, state, created_at_ms) VALUES
    ('P-sale', 'K1', 'O-sale', 'r', '${states.sale}', ${atMs}), ('P-pickup', 'K1', 'O-pickup', 'r', '${states.pickup}', ${atMs})`,
  `INSERT INTO print_jobs (id, kiosk_id, order_id, receipt_text, state, created_at_ms) VALUES ('P-sale-2', 'K1', 'O-sale-2', 'r', 'printed', ${atMs})`
]

const printed = (history: History, jobId: string, part: string) =>
  history.add({ atMs, actor: "kiosk-K1", kind: "print", outcome: "ok", detail: { jobId, part } })

const historyOf = (prints: ReadonlyArray<readonly [string, string]>) => {
  const history = new History()
  for (const [jobId, part] of prints) printed(history, jobId, part)
  return history
}
const everyJobOnce: ReadonlyArray<readonly [string, string]> = ["P-sale", "P-pickup", "P-sale-2"].flatMap((jobId) => [[jobId, "ticket"], [jobId, "receipt"]] as const)

const auditOf = async (statements: ReadonlyArray<string>, history: History) => {
  const runtime = ManagedRuntime.make(sqliteStore({ filename: ":memory:" }))
  try {
    return await runtime.runPromise(Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      for (const statement of statements) yield* sql.unsafe(statement)
      return yield* printJobsPrintedOnce(history)
    }))
  } finally {
    await runtime.dispose()
  }
}

describe("print-jobs audit", () => {
  test("every job printed once in the store and out of the printers once: clean", async () => {
    const result = await auditOf([...store, ...jobs({ sale: "printed", pickup: "printed" })], historyOf(everyJobOnce))
    assert.deepEqual(result, { name: "print-jobs-printed-once", description: result.description, violations: 0 })
  })

  test("each planted fault is named", async () => {
    const history = historyOf([...everyJobOnce, ["P-sale", "ticket"], ["P-pickup", "receipt"], ["P-ghost", "ticket"]])
    const statements = [...store, ...jobs({ sale: "printed", pickup: "pending" })]
    // O-sale-2 paid at the kiosk, but its job is gone
    statements.push(`DELETE FROM print_jobs WHERE id = 'P-sale-2'`)
    const result = await auditOf(statements, history)
    assert.deepEqual([...(result.witness ?? [])].sort(), [
      "kiosk order O-sale-2: paid, but no print job",
      "print job P-ghost: came out of a printer, but the store has no such job",
      "print job P-pickup of order O-pickup: still pending (lost)",
      "print job P-pickup: receipt printed 2 times",
      "print job P-sale-2: came out of a printer, but the store has no such job",
      "print job P-sale: ticket printed 2 times"
    ])
  })

  test("a card payment captured at a kiosk for an order held elsewhere (a remote booking) without its print job is named", async () => {
    const remote = [
      `INSERT INTO seats (id, run_id, coach, seat_code, seat_class, occupied_mask) VALUES (4, 'R1', 1, '01D', 'second', 1)`,
      `INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state, held_at_ms, hold_expires_at_ms)
        VALUES ('O-remote', 'C1', 'R1', 4, 0, 1, 1, 100, 'issued', ${atMs}, ${atMs})`,
      `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms)
        VALUES ('T4', 'card-clearing', 'centre', 100, 'order-payment', 'O-remote', ${atMs})`,
      `INSERT INTO pending_transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, state, created_at_ms, timeout_at_ms)
        VALUES ('PT4', 'card-clearing', 'centre', 100, 'card-payment', 'O-remote', 'posted', ${atMs}, ${atMs})`,
      `INSERT INTO card_payments (pending_transfer_id, order_id, kiosk_id, card_bin, card_last4, state, created_at_ms)
        VALUES ('PT4', 'O-remote', 'K1', '622202', '0018', 'captured', ${atMs})`
    ]
    const result = await auditOf([...store, ...jobs({ sale: "printed", pickup: "printed" }), ...remote], historyOf(everyJobOnce))
    assert.deepEqual(result.witness, ["kiosk order O-remote: paid, but no print job"])
  })

  test("a job the store calls printed whose receipt never came out is named", async () => {
    const result = await auditOf([...store, ...jobs({ sale: "printed", pickup: "printed" })],
      historyOf(everyJobOnce.filter(([jobId, part]) => !(jobId === "P-sale" && part === "receipt"))))
    assert.deepEqual(result.witness, ["print job P-sale: printed in the store, but 1 tickets and 0 receipts came out"])
  })
})
