/**
 * The auditor against planted violations: a consistent store (and history) first, then one broken fact
 * at a time written with plain SQL, as a buggy server would leave it. Each must be reported by its own
 * invariant, with a witness naming the rows, and leave the other invariants at zero.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, ManagedRuntime } from "effect"
import { sqliteStore } from "../reference/Store/Sqlite.js"
import type { InvariantResult } from "../reports/Report.js"
import { audit, storeInvariantNames, maxWitnessLines } from "./Auditor.js"
import type { AuditOptions } from "./Auditor.js"
import type { StationCode } from "../reference/Domain.js"
import { buyTicket, cancelOrder, changeOrder, fundedCustomer, holdOn } from "../reference/testing/Lifecycle.js"
import { createRun, withTestServer } from "../reference/testing/TestServer.js"
import { History } from "./History.js"
import type { HistoryEvent } from "../devices/HistoryEvents.js"

type InvariantName = typeof storeInvariantNames[number]

const atMs = 1_801_094_400_000
const fareFen = 100

/**
 * The consistent store: two customers; a three-stop run (segments 0 and 1); seat 1 sold whole on
 * issued order O-issued (paid, ticketed, admitted once, plus a refused replay); seat 2 held on adjacent
 * segments by two live orders and on both by an expired one; seat 3 free. The ledger: a top-up of 500 fen
 * into C1's wallet, 100 of it paid to the centre (a system account: its balance is its entries, no row of sums).
 */
const cleanStore = [
  `INSERT INTO customers (id, phone, password_hash, payment_password_hash, created_at_ms) VALUES
    ('C1', '13000000001', 'x', 'x', ${atMs}), ('C2', '13000000002', 'x', 'x', ${atMs})`,
  `INSERT INTO accounts (id, kind, customer_id, balance_fen) VALUES
    ('centre', 'centre', NULL, 0), ('bank-clearing', 'bank-clearing', NULL, 0),
    ('WC1', 'wallet', 'C1', ${500 - fareFen}), ('WC2', 'wallet', 'C2', 0)`,
  `INSERT INTO train_runs (id, train_code, service_date) VALUES ('R1', 'G1', '2027-01-28')`,
  `INSERT INTO run_stops (run_id, stop_index, station_code, station_name, departure_minute_of_day, fare_fen_to_next) VALUES
    ('R1', 0, 'BJP', 'Beijing South', 540, 50), ('R1', 1, 'TJP', 'Tianjin South', 575, 50), ('R1', 2, 'JNK', 'Jinan West', 632, 0)`,
  `INSERT INTO seats (id, run_id, coach, seat_code, seat_class, occupied_mask) VALUES
    (1, 'R1', 1, '01A', 'second', 3), (2, 'R1', 1, '01B', 'second', 3), (3, 'R1', 1, '01C', 'second', 0)`,
  `INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state, held_at_ms, hold_expires_at_ms, paid_at_ms, issued_at_ms) VALUES
    ('O-issued', 'C1', 'R1', 1, 0, 2, 3, ${fareFen}, 'issued', ${atMs}, ${atMs + 600_000}, ${atMs + 1_000}, ${atMs + 2_000}),
    ('O-held-first', 'C2', 'R1', 2, 0, 1, 1, 50, 'held', ${atMs}, ${atMs + 600_000}, NULL, NULL),
    ('O-held-second', 'C2', 'R1', 2, 1, 2, 2, 50, 'held', ${atMs}, ${atMs + 600_000}, NULL, NULL),
    ('O-expired', 'C1', 'R1', 2, 0, 2, 3, ${fareFen}, 'expired', ${atMs - 900_000}, ${atMs - 300_000}, NULL, NULL)`,
  `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms) VALUES
    ('T-top-up', 'bank-clearing', 'WC1', 500, 'top-up', NULL, ${atMs}),
    ('T-pay-issued', 'WC1', 'centre', ${fareFen}, 'order-payment', 'O-issued', ${atMs + 1_000})`,
  `INSERT INTO tickets (id, order_id, holder, key_id, qr_text, issued_at_ms, admitted_at_ms, admitted_gate_id) VALUES
    ('K-issued', 'O-issued', 'phone:13000000001', 1, 'qr', ${atMs + 2_000}, ${atMs + 3_000}, 'BJP-01')`,
  `INSERT INTO scans (gate_id, ticket_id, outcome, at_ms) VALUES
    ('BJP-01', 'K-issued', 'admitted', ${atMs + 3_000}), ('BJP-02', NULL, 'AlreadyAdmitted', ${atMs + 4_000}),
    ('BJP-02', 'K-issued', 'AlreadyAdmitted', ${atMs + 5_000})`,
  // K-issued's holder has a SIM carrier of four slots, and the ticket sits on it
  `INSERT INTO delivery_jobs (ticket_id, created_at_ms, attempts, done_at_ms) VALUES ('K-issued', ${atMs + 2_000}, 1, ${atMs + 2_100})`,
  `INSERT INTO sim_carriers (msisdn, capacity_bytes, capacity_slots, used_slots, registered_at_ms) VALUES
    ('phone:13000000001', 1024, 4, 1, ${atMs}), ('13000000002', 1024, 4, 0, ${atMs})`,
  `INSERT INTO ticket_places (ticket_id, msisdn, place, issued_at_ms, placed_at_ms) VALUES
    ('K-issued', 'phone:13000000001', 'carrier', ${atMs + 2_000}, ${atMs + 2_100})`
]

const scanEvent = (ticketId: string, outcome: string, offsetMs: number): HistoryEvent => ({
  atMs: atMs + offsetMs, actor: "phone-1", kind: "scan", outcome, durationMs: 20,
  ...(outcome === "ok" ? { detail: { ticketId, gate: "BJP-01", pixels: false } } : {})
})

