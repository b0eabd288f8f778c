/**
 * The schema, one migration a step. Written for SQLite and PostgreSQL alike: BIGINT for money and
 * masks (64-bit on both), TEXT IDs, bitwise `&`, `|`, `~` on both; identity columns differ by dialect.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { customers as customers0002 } from "./0002_customers.js"
import { catalogMigration } from "./0003_catalog.js"
import { lifecycle } from "./0004_lifecycle.js"
import { payments } from "./0005_payments.js"
import { deliveryMigration } from "./0006_delivery.js"
import { opsMigration } from "./0007_ops.js"
import { smsBuysMigration } from "./0008_sms_buys.js"
import { derivedSystemBalancesMigration } from "./0009_derived_system_balances.js"
import { leanWritesMigration } from "./0010_lean_writes.js"
import { postgresHoldsMigration } from "./0011_postgres_holds.js"
import { attemptLimitsMigration } from "./0012_attempt_limits.js"
import { remoteCardMigration } from "./0013_remote_card.js"

const init = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const serial = sql.onDialectOrElse({ pg: () => "BIGSERIAL PRIMARY KEY", orElse: () => "INTEGER PRIMARY KEY AUTOINCREMENT" })
  const statements = [
    `CREATE TABLE customers (
      id TEXT PRIMARY KEY,
      phone TEXT UNIQUE,
      password_hash TEXT,
      payment_password_hash TEXT NOT NULL,
      payment_failures INTEGER NOT NULL DEFAULT 0,
      created_at_ms BIGINT NOT NULL)`,
    `CREATE TABLE sessions (
      token_hash TEXT PRIMARY KEY,
      customer_id TEXT NOT NULL REFERENCES customers(id),
      expires_at_ms BIGINT NOT NULL)`,
    `CREATE TABLE accounts (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL CHECK (kind IN ('wallet', 'centre', 'bank-clearing', 'card-clearing', 'gateway-clearing')),
      customer_id TEXT UNIQUE REFERENCES customers(id),
      balance_fen BIGINT NOT NULL DEFAULT 0,
      CHECK (kind <> 'wallet' OR balance_fen >= 0))`,
    `CREATE TABLE transfers (
      id TEXT PRIMARY KEY,
      debit_account_id TEXT NOT NULL REFERENCES accounts(id),
      credit_account_id TEXT NOT NULL REFERENCES accounts(id),
      amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
      purpose TEXT NOT NULL CHECK (purpose IN ('top-up', 'order-payment', 'order-refund', 'change-payment', 'change-refund', 'late-capture', 'refund')),
      order_id TEXT,
      created_at_ms BIGINT NOT NULL)`,
    `CREATE INDEX transfers_by_debit ON transfers(debit_account_id)`,
    `CREATE INDEX transfers_by_credit ON transfers(credit_account_id)`,
    `CREATE UNIQUE INDEX transfers_one_payment_per_order ON transfers(order_id) WHERE purpose = 'order-payment'`,
    `CREATE TABLE idempotency_keys (
      scope TEXT NOT NULL,
      idempotency_key TEXT NOT NULL,
      request_hash TEXT NOT NULL,
      response_json TEXT NOT NULL,
      created_at_ms BIGINT NOT NULL,
      PRIMARY KEY (scope, idempotency_key))`,
    `CREATE TABLE train_runs (
      id TEXT PRIMARY KEY,
      train_code TEXT NOT NULL,
      service_date TEXT NOT NULL,
      UNIQUE (train_code, service_date))`,
    `CREATE TABLE run_stops (
      run_id TEXT NOT NULL REFERENCES train_runs(id),
      stop_index INTEGER NOT NULL,
      station_code TEXT NOT NULL,
      station_name TEXT NOT NULL,
      departure_minute_of_day INTEGER NOT NULL,
      fare_fen_to_next BIGINT NOT NULL,
      PRIMARY KEY (run_id, stop_index))`,
    `CREATE INDEX run_stops_station ON run_stops(station_code)`,
    `CREATE TABLE seats (
      id ${serial},
      run_id TEXT NOT NULL REFERENCES train_runs(id),
      coach INTEGER NOT NULL,
      seat_code TEXT NOT NULL,
      seat_class TEXT NOT NULL,
      occupied_mask BIGINT NOT NULL DEFAULT 0,
      version BIGINT NOT NULL DEFAULT 0,
      UNIQUE (run_id, coach, seat_code))`,
    `CREATE INDEX seats_by_run ON seats(run_id, id)`,
    // covering index for availability counts: a search reads only the index, never the seat rows
    `CREATE INDEX seats_availability ON seats(run_id, occupied_mask)`,
    `CREATE TABLE orders (
      id TEXT PRIMARY KEY,
      customer_id TEXT NOT NULL REFERENCES customers(id),
      run_id TEXT NOT NULL REFERENCES train_runs(id),
      seat_id BIGINT NOT NULL REFERENCES seats(id),
      from_index INTEGER NOT NULL,
      to_index INTEGER NOT NULL,
      segment_mask BIGINT NOT NULL,
      price_fen BIGINT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('held', 'paid', 'issued', 'expired', 'cancelled', 'refunded', 'changed')),
      held_at_ms BIGINT NOT NULL,
      hold_expires_at_ms BIGINT NOT NULL,
      paid_at_ms BIGINT,
      issued_at_ms BIGINT,
      closed_at_ms BIGINT)`,
    `CREATE INDEX orders_by_state_expiry ON orders(state, hold_expires_at_ms)`,
    `CREATE INDEX orders_by_seat ON orders(seat_id)`,
    `CREATE TABLE outbox (
      id ${serial},
      kind TEXT NOT NULL CHECK (kind IN ('issue-ticket')),
      order_id TEXT NOT NULL UNIQUE REFERENCES orders(id),
      created_at_ms BIGINT NOT NULL,
      processed_at_ms BIGINT)`,
    `CREATE INDEX outbox_pending ON outbox(processed_at_ms, id)`,
    `CREATE TABLE tickets (
      id TEXT PRIMARY KEY,
      order_id TEXT NOT NULL UNIQUE REFERENCES orders(id),
      holder TEXT NOT NULL,
      key_id INTEGER NOT NULL,
      qr_text TEXT NOT NULL,
      issued_at_ms BIGINT NOT NULL,
      admitted_at_ms BIGINT,
      admitted_gate_id TEXT)`,
    `CREATE TABLE gates (
      id TEXT PRIMARY KEY,
      station_code TEXT NOT NULL,
      key_hash TEXT NOT NULL UNIQUE)`,
    `CREATE TABLE scans (
      id ${serial},
      gate_id TEXT NOT NULL,
      ticket_id TEXT,
      outcome TEXT NOT NULL,
      at_ms BIGINT NOT NULL)`,
    `CREATE TABLE signing_keys (
      key_id INTEGER PRIMARY KEY,
      seed_hex TEXT NOT NULL,
      binding_salt_hex TEXT NOT NULL)`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
})

const migrations = {
  "0001_init": init,
  "0002_customers": customers0002,
  "0003_catalog": catalogMigration,
  "0004_lifecycle": lifecycle,
  "0005_payments": payments,
  "0006_delivery": deliveryMigration,
  "0007_ops": opsMigration,
  "0008_sms_buys": smsBuysMigration,
  "0009_derived_system_balances": derivedSystemBalancesMigration,
  "0010_lean_writes": leanWritesMigration,
  "0011_postgres_holds": postgresHoldsMigration,
  "0012_attempt_limits": attemptLimitsMigration,
  "0013_remote_card": remoteCardMigration,
}

export const loader = Migrator.fromRecord(migrations)

/** the migrations this code knows, by name (`0001_init`…): a store migrated by it has every one */
export const migrationNames: ReadonlyArray<string> = Object.keys(migrations)

/** the table @effect/sql's migrator records a store's migrations in */
export const migrationsTable = "effect_sql_migrations"

export const runMigrations = Migrator.make({})({ loader, table: migrationsTable })
