/**
 * Payments (seeds 000, 001, 004): two-phase transfers (pending → posted / voided), kiosks and their print
 * jobs, card payments through the bank, and charges at a third-party gateway. Neither a PAN, a PIN nor a
 * PIN block has a column here: a card is known by its BIN and last four digits only.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const payments = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const statements = [
    // TigerBeetle's pending amounts: reserved by a pending transfer, not yet in balance_fen
    `ALTER TABLE accounts ADD COLUMN pending_debits_fen BIGINT NOT NULL DEFAULT 0`,
    `ALTER TABLE accounts ADD COLUMN pending_credits_fen BIGINT NOT NULL DEFAULT 0`,
    `INSERT INTO accounts (id, kind) VALUES ('card-clearing', 'card-clearing'), ('gateway-clearing', 'gateway-clearing')
      ON CONFLICT (id) DO NOTHING`,
    `CREATE TABLE pending_transfers (
      id TEXT PRIMARY KEY,
      debit_account_id TEXT NOT NULL REFERENCES accounts(id),
      credit_account_id TEXT NOT NULL REFERENCES accounts(id),
      amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
      purpose TEXT NOT NULL CHECK (purpose IN ('card-payment', 'gateway-payment')),
      order_id TEXT NOT NULL REFERENCES orders(id),
      state TEXT NOT NULL CHECK (state IN ('pending', 'posted', 'voided')),
      created_at_ms BIGINT NOT NULL,
      timeout_at_ms BIGINT NOT NULL,
      resolved_at_ms BIGINT,
      posted_transfer_id TEXT REFERENCES transfers(id))`,
    // at most one live reservation per order: two concurrent payments of one order cannot both reserve
    `CREATE UNIQUE INDEX pending_transfers_one_live_per_order ON pending_transfers(order_id) WHERE state = 'pending'`,
    `CREATE INDEX pending_transfers_by_timeout ON pending_transfers(state, timeout_at_ms)`,
    `CREATE TABLE kiosks (
      id TEXT PRIMARY KEY,
      station_code TEXT NOT NULL,
      key_hash TEXT NOT NULL UNIQUE)`,
    `CREATE TABLE kiosk_orders (
      order_id TEXT PRIMARY KEY REFERENCES orders(id),
      kiosk_id TEXT NOT NULL REFERENCES kiosks(id))`,
    `CREATE TABLE card_payments (
      pending_transfer_id TEXT PRIMARY KEY REFERENCES pending_transfers(id),
      order_id TEXT NOT NULL REFERENCES orders(id),
      kiosk_id TEXT NOT NULL REFERENCES kiosks(id),
      card_bin TEXT NOT NULL,
      card_last4 TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('authorising', 'captured', 'declined', 'voided', 'refunded')),
      authorisation_id TEXT,
      auth_code TEXT,
      decline_reason TEXT,
      created_at_ms BIGINT NOT NULL,
      resolved_at_ms BIGINT)`,
    `CREATE INDEX card_payments_by_order ON card_payments(order_id)`,
    `CREATE TABLE print_jobs (
      id TEXT PRIMARY KEY,
      kiosk_id TEXT NOT NULL REFERENCES kiosks(id),
      order_id TEXT NOT NULL UNIQUE REFERENCES orders(id),
      receipt_text TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'printed')),
      faults INTEGER NOT NULL DEFAULT 0,
      last_fault TEXT,
      created_at_ms BIGINT NOT NULL,
      printed_at_ms BIGINT)`,
    `CREATE INDEX print_jobs_by_kiosk ON print_jobs(kiosk_id, state)`,
    `CREATE TABLE gateway_charges (
      id TEXT PRIMARY KEY,
      order_id TEXT NOT NULL REFERENCES orders(id),
      customer_id TEXT NOT NULL REFERENCES customers(id),
      pending_transfer_id TEXT NOT NULL UNIQUE REFERENCES pending_transfers(id),
      amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
      state TEXT NOT NULL CHECK (state IN ('pending', 'captured', 'failed', 'refunding', 'refunded')),
      callbacks_received INTEGER NOT NULL DEFAULT 0,
      created_at_ms BIGINT NOT NULL,
      resolved_at_ms BIGINT)`,
    `CREATE INDEX gateway_charges_by_state ON gateway_charges(state, created_at_ms)`,
    `CREATE INDEX gateway_charges_by_order ON gateway_charges(order_id)`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
})