/** The history of the clean store: one admission of K-issued, two refused scans (no detail, as `recorded` leaves them), the ticket's arrival and others. */
const cleanHistory = (): History => {
  const history = new History()
  history.add({ atMs, actor: "phone-1", kind: "hold", outcome: "ok", durationMs: 30 })
  // the ticket arriving on the phone names it too, but is no admission
  history.add({ atMs: atMs + 2_000, actor: "phone-1", kind: "ticket-received", outcome: "ok", detail: { orderId: "O-issued", ticketId: "K-issued", paymentToIssuanceMs: 1_000 } })
  history.add(scanEvent("K-issued", "ok", 3_000))
  history.add(scanEvent("K-issued", "AlreadyAdmitted", 5_000))
  history.add(scanEvent("K-issued", "BindingMismatch", 5_500))
  history.add({ atMs: atMs + 6_000, actor: "phone-2", kind: "scan", outcome: "ok", durationMs: 20, detail: { ticketId: "K-other" } })
  return history
}

/** phone-2 searched, logged in, and held O-intruder (the double booking of the first tests). */
const withIntruderHold = (history: History) => {
  history.add({ atMs: atMs + 5, actor: "phone-2", kind: "search", outcome: "ok", durationMs: 10 })
  history.add({ atMs: atMs + 8, actor: "phone-2", kind: "login", outcome: "ok", durationMs: 10 })
  history.add({ atMs: atMs + 10, actor: "phone-2", kind: "hold", outcome: "ok", durationMs: 30, detail: { orderId: "O-intruder", seat: "01A" } })
  return history
}

/** Audits a fresh in-memory store holding `cleanStore` then `plant`, against `history`. */
/**
 * What the server keeps beside the ledger of every store planted here: each customer's running net spend, as its
 * money-moving transactions would have kept it. A plant that means the counter to drift comes after it (`driftAfter`).
 */
const spendAsTheLedgerSays = `UPDATE customers SET net_spend_fen = COALESCE((SELECT SUM(CASE
    WHEN t.credit_account_id = 'centre' THEN t.amount_fen WHEN t.debit_account_id = 'centre' THEN -t.amount_fen ELSE 0 END)
  FROM transfers t JOIN orders o ON o.id = t.order_id WHERE o.customer_id = customers.id), 0)`

const auditAfter = async (plant: ReadonlyArray<string>, history: History = cleanHistory(), options: AuditOptions = {}, driftAfter: ReadonlyArray<string> = []) => {
  const store = ManagedRuntime.make(sqliteStore({ filename: ":memory:" }))
  try {
    return await store.runPromise(Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      for (const statement of [...cleanStore, ...plant, spendAsTheLedgerSays, ...driftAfter]) yield* sql.unsafe(statement)
      return yield* audit(history, options)
    }))
  } finally {
    await store.dispose()
  }
}

const byName = (results: ReadonlyArray<InvariantResult>, name: InvariantName): InvariantResult => {
  const found = results.find((result) => result.name === name)
  assert.ok(found, `invariant ${name} is missing from ${results.map((result) => result.name).join(", ")}`)
  return found
}

/** A witness's statements: its lines without the history events of the actors involved (indented, `  @time …`). */
const statementsOf = (result: InvariantResult) => (result.witness ?? []).filter((line) => !line.startsWith("  @"))
const eventLinesOf = (result: InvariantResult) => (result.witness ?? []).filter((line) => line.startsWith("  @"))

/** Asserts `name` found exactly `witness` (in any order) and every other invariant found nothing. */
const assertOnly = (results: ReadonlyArray<InvariantResult>, name: InvariantName, witness: ReadonlyArray<string>) => {
  const broken = byName(results, name)
  assert.equal(broken.violations, witness.length, `${name}: ${broken.witness?.join(" | ")}`)
  assert.deepEqual(statementsOf(broken).sort(), [...witness].sort())
  for (const other of storeInvariantNames.filter((candidate) => candidate !== name)) {
    assert.equal(byName(results, other).violations, 0, `${other} should be clean: ${byName(results, other).witness?.join(" | ")}`)
  }
}

describe("a consistent store", () => {
  test("all eight invariants report zero violations and no witness", async () => {
    const results = await auditAfter([])
    assert.deepEqual(results.map((result) => result.name), storeInvariantNames)
    for (const result of results) {
      assert.equal(result.violations, 0, `${result.name}: ${result.witness?.join(" | ")}`)
      assert.equal(result.witness, undefined)
      assert.ok(result.description.length > 0)
    }
  })

  test("an empty store and an empty history are clean too", async () => {
    const store = ManagedRuntime.make(sqliteStore({ filename: ":memory:" }))
    try {
      const results = await store.runPromise(audit(new History()))
      assert.deepEqual(results.map((result) => result.violations), storeInvariantNames.map(() => 0))
    } finally {
      await store.dispose()
    }
  })
})

