/**
 * The remote-card audit against planted faults: a remote booking paid by its booked card (and one not paid) is
 * clean; one paid from a wallet, one paid by another card, and one paid with no card payment captured are each named.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, ManagedRuntime } from "effect"
import { sqliteStore } from "../../reference/Store/Sqlite.js"
import { remoteCardPaidByBookedCard } from "./RemoteCard.js"

const atMs = 1_801_094_400_000
const bookedToken = "token-booked"

/** A remote booking booked with `bookedToken`: paid from `debit` (or not paid), by a card payment swiped with `card`. */
interface Planted {
  readonly orderId: string
  readonly debit?: "card-clearing" | "WC1"
  readonly card?: { readonly token: string; readonly state: "captured" | "voided" }
}

const storeOf = (bookings: ReadonlyArray<Planted>) => [
  `INSERT INTO customers (id, phone, password_hash, payment_password_hash, created_at_ms) VALUES ('C1', NULL, 'x', 'x', ${atMs})`,
  `INSERT INTO accounts (id, kind, customer_id, balance_fen) VALUES ('centre', 'centre', NULL, 0), ('WC1', 'wallet', 'C1', 0)`,
  `INSERT INTO train_runs (id, train_code, service_date) VALUES ('R1', 'G1', '2027-01-28')`,
  `INSERT INTO kiosks (id, station_code, key_hash) VALUES ('K1', 'BJP', 'h1')`,
  ...bookings.flatMap((booking, index) => [
    `INSERT INTO seats (id, run_id, coach, seat_code, seat_class, occupied_mask) VALUES (${index + 1}, 'R1', 1, '${index + 1}A', 'second', 1)`,
    `INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state, held_at_ms, hold_expires_at_ms)
      VALUES ('${booking.orderId}', 'C1', 'R1', ${index + 1}, 0, 1, 1, 100, '${booking.debit ? "issued" : "held"}', ${atMs}, ${atMs})`,
    `INSERT INTO remote_bookings (order_id, channel, agent_id, passenger_name, card_token, card_bin, card_last4, created_at_ms)
      VALUES ('${booking.orderId}', 'app', NULL, 'Li Lei', '${bookedToken}', '622202', '0018', ${atMs})`,
    ...(booking.debit ? [`INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms)
      VALUES ('T-${booking.orderId}', '${booking.debit}', 'centre', 100, 'order-payment', '${booking.orderId}', ${atMs})`] : []),
    ...(booking.card ? [
      `INSERT INTO pending_transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, state, created_at_ms, timeout_at_ms)
        VALUES ('P-${booking.orderId}', 'card-clearing', 'centre', 100, 'card-payment', '${booking.orderId}',
          '${booking.card.state === "captured" ? "posted" : "voided"}', ${atMs}, ${atMs})`,
      `INSERT INTO card_payments (pending_transfer_id, order_id, kiosk_id, card_bin, card_last4, card_token, state, created_at_ms)
        VALUES ('P-${booking.orderId}', '${booking.orderId}', 'K1', '622202', '0018', '${booking.card.token}', '${booking.card.state}', ${atMs})`
    ] : [])
  ])
]

const auditOf = async (bookings: ReadonlyArray<Planted>) => {
  const runtime = ManagedRuntime.make(sqliteStore({ filename: ":memory:" }))
  try {
    return await runtime.runPromise(Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      for (const statement of storeOf(bookings)) yield* sql.unsafe(statement)
      return yield* remoteCardPaidByBookedCard
    }))
  } finally {
    await runtime.dispose()
  }
}

const paidByBookedCard: Planted = { orderId: "O-booked", debit: "card-clearing", card: { token: bookedToken, state: "captured" } }

describe("remote-card audit", () => {
  test("a booking paid by its booked card at a kiosk, and one not paid: clean", async () => {
    assert.deepEqual(await auditOf([paidByBookedCard, { orderId: "O-unpaid" }]), [])
  })

  test("a wallet payment, another card, and no captured card payment are each named", async () => {
    const result = await auditOf([
      paidByBookedCard,
      { orderId: "O-wallet", debit: "WC1" },
      { orderId: "O-other-card", debit: "card-clearing", card: { token: "token-other", state: "captured" } },
      { orderId: "O-no-capture", debit: "card-clearing", card: { token: bookedToken, state: "voided" } }
    ])
    assert.deepEqual(result.map((violation) => violation.line), [
      "remote booking O-no-capture: 0 captured card payments, not 1",
      "remote booking O-other-card: paid by a card that is not the card it was booked with",
      "remote booking O-wallet: paid from WC1, not by card"
    ])
    assert.deepEqual(result.map((violation) => violation.orders), [["O-no-capture"], ["O-other-card"], ["O-wallet"]])
  })
})
