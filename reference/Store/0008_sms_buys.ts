/**
 * SMS BUY requests (migration 0008, seed 002 [0084], [0100]): the order an SMS BUY made stays the answer
 * to the same BUY from the same customer while it awaits confirmation. One row per customer and request
 * (train run, journey, ticket count): the primary key lets one BUY at a time claim it, so two copies of a
 * text handled at once hold once. `ref` is null while the claiming BUY is still holding seats.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const smsBuysMigration = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // no reference to train_runs: a BUY naming a train that does not run is claimed, refused and let go
  yield* sql.unsafe(`CREATE TABLE sms_buy_requests (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    run_id TEXT NOT NULL,
    from_station TEXT NOT NULL,
    to_station TEXT NOT NULL,
    ticket_count INTEGER NOT NULL,
    ref TEXT,
    claimed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (customer_id, run_id, from_station, to_station, ticket_count))`)
})