describe("1. no double booking", () => {
  test("two live orders overlapping on one seat: the witness names the seat, both orders and their segments", async () => {
    const results = await auditAfter([
      `INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state, held_at_ms, hold_expires_at_ms)
        VALUES ('O-intruder', 'C2', 'R1', 1, 1, 2, 2, 50, 'held', ${atMs + 10}, ${atMs + 600_000})`
    ])
    assertOnly(results, "no-double-booking", ["seat 1: order O-intruder [1,2) overlaps order O-issued [0,2)"])
  })

  test("a paid order overlapping an issued one counts as well (every live state)", async () => {
    const results = await auditAfter([
      `INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state, held_at_ms, hold_expires_at_ms)
        VALUES ('O-paid-too', 'C2', 'R1', 1, 0, 1, 1, 50, 'paid', ${atMs + 10}, ${atMs + 600_000})`
    ])
    const broken = byName(results, "no-double-booking")
    assert.deepEqual(statementsOf(broken), ["seat 1: order O-issued [0,2) overlaps order O-paid-too [0,1)"])
  })

  test("the witness follows the statement with the history events of the phone that made the order, with their times", async () => {
    const results = await auditAfter([
      `INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state, held_at_ms, hold_expires_at_ms)
        VALUES ('O-intruder', 'C2', 'R1', 1, 1, 2, 2, 50, 'held', ${atMs + 10}, ${atMs + 600_000})`
    ], withIntruderHold(cleanHistory()))
    const broken = byName(results, "no-double-booking")
    assert.equal(broken.witness?.[0], "seat 1: order O-intruder [1,2) overlaps order O-issued [0,2)")
    const events = eventLinesOf(broken)
    // phone-1 made O-issued (its ticket names it), phone-2 held O-intruder: both appear, with their calls
    assert.ok(events.includes("  @08:00:02.000 phone-1 ticket-received ok orderId=O-issued ticketId=K-issued paymentToIssuanceMs=1000"), events.join("\n"))
    assert.ok(events.includes("  @08:00:00.010 phone-2 hold ok orderId=O-intruder seat=01A"), events.join("\n"))
    assert.ok(!events.some((line) => / search | login /.test(line)), "noise calls are left out")
    assert.deepEqual([...(broken.actors ?? [])].sort(), ["phone-1", "phone-2"])
  })

  test("a seat whose lock bits disagree with its live orders, either way", async () => {
    const results = await auditAfter([
      // seat 1's issued order covers segments 0 and 1 (mask 3), but only bit 0 is set
      `UPDATE seats SET occupied_mask = 1 WHERE id = 1`,
      // seat 3 has no live order, yet segment 1 is locked
      `UPDATE seats SET occupied_mask = 2 WHERE id = 3`
    ])
    assertOnly(results, "no-double-booking", [
      "seat 1: lock bits 1 but live orders cover 3",
      "seat 3: lock bits 2 but live orders cover 0"
    ])
  })

  test("a seat still locked by an expired hold (the release was lost): a lock without an owner (1) and an unreleased hold (6)", async () => {
    const results = await auditAfter([`UPDATE orders SET state = 'expired' WHERE id = 'O-held-second'`])
    assert.deepEqual(statementsOf(byName(results, "no-double-booking")), ["seat 2: lock bits 3 but live orders cover 1"])
    assert.deepEqual(statementsOf(byName(results, "holds-released")), [
      "order O-held-second: expired, but seat 2 still locks its segments [1,2) (bits 2) for no live order"
    ])
    for (const other of storeInvariantNames.filter((name) => name !== "no-double-booking" && name !== "holds-released")) {
      assert.equal(byName(results, other).violations, 0, other)
    }
  })
})

describe("2. money is conserved", () => {
  test("a balance changed without a transfer: its account and the non-zero total are both named", async () => {
    const results = await auditAfter([`UPDATE accounts SET balance_fen = balance_fen + 50 WHERE id = 'WC1'`])
    assertOnly(results, "money-conserved", [
      "balances sum to 50 fen, not 0",
      "account WC1: balance 450 but entries sum to 400"
    ])
  })

  test("money moved between balances without a transfer: the total is still 0, both accounts drift", async () => {
    const results = await auditAfter([
      `UPDATE accounts SET balance_fen = balance_fen - 30 WHERE id = 'WC1'`,
      `UPDATE accounts SET balance_fen = balance_fen + 30 WHERE id = 'WC2'`
    ])
    assertOnly(results, "money-conserved", [
      "account WC1: balance 370 but entries sum to 400",
      "account WC2: balance 30 but entries sum to 0"
    ])
  })

  test("a customer's running net spend off the ledger (invoices would be decided on it): the customer is named", async () => {
    const results = await auditAfter([], cleanHistory(), {}, [`UPDATE customers SET net_spend_fen = net_spend_fen + 40 WHERE id = 'C1'`])
    assertOnly(results, "money-conserved", ["customer C1: net spend counted 140 fen but the ledger's transfers for their orders sum to 100"])
  })

  test("a system account given a balance row: it keeps none, so the row is drift", async () => {
    const results = await auditAfter([`UPDATE accounts SET balance_fen = 100 WHERE id = 'centre'`])
    assertOnly(results, "money-conserved", ["account centre: a system account keeps no balance row, but its row holds 100 fen"])
  })

  test("a wallet overdrawn by a recorded transfer (the schema's CHECK switched off)", async () => {
    const results = await auditAfter([
      `PRAGMA ignore_check_constraints = ON`,
      `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms)
        VALUES ('T-overdraw', 'WC2', 'centre', 20, 'top-up', NULL, ${atMs})`,
      `UPDATE accounts SET balance_fen = balance_fen - 20 WHERE id = 'WC2'`,
    ])
    assertOnly(results, "money-conserved", ["wallet WC2 is at -20 fen"])
  })

  test("a transfer recorded without moving the balances", async () => {
    const results = await auditAfter([
      `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms)
        VALUES ('T-ghost', 'bank-clearing', 'WC2', 70, 'top-up', NULL, ${atMs})`
    ])
    assertOnly(results, "money-conserved", [
      "balances sum to -70 fen, not 0",
      "account WC2: balance 0 but entries sum to 70"
    ])
  })
})

