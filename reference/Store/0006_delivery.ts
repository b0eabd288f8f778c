/**
 * Delivery (seeds 000, 002, 003, 004): devices that authenticate with a key (SMS gateways, ticket
 * machines, SIM carriers), the SMS channel in and out, SMS orders, delivery jobs written in the issuing
 * transaction, SIM carriers and the places of their tickets, and cinema pickup vouchers.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const deliveryMigration = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const serial = sql.onDialectOrElse({ pg: () => "BIGSERIAL PRIMARY KEY", orElse: () => "INTEGER PRIMARY KEY AUTOINCREMENT" })
  const statements = [
    `CREATE TABLE devices (
      kind TEXT NOT NULL CHECK (kind IN ('sms-gateway', 'ticket-machine', 'sim-carrier')),
      id TEXT NOT NULL,
      key_hash TEXT NOT NULL UNIQUE,
      detail TEXT NOT NULL,
      registered_at_ms BIGINT NOT NULL,
      PRIMARY KEY (kind, id))`,
    // the simulated SMS gateway's log of texts sent; a dedupe key sends a notice once however often it is retried
    `CREATE TABLE sms_outbound (
      id ${serial},
      to_phone TEXT NOT NULL,
      text TEXT NOT NULL,
      purpose TEXT NOT NULL CHECK (purpose IN ('reply', 'ticket-notice')),
      dedupe_key TEXT UNIQUE,
      created_at_ms BIGINT NOT NULL)`,
    // one row per text a gateway delivered: a retried delivery of the same message gets the stored reply
    `CREATE TABLE sms_inbound (
      gateway_id TEXT NOT NULL,
      message_id TEXT NOT NULL,
      from_phone TEXT NOT NULL,
      text TEXT NOT NULL,
      reply_id BIGINT,
      reply_text TEXT,
      received_at_ms BIGINT NOT NULL,
      PRIMARY KEY (gateway_id, message_id))`,
    `CREATE TABLE sms_orders (
      customer_id TEXT NOT NULL REFERENCES customers(id),
      ref TEXT NOT NULL,
      created_at_ms BIGINT NOT NULL,
      PRIMARY KEY (customer_id, ref))`,
    `CREATE TABLE sms_order_items (
      order_id TEXT PRIMARY KEY REFERENCES orders(id),
      customer_id TEXT NOT NULL,
      ref TEXT NOT NULL)`,
    `CREATE INDEX sms_order_items_by_ref ON sms_order_items(customer_id, ref)`,
    `CREATE TABLE delivery_jobs (
      ticket_id TEXT PRIMARY KEY REFERENCES tickets(id),
      created_at_ms BIGINT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      leased_until_ms BIGINT,
      done_at_ms BIGINT)`,
    `CREATE INDEX delivery_jobs_pending ON delivery_jobs(done_at_ms, created_at_ms)`,
    `CREATE TABLE sim_carriers (
      msisdn TEXT PRIMARY KEY,
      capacity_bytes INTEGER NOT NULL,
      capacity_slots INTEGER NOT NULL,
      used_slots INTEGER NOT NULL DEFAULT 0,
      registered_at_ms BIGINT NOT NULL,
      CHECK (used_slots >= 0 AND used_slots <= capacity_slots))`,
    // every placed ticket has one row, so it is in one place: on the carrier, in the network box, or removed from the carrier
    `CREATE TABLE ticket_places (
      ticket_id TEXT PRIMARY KEY REFERENCES tickets(id),
      msisdn TEXT NOT NULL REFERENCES sim_carriers(msisdn),
      place TEXT NOT NULL CHECK (place IN ('carrier', 'box', 'removed')),
      issued_at_ms BIGINT NOT NULL,
      placed_at_ms BIGINT NOT NULL,
      written_at_ms BIGINT)`,
    `CREATE INDEX ticket_places_by_carrier ON ticket_places(msisdn, place, issued_at_ms, ticket_id)`,
    `CREATE TABLE ticket_vouchers (
      ticket_id TEXT PRIMARY KEY REFERENCES tickets(id),
      code TEXT NOT NULL UNIQUE,
      created_at_ms BIGINT NOT NULL,
      redeemed_at_ms BIGINT,
      redeemed_machine_id TEXT)`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
})
