/**
 * Remote bookings paid by card at a kiosk (seed 001, claim 8) and the call centre's agents (migration 0013):
 * - `remote_bookings`: a held order booked through the app or by a call-centre agent, with the passenger's name
 *   and the card it is to be paid with, known only by its keyed token (HMAC-SHA256 of the card number under a key
 *   drawn from the server's secrets) and its BIN + last four digits: no column holds a card number; the swipes of
 *   other cards are counted (`wrong_card_swipes`), and at `maxWrongCardSwipesPerRemoteBooking` the booking takes none;
 * - `card_payments.card_token`: the keyed token of the card swiped for a remote booking (NULL for a walk-up sale),
 *   so an audit can check that the card which paid is the card that was booked;
 * - `agents` and `agent_sessions`: call-centre agents, created by an operator, who sign in with a password
 *   (wrong ones counted as a customer's login attempts are) and book on a caller's behalf.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const remoteCardMigration = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const statements = [
    `CREATE TABLE agents (
      id TEXT PRIMARY KEY,
      password_hash TEXT NOT NULL,
      login_failures INTEGER NOT NULL DEFAULT 0,
      created_at_ms BIGINT NOT NULL)`,
    `CREATE TABLE agent_sessions (
      token_hash TEXT PRIMARY KEY,
      agent_id TEXT NOT NULL REFERENCES agents(id),
      expires_at_ms BIGINT NOT NULL)`,
    `CREATE TABLE remote_bookings (
      order_id TEXT PRIMARY KEY REFERENCES orders(id),
      channel TEXT NOT NULL CHECK (channel IN ('app', 'call-centre')),
      agent_id TEXT REFERENCES agents(id),
      passenger_name TEXT NOT NULL,
      card_token TEXT NOT NULL,
      card_bin TEXT NOT NULL,
      card_last4 TEXT NOT NULL,
      wrong_card_swipes INTEGER NOT NULL DEFAULT 0,
      created_at_ms BIGINT NOT NULL,
      CHECK ((channel = 'call-centre') = (agent_id IS NOT NULL)))`,
    `ALTER TABLE card_payments ADD COLUMN card_token TEXT`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
})