describe("3. every captured payment ends in exactly one ticket", () => {
  test("a paid order with no ticket", async () => {
    const results = await auditAfter([
      `INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state, held_at_ms, hold_expires_at_ms, paid_at_ms)
        VALUES ('O-unticketed', 'C1', 'R1', 3, 0, 1, 1, 50, 'paid', ${atMs}, ${atMs + 600_000}, ${atMs + 1_000})`,
      `UPDATE seats SET occupied_mask = 1 WHERE id = 3`,
      `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms)
        VALUES ('T-pay-unticketed', 'WC1', 'centre', 50, 'order-payment', 'O-unticketed', ${atMs + 1_000})`,
      `UPDATE accounts SET balance_fen = balance_fen - 50 WHERE id = 'WC1'`,
    ])
    assertOnly(results, "payment-ends-in-one-ticket", ["order O-unticketed: paid, state paid, 0 tickets"])
  })

  test("an order paid twice (the store's one-payment index gone): named once, with the count", async () => {
    const results = await auditAfter([
      // the schema forbids it; a store without that index (or another implementation of the port) might not
      `DROP INDEX transfers_one_payment_per_order`,
      `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms)
        VALUES ('T-pay-again', 'WC1', 'centre', ${fareFen}, 'order-payment', 'O-issued', ${atMs + 1_500})`,
      `UPDATE accounts SET balance_fen = balance_fen - ${fareFen} WHERE id = 'WC1'`,
    ])
    // a second payment of one order is a double charge too (8), whatever key it came with
    assert.deepEqual(statementsOf(byName(results, "payment-ends-in-one-ticket")), ["order O-issued: captured 2 times"])
    assert.deepEqual(statementsOf(byName(results, "charged-once")), ["order O-issued: 2 order-payment transfers"])
    for (const other of storeInvariantNames.filter((name) => name !== "payment-ends-in-one-ticket" && name !== "charged-once")) {
      assert.equal(byName(results, other).violations, 0, other)
    }
  })

  test("a paid order whose state went back to held, though it has its ticket", async () => {
    const results = await auditAfter([`UPDATE orders SET state = 'held' WHERE id = 'O-issued'`])
    assertOnly(results, "payment-ends-in-one-ticket", ["order O-issued: paid, state held, 1 tickets"])
  })
})

describe("4. no ticket without a captured payment", () => {
  test("an issued ticket whose order was never paid", async () => {
    const results = await auditAfter([
      `UPDATE orders SET state = 'issued' WHERE id = 'O-held-first'`,
      `INSERT INTO tickets (id, order_id, holder, key_id, qr_text, issued_at_ms) VALUES ('K-free', 'O-held-first', 'phone:13000000002', 1, 'qr', ${atMs})`
    ])
    assertOnly(results, "no-ticket-without-payment", ["ticket K-free of order O-held-first has no payment"])
  })

  test("a top-up that names the order is not a payment", async () => {
    const results = await auditAfter([
      `UPDATE orders SET state = 'issued' WHERE id = 'O-held-first'`,
      `INSERT INTO tickets (id, order_id, holder, key_id, qr_text, issued_at_ms) VALUES ('K-topped', 'O-held-first', 'phone:13000000002', 1, 'qr', ${atMs})`,
      `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms)
        VALUES ('T-top-up-2', 'bank-clearing', 'WC2', 50, 'top-up', 'O-held-first', ${atMs})`,
      `UPDATE accounts SET balance_fen = balance_fen + 50 WHERE id = 'WC2'`
    ])
    assertOnly(results, "no-ticket-without-payment", ["ticket K-topped of order O-held-first has no payment"])
  })
})

describe("5. no ticket admitted twice", () => {
  test("two admissions of one ticket in the gate log", async () => {
    const results = await auditAfter([
      `INSERT INTO scans (gate_id, ticket_id, outcome, at_ms) VALUES ('BJP-03', 'K-issued', 'admitted', ${atMs + 7_000})`
    ])
    assertOnly(results, "admitted-once", ["ticket K-issued: 2 admissions in the gate log"])
  })

  test("two successful scans of one ticket in the history", async () => {
    const history = cleanHistory()
    history.add(scanEvent("K-issued", "ok", 8_000))
    const results = await auditAfter([], history)
    assertOnly(results, "admitted-once", ["ticket K-issued: admitted 2 times in the history"])
  })

  test("both at once: one witness line from each source", async () => {
    const history = cleanHistory()
    history.add(scanEvent("K-issued", "ok", 8_000))
    history.add(scanEvent("K-issued", "ok", 9_000))
    const results = await auditAfter([
      `INSERT INTO scans (gate_id, ticket_id, outcome, at_ms) VALUES ('BJP-03', 'K-issued', 'admitted', ${atMs + 7_000})`
    ], history)
    assertOnly(results, "admitted-once", [
      "ticket K-issued: 2 admissions in the gate log",
      "ticket K-issued: admitted 3 times in the history"
    ])
  })
})

describe("5. offline doubles are counted, not hidden", () => {
  const offlineScan = (ticketId: string, offsetMs: number): HistoryEvent => ({
    atMs: atMs + offsetMs, actor: "fan-1-friend", kind: "scan", outcome: "ok", durationMs: 300,
    detail: { ticketId, gate: "BJP-04", pixels: false, offline: true }
  })
  const synced = (outcome: string) =>
    `INSERT INTO offline_admissions (gate_id, ticket_id, presented_holder, admitted_at_ms, synced_at_ms, outcome, first_gate_id, first_admitted_at_ms)
      VALUES ('BJP-04', 'K-issued', '13000000001', ${atMs + 8_000}, ${atMs + 60_000}, '${outcome}', 'BJP-01', ${atMs + 3_000})`

  test("a ticket let in online and again offline, the second counted as a double at sync: clean", async () => {
    const history = cleanHistory()
    history.add(offlineScan("K-issued", 8_000))
    assertClean(await auditAfter([synced("double")], history))
  })

  test("an offline admission the server never heard of is a violation", async () => {
    const history = cleanHistory()
    history.add(offlineScan("K-issued", 8_000))
    assertOnly(await auditAfter([], history), "admitted-once", ["ticket K-issued: admitted 1 times offline, 0 reached the server"])
  })

  test("a second admission the sync did not count as a double is a violation", async () => {
    const history = cleanHistory()
    history.add(offlineScan("K-issued", 8_000))
    assertOnly(await auditAfter([synced("admitted")], history), "admitted-once", ["ticket K-issued: let in 2 times (1 offline), 0 counted as doubles"])
  })
})

