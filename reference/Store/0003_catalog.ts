/**
 * 0003 catalog (seeds 000, 004): seat classes with their own fares, seat positions for seat maps, and
 * runs of other kinds. A cinema showing or an event is a run with one segment (two stops at its venue),
 * so holds, payment, the outbox, issuance and check-in stay one pipeline.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const catalogMigration = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const statements = [
    `ALTER TABLE train_runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'train' CHECK (kind IN ('train', 'showing', 'event'))`,
    // fare of one segment (stop_index → stop_index + 1) for one seat class
    `CREATE TABLE run_fares (
      run_id TEXT NOT NULL REFERENCES train_runs(id),
      seat_class TEXT NOT NULL,
      stop_index INTEGER NOT NULL,
      fare_fen BIGINT NOT NULL CHECK (fare_fen >= 0),
      PRIMARY KEY (run_id, seat_class, stop_index))`,
    // runs created before this migration: every class they have pays the run's one fare per segment
    `INSERT INTO run_fares (run_id, seat_class, stop_index, fare_fen)
      SELECT classes.run_id, classes.seat_class, rs.stop_index, rs.fare_fen_to_next
      FROM (SELECT DISTINCT run_id, seat_class FROM seats) classes
      JOIN run_stops rs ON rs.run_id = classes.run_id
      WHERE rs.stop_index < (SELECT MAX(last.stop_index) FROM run_stops last WHERE last.run_id = rs.run_id)`,
    // where a seat sits on its coach's, hall's or zone's seat map (row and column of the grid, gaps included)
    `ALTER TABLE seats ADD COLUMN grid_row INTEGER`,
    `ALTER TABLE seats ADD COLUMN grid_column INTEGER`,
    // covering index for availability per class: a search counts free seats per class from the index alone
    `CREATE INDEX seats_class_availability ON seats(run_id, seat_class, occupied_mask)`,
    // a coach of a train, the hall of a showing, a zone of an event: the number tickets carry as "coach"
    `CREATE TABLE run_sections (
      run_id TEXT NOT NULL REFERENCES train_runs(id),
      section INTEGER NOT NULL,
      name TEXT NOT NULL,
      PRIMARY KEY (run_id, section))`,
    `CREATE TABLE cinemas (
      code TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      city TEXT NOT NULL)`,
    // layout: the seat map as JSON rows of seat letters and gaps (Venues.ts parseLayout)
    `CREATE TABLE halls (
      cinema_code TEXT NOT NULL REFERENCES cinemas(code),
      hall INTEGER NOT NULL,
      name TEXT NOT NULL,
      layout_json TEXT NOT NULL,
      seat_count INTEGER NOT NULL,
      PRIMARY KEY (cinema_code, hall))`,
    // what a showing or an event is beyond its run: where, what and how long
    `CREATE TABLE venue_runs (
      run_id TEXT PRIMARY KEY REFERENCES train_runs(id),
      venue_code TEXT NOT NULL,
      venue_name TEXT NOT NULL,
      hall INTEGER,
      title TEXT NOT NULL,
      start_minute_of_day INTEGER NOT NULL,
      duration_minutes INTEGER NOT NULL)`,
    `CREATE INDEX venue_runs_by_venue ON venue_runs(venue_code)`,
    `CREATE INDEX train_runs_by_kind_date ON train_runs(kind, service_date)`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
})
