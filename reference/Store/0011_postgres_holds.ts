/**
 * A hold in one round trip on PostgreSQL (migration 0011): `chunyun_hold_conditional` is the conditional seat
 * lock of reference/ticketing/Inventory.ts (`conditional`) and the held order's insert, in one call, so the hold's
 * transaction is one statement: no BEGIN, no COMMIT, no statement waiting for the next while it holds the
 * seat's row lock. Its rules are those of the SQLite path beside it (Inventory.ts, Orders/Repo.ts
 * `claimAnySeat`), which the shared inventory and order tests run on both stores: the first seat of the run
 * (of a class, or the chosen one) free on every segment of the mask, read `FOR UPDATE` so a claim that queued
 * behind a concurrent one re-checks it and moves on; the order priced by its seat's class. SQLite has no
 * server-side functions: there the migration does nothing.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const postgresHoldsMigration = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.onDialectOrElse({
    orElse: () => Effect.void,
    pg: () => sql.unsafe(`CREATE OR REPLACE FUNCTION chunyun_hold_conditional(
        p_order_id TEXT, p_customer_id TEXT, p_run_id TEXT, p_seat_class TEXT, p_seat_id BIGINT,
        p_mask BIGINT, p_from_index INTEGER, p_to_index INTEGER, p_classes TEXT[], p_prices BIGINT[],
        p_held_at_ms BIGINT, p_hold_expires_at_ms BIGINT)
      RETURNS TABLE (seat_id BIGINT, seat_class TEXT, coach INTEGER, seat_code TEXT, price_fen BIGINT)
      LANGUAGE plpgsql AS $hold$
      DECLARE
        taken RECORD;
        price BIGINT;
      BEGIN
        IF p_seat_id IS NOT NULL THEN
          UPDATE seats s SET occupied_mask = s.occupied_mask | p_mask, version = s.version + 1
            WHERE s.id = (SELECT c.id FROM seats c WHERE c.run_id = p_run_id AND c.id = p_seat_id
                            AND (p_seat_class IS NULL OR c.seat_class = p_seat_class) AND (c.occupied_mask & p_mask) = 0 FOR UPDATE)
              AND (s.occupied_mask & p_mask) = 0
            RETURNING s.id, s.seat_class, s.coach, s.seat_code INTO taken;
        ELSIF p_seat_class IS NOT NULL THEN
          UPDATE seats s SET occupied_mask = s.occupied_mask | p_mask, version = s.version + 1
            WHERE s.id = (SELECT c.id FROM seats c WHERE c.run_id = p_run_id AND c.seat_class = p_seat_class
                            AND (c.occupied_mask & p_mask) = 0 ORDER BY c.id LIMIT 1 FOR UPDATE)
              AND (s.occupied_mask & p_mask) = 0
            RETURNING s.id, s.seat_class, s.coach, s.seat_code INTO taken;
        ELSE
          UPDATE seats s SET occupied_mask = s.occupied_mask | p_mask, version = s.version + 1
            WHERE s.id = (SELECT c.id FROM seats c WHERE c.run_id = p_run_id
                            AND (c.occupied_mask & p_mask) = 0 ORDER BY c.id LIMIT 1 FOR UPDATE)
              AND (s.occupied_mask & p_mask) = 0
            RETURNING s.id, s.seat_class, s.coach, s.seat_code INTO taken;
        END IF;
        IF taken IS NULL THEN
          RETURN;
        END IF;
        price := p_prices[array_position(p_classes, taken.seat_class)];
        IF price IS NULL THEN
          RAISE EXCEPTION 'run %: class % has seats but no fares', p_run_id, taken.seat_class;
        END IF;
        INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state,
            held_at_ms, hold_expires_at_ms, paid_at_ms, issued_at_ms)
          VALUES (p_order_id, p_customer_id, p_run_id, taken.id, p_from_index, p_to_index, p_mask, price, 'held',
            p_held_at_ms, p_hold_expires_at_ms, NULL, NULL);
        RETURN QUERY SELECT taken.id::BIGINT, taken.seat_class::TEXT, taken.coach::INTEGER, taken.seat_code::TEXT, price;
      END
      $hold$`)
  })
})