describe("5. offline double admissions are counted and reported, not violations", () => {
  test("a double admission an offline gate reported at sync appears in the invariant's description, with no violation", async () => {
    const results = await auditAfter([
      `INSERT INTO offline_admissions (gate_id, ticket_id, presented_holder, admitted_at_ms, synced_at_ms, outcome, first_gate_id, first_admitted_at_ms)
        VALUES ('BJP-09', 'K-issued', 'phone:13000000001', ${atMs + 4_000}, ${atMs + 60_000}, 'double', 'BJP-01', ${atMs + 3_000})`
    ])
    assertClean(results)
    assert.equal(byName(results, "admitted-once").description,
      "No ticket is admitted twice (5); 1 double admissions by offline gates found at sync, reported separately")
  })
})

describe("witness size", () => {
  test(`every violation is counted, but the witness keeps only the first ${maxWitnessLines} lines`, async () => {
    const extraSeats = maxWitnessLines + 5
    const results = await auditAfter([
      `INSERT INTO seats (id, run_id, coach, seat_code, seat_class, occupied_mask) VALUES ${
        Array.from({ length: extraSeats }, (_, index) => `(${100 + index}, 'R1', 2, '${String(index).padStart(2, "0")}A', 'second', 1)`).join(", ")}`
    ])
    const broken = byName(results, "no-double-booking")
    assert.equal(broken.violations, extraSeats)
    assert.equal(broken.witness?.length, maxWitnessLines)
    assert.ok(broken.witness?.every((line) => /^seat 1\d\d: lock bits 1 but live orders cover 0$/.test(line)))
  })
})

/**
 * A refund as the server leaves it: O-refunded (seat 3, segment 0, 100 fen) was paid from C1's wallet,
 * then cancelled: its ticket voided, its seat given back, 90 fen reversed to the wallet, the 10 fen fee kept.
 */
const refundPlant = [
  `INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state, held_at_ms, hold_expires_at_ms, paid_at_ms, issued_at_ms, closed_at_ms)
    VALUES ('O-refunded', 'C1', 'R1', 3, 0, 1, 1, ${fareFen}, 'refunded', ${atMs}, ${atMs + 600_000}, ${atMs + 1_000}, ${atMs + 2_000}, ${atMs + 9_000})`,
  `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms, reverses_transfer_id) VALUES
    ('T-pay-refunded', 'WC1', 'centre', ${fareFen}, 'order-payment', 'O-refunded', ${atMs + 1_000}, NULL),
    ('T-refund', 'centre', 'WC1', 90, 'order-refund', 'O-refunded', ${atMs + 9_000}, 'T-pay-refunded')`,
  `UPDATE accounts SET balance_fen = balance_fen - 10 WHERE id = 'WC1'`,
  `INSERT INTO tickets (id, order_id, holder, key_id, qr_text, issued_at_ms, voided_at_ms)
    VALUES ('K-refunded', 'O-refunded', 'phone:13000000001', 1, 'qr', ${atMs + 2_000}, ${atMs + 9_000})`,
  `INSERT INTO order_events (order_id, customer_id, kind, actor, reason, price_fen, fee_fen, refund_fen, charge_fen, at_ms)
    VALUES ('O-refunded', 'C1', 'refunded', 'customer:C1', NULL, ${fareFen}, 10, 90, 0, ${atMs + 9_000})`,
  // C1's phone has a SIM carrier (the fixture's): its tickets were filed in the network box when issued
  `INSERT INTO ticket_places (ticket_id, msisdn, place, issued_at_ms, placed_at_ms) VALUES ('K-refunded', 'phone:13000000001', 'box', ${atMs + 2_000}, ${atMs + 2_000})`
]

/**
 * A change (改签) as the server leaves it: O-old (seat 3, both segments, 100 fen) was paid, issued, then
 * changed to O-new (the same seat, segment 0 only, 50 fen): O-old's ticket voided, the 50 fen difference
 * reversed to the wallet, O-new issued on the carried payment. O-old overlaps O-new but is not live.
 */
const changePlant = [
  `INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state, held_at_ms, hold_expires_at_ms, paid_at_ms, issued_at_ms, closed_at_ms)
    VALUES ('O-old', 'C1', 'R1', 3, 0, 2, 3, ${fareFen}, 'changed', ${atMs}, ${atMs + 600_000}, ${atMs + 1_000}, ${atMs + 2_000}, ${atMs + 9_000})`,
  `INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state, held_at_ms, hold_expires_at_ms, paid_at_ms, issued_at_ms, changed_from_order_id, change_count)
    VALUES ('O-new', 'C1', 'R1', 3, 0, 1, 1, 50, 'issued', ${atMs + 9_000}, ${atMs + 9_000}, ${atMs + 9_000}, ${atMs + 9_500}, 'O-old', 1)`,
  `UPDATE seats SET occupied_mask = 1 WHERE id = 3`,
  `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms, reverses_transfer_id) VALUES
    ('T-pay-old', 'WC1', 'centre', ${fareFen}, 'order-payment', 'O-old', ${atMs + 1_000}, NULL),
    ('T-change-refund', 'centre', 'WC1', 50, 'change-refund', 'O-new', ${atMs + 9_000}, 'T-pay-old')`,
  `UPDATE accounts SET balance_fen = balance_fen - 50 WHERE id = 'WC1'`,
  `INSERT INTO tickets (id, order_id, holder, key_id, qr_text, issued_at_ms, voided_at_ms) VALUES
    ('K-old', 'O-old', 'phone:13000000001', 1, 'qr', ${atMs + 2_000}, ${atMs + 9_000}),
    ('K-new', 'O-new', 'phone:13000000001', 1, 'qr', ${atMs + 9_500}, NULL)`,
  `INSERT INTO ticket_places (ticket_id, msisdn, place, issued_at_ms, placed_at_ms) VALUES
    ('K-old', 'phone:13000000001', 'box', ${atMs + 2_000}, ${atMs + 2_000}),
    ('K-new', 'phone:13000000001', 'box', ${atMs + 9_500}, ${atMs + 9_500})`
]

const assertClean = (results: ReadonlyArray<InvariantResult>) => {
  for (const result of results) assert.equal(result.violations, 0, `${result.name}: ${result.witness?.join(" | ")}`)
}

describe("late gateway captures (invariant 3)", () => {
  const latePlant = (refunded: boolean) => [
    `INSERT INTO accounts (id, kind, customer_id, balance_fen) SELECT 'gateway-clearing', 'gateway-clearing', NULL, 0
      WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE id = 'gateway-clearing')`,
    `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms) VALUES
      ('T-late', 'gateway-clearing', 'centre', 300, 'late-capture', 'O-late', ${atMs})`,
    ...(refunded ? [
      `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms) VALUES
        ('T-late-refund', 'centre', 'gateway-clearing', 300, 'refund', 'O-late', ${atMs + 1})`,
    ] : [])
  ]

  test("a late capture refunded whole is consistent", async () => {
    assertClean(await auditAfter(latePlant(true)))
  })

  test("a late capture the centre kept (no refund) is reported", async () => {
    assertOnly(await auditAfter(latePlant(false)), "payment-ends-in-one-ticket", [
      "order O-late: 1 late captures (300 fen) but 0 refunds (0 fen)"
    ])
  })
})

describe("refunds and changes (invariants 1, 3 and 4)", () => {
  test("a refunded order, a changed order and the order it changed into are all consistent", async () => {
    assertClean(await auditAfter([...refundPlant, ...changePlant]))
  })

  test("a refund of nothing (the fee took the whole price) is a refund, though no transfer was made", async () => {
    assertClean(await auditAfter([
      ...refundPlant,
      `DELETE FROM transfers WHERE id = 'T-refund'`,
      `UPDATE accounts SET balance_fen = balance_fen - 90 WHERE id = 'WC1'`,
      `UPDATE order_events SET fee_fen = ${fareFen}, refund_fen = 0 WHERE order_id = 'O-refunded'`
    ]))
  })

  test("a double refund (the store's one-refund index gone): the order refunded twice and its payment over-reversed", async () => {
    const results = await auditAfter([
      ...refundPlant,
      `DROP INDEX transfers_one_refund_per_payment`,
      `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms, reverses_transfer_id)
        VALUES ('T-refund-again', 'centre', 'WC1', 90, 'order-refund', 'O-refunded', ${atMs + 9_500}, 'T-pay-refunded')`,
      `UPDATE accounts SET balance_fen = balance_fen + 90 WHERE id = 'WC1'`,
    ])
    assertOnly(results, "payment-ends-in-one-ticket", [
      "order O-refunded: refunded 2 times",
      "payment T-pay-refunded of order O-refunded: 180 fen reversed of 100"
    ])
  })

  test("a refunded order whose ticket was not voided: both a refund and a live ticket", async () => {
    const results = await auditAfter([...refundPlant, `UPDATE tickets SET voided_at_ms = NULL WHERE id = 'K-refunded'`])
    assertOnly(results, "payment-ends-in-one-ticket", ["order O-refunded: refunded, but its ticket is live"])
  })

  test("an issued order that was also refunded", async () => {
    const results = await auditAfter([
      ...refundPlant,
      `UPDATE orders SET state = 'issued' WHERE id = 'O-refunded'`,
      `UPDATE tickets SET voided_at_ms = NULL WHERE id = 'K-refunded'`,
      `UPDATE seats SET occupied_mask = 1 WHERE id = 3`
    ])
    assertOnly(results, "payment-ends-in-one-ticket", ["order O-refunded: issued and refunded"])
  })

  test("an order marked refunded with no refund paid: neither ticket nor refund", async () => {
    const results = await auditAfter([
      ...refundPlant,
      `DELETE FROM transfers WHERE id = 'T-refund'`,
      `UPDATE accounts SET balance_fen = balance_fen - 90 WHERE id = 'WC1'`,
    ])
    assertOnly(results, "payment-ends-in-one-ticket", ["order O-refunded: refunded, but no refund was paid"])
  })

  test("a changed order whose old ticket is still live", async () => {
    const results = await auditAfter([...changePlant, `UPDATE tickets SET voided_at_ms = NULL WHERE id = 'K-old'`])
    assertOnly(results, "payment-ends-in-one-ticket", ["order O-old: changed, but its ticket is live"])
  })

  test("a change whose new order lost its link: the payment ends nowhere and the new ticket has no payment", async () => {
    const results = await auditAfter([...changePlant, `UPDATE orders SET changed_from_order_id = NULL WHERE id = 'O-new'`])
    assert.deepEqual(byName(results, "payment-ends-in-one-ticket").witness, ["order O-old: changed, but no order continues it"])
    assert.deepEqual(byName(results, "no-ticket-without-payment").witness, ["ticket K-new of order O-new has no payment"])
    for (const other of ["no-double-booking", "money-conserved", "admitted-once"] as const) assert.equal(byName(results, other).violations, 0)
  })

  test("a changed order whose new order still holds its seat while the old one comes back to life is a double booking", async () => {
    const results = await auditAfter([...changePlant, `UPDATE orders SET state = 'issued' WHERE id = 'O-old'`, `UPDATE seats SET occupied_mask = 3 WHERE id = 3`])
    assert.deepEqual(byName(results, "no-double-booking").witness, ["seat 3: order O-new [0,1) overlaps order O-old [0,2)"])
  })
})

describe("the store a real server leaves after refunds and changes", () => {
  test("audits clean: held, cancelled, refunded, changed and changed-then-refunded orders", async () => {
    await withTestServer({}, async (server) => {
      const run = await server.run(createRun(server.baseUrl, { trainCode: "G9", stations: ["SHH", "NJH", "BJP"], seatCount: 8 }))
      const buyer = await server.run(fundedCustomer(server.baseUrl))
      const held = await server.run(holdOn(buyer, run))
      await server.run(cancelOrder(buyer, held.orderId))
      const refunded = await server.run(buyTicket(buyer, run))
      await server.run(cancelOrder(buyer, refunded.order.orderId))
      const kept = await server.run(buyTicket(buyer, run))
      const changed = await server.run(changeOrder(buyer, kept.order.orderId, run, { to: "NJH" as StationCode }))
      const dearer = await server.run(buyTicket(buyer, run, "SHH" as StationCode, "NJH" as StationCode))
      const changedUp = await server.run(changeOrder(buyer, dearer.order.orderId, run, { password: buyer.paymentPassword }))
      await server.run(cancelOrder(buyer, changedUp.newOrder.orderId))
      await server.run(holdOn(buyer, run))
      assert.equal(changed.newOrder.state, "issued")

      const results = await server.run(audit(new History()))
      assert.deepEqual(results.map((result) => result.name), storeInvariantNames)
      assertClean(results)
    })
  })
})

describe("6. every expired hold releases its seats", () => {
  test("an expired order whose segments a live order holds again is clean (the fixture's O-expired on seat 2)", async () => {
    assertClean(await auditAfter([], cleanHistory(), { endMs: atMs + 60_000, holdReleaseGraceMs: 60_000 }))
  })

  test("a hold still held long after its expiry when the run ended (the sweeper stopped)", async () => {
    const results = await auditAfter([], cleanHistory(), { endMs: atMs + 600_000 + 120_000, holdReleaseGraceMs: 60_000 })
    assertOnly(results, "holds-released", [
      "order O-held-first: hold expired at 08:10:00.000 but still held when the run ended at 08:12:00.000",
      "order O-held-second: hold expired at 08:10:00.000 but still held when the run ended at 08:12:00.000"
    ])
  })

  test("a hold that expired within the sweeper's grace before the end is not judged", async () => {
    assertClean(await auditAfter([], cleanHistory(), { endMs: atMs + 600_000 + 30_000, holdReleaseGraceMs: 60_000 }))
  })

  test("a phone told its hold expired, whose order is still held; and one whose order was paid after all", async () => {
    const history = cleanHistory()
    history.add({ atMs: atMs + 20, actor: "phone-2", kind: "hold", outcome: "ok", durationMs: 30, detail: { orderId: "O-held-first", seat: "01B" } })
    history.add({ atMs: atMs + 700_000, actor: "phone-2", kind: "pay", outcome: "HoldExpired", durationMs: 30 })
    history.add({ atMs: atMs + 700_000, actor: "phone-1", kind: "pay", outcome: "HoldExpired", durationMs: 30, detail: { orderId: "O-issued" } })
    const results = await auditAfter([], history)
    assertOnly(results, "holds-released", [
      "order O-held-first: phone-2 was told at 08:11:40.000 (pay) its hold had expired, but the order is held",
      "order O-issued: phone-1 was told at 08:11:40.000 (pay) its hold had expired, but the order is issued"
    ])
    assert.ok(eventLinesOf(byName(results, "holds-released")).includes("  @08:11:40.000 phone-2 pay HoldExpired"))
  })

  test("a phone told its hold expired, whose order is expired, is clean", async () => {
    const history = cleanHistory()
    history.add({ atMs: atMs + 700_000, actor: "phone-3", kind: "pay", outcome: "HoldExpired", durationMs: 30, detail: { orderId: "O-expired" } })
    assertClean(await auditAfter([], history))
  })
})

/** phone-1 topped up with key topup-1: the first answer was lost, the retry answered with `retryTransferId`. */
const retriedTopUp = (lostTransferId: string, retryTransferId: string) => {
  const history = cleanHistory()
  history.add({ atMs: atMs - 5_000, actor: "phone-1", kind: "top-up", outcome: "ResponseLost", detail: { attempt: 0, key: "topup-1", answer: "ok", transferId: lostTransferId } })
  history.add({ atMs: atMs - 100, actor: "phone-1", kind: "top-up", outcome: "ok", durationMs: 40, detail: { key: "topup-1", transferId: retryTransferId } })
  return history
}

describe("8. a retried request with the same idempotency key never charges twice", () => {
  test("a retry answered with the lost attempt's transfer (the stored answer) is clean", async () => {
    assertClean(await auditAfter([], retriedTopUp("T-top-up", "T-top-up")))
  })

  test("a retry that charged again: the witness names the key, both transfers, and the attempts", async () => {
    const results = await auditAfter([
      `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_fen, purpose, order_id, created_at_ms) VALUES
        ('T-top-up-again', 'bank-clearing', 'WC1', 500, 'top-up', NULL, ${atMs})`,
      `UPDATE accounts SET balance_fen = balance_fen + 500 WHERE id = 'WC1'`,
    ], retriedTopUp("T-top-up", "T-top-up-again"))
    assertOnly(results, "charged-once", [
      "key topup-1 (phone-1 top-up, 2 attempts, 1 answers lost): answers name 2 transfers T-top-up, T-top-up-again, 2 of them in the store"
    ])
    const broken = byName(results, "charged-once")
    assert.deepEqual(eventLinesOf(broken), [
      "  @07:59:55.000 phone-1 top-up ResponseLost attempt=0 key=topup-1 answer=ok transferId=T-top-up",
      "  @07:59:59.900 phone-1 top-up ok key=topup-1 transferId=T-top-up-again"
    ])
    assert.deepEqual(broken.actors, ["phone-1"])
  })

  test("the stored answer of a retried key names another transfer than the device was given", async () => {
    const results = await auditAfter([
      `INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, response_json, created_at_ms)
        VALUES ('C1', 'topup-1', 'h', '{"transferId":"T-elsewhere","balanceFen":500}', ${atMs})`
    ], retriedTopUp("T-top-up", "T-top-up"))
    assertOnly(results, "charged-once", ["key topup-1 (phone-1 top-up): stored answer names transfer T-elsewhere, but the device was answered T-top-up"])
  })

  test("a key sent twice without a lost answer that charged twice is a violation as well", async () => {
    const history = cleanHistory()
    history.add({ atMs, actor: "phone-1", kind: "top-up", outcome: "ok", detail: { key: "topup-1", transferId: "T-top-up" } })
    history.add({ atMs: atMs + 1, actor: "phone-1", kind: "top-up", outcome: "ok", detail: { key: "topup-1", transferId: "T-other" } })
    assertOnly(await auditAfter([], history), "charged-once", [
      "key topup-1 (phone-1 top-up, 2 attempts, 0 answers lost): answers name 2 transfers T-top-up, T-other, 1 of them in the store"
    ])
  })

  test("one key used once, or by two actors once each, is clean", async () => {
    const history = cleanHistory()
    history.add({ atMs, actor: "phone-1", kind: "top-up", outcome: "ok", detail: { key: "topup-1", transferId: "T-top-up" } })
    history.add({ atMs, actor: "kiosk-1", kind: "top-up", outcome: "ok", detail: { key: "topup-1", transferId: "T-other" } })
    assertClean(await auditAfter([], history))
  })
})

describe("7. SIM carriers within capacity, every ticket in one place", () => {
  test("a carrier holding more tickets than its slots (its capacity lowered under it)", async () => {
    const results = await auditAfter([`UPDATE sim_carriers SET capacity_slots = 0, used_slots = 0 WHERE msisdn = 'phone:13000000001'`])
    assertOnly(results, "carrier-within-capacity", [
      "carrier phone:13000000001: holds 1 tickets, capacity 0",
      "carrier phone:13000000001: 0 slots counted used but 1 tickets on it"
    ])
  })

  // K-issued was admitted in the clean store; unadmitted, it is a live ticket that must have a place
  const liveAgain = `UPDATE tickets SET admitted_at_ms = NULL, admitted_gate_id = NULL WHERE id = 'K-issued'`

  test("a delivered live ticket of a phone with a carrier that is in no place (lost between box and carrier)", async () => {
    const results = await auditAfter([
      liveAgain,
      `DELETE FROM ticket_places WHERE ticket_id = 'K-issued'`,
      `UPDATE sim_carriers SET used_slots = 0 WHERE msisdn = 'phone:13000000001'`
    ])
    assertOnly(results, "carrier-within-capacity", ["ticket K-issued of carrier phone:13000000001 is in no place"])
  })

  test("a ticket used at a gate, or refunded, needs no place", async () => {
    const unplaced = [`DELETE FROM ticket_places WHERE ticket_id = 'K-issued'`, `UPDATE sim_carriers SET used_slots = 0 WHERE msisdn = 'phone:13000000001'`]
    assert.equal(byName(await auditAfter(unplaced), "carrier-within-capacity").violations, 0)
    const refunded = await auditAfter([liveAgain, ...unplaced, `UPDATE orders SET state = 'refunded' WHERE id = 'O-issued'`])
    assert.equal(byName(refunded, "carrier-within-capacity").violations, 0)
  })

  test("a ticket whose delivery is still pending may have no place yet", async () => {
    const results = await auditAfter([
      liveAgain,
      `DELETE FROM ticket_places WHERE ticket_id = 'K-issued'`,
      `UPDATE sim_carriers SET used_slots = 0 WHERE msisdn = 'phone:13000000001'`,
      `UPDATE delivery_jobs SET done_at_ms = NULL WHERE ticket_id = 'K-issued'`
    ])
    assert.equal(byName(results, "carrier-within-capacity").violations, 0)
  })

  test("a ticket filed in another phone's box", async () => {
    const results = await auditAfter([
      `UPDATE ticket_places SET msisdn = '13000000002', place = 'box' WHERE ticket_id = 'K-issued'`,
      `UPDATE sim_carriers SET used_slots = 0 WHERE msisdn = 'phone:13000000001'`
    ])
    assertOnly(results, "carrier-within-capacity", ["ticket K-issued of phone:13000000001 is filed under carrier 13000000002"])
  })
})
