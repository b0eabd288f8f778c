/**
 * The baseline of the end-to-end number: the hold transaction alone, on better-sqlite3 directly (the driver
 * under @effect/sql-sqlite-node), on the same file the server wrote: the same conditional UPDATE of the
 * first free seat and INSERT of the order, in one IMMEDIATE transaction, prepared statements, WAL,
 * synchronous=NORMAL. No HTTP, no Effect, no JSON: what SQLite itself allows this machine.
 */
import { createRequire } from "node:module"
import { benchStopCount } from "./orders.js"

interface Statement { run: (...parameters: ReadonlyArray<unknown>) => unknown; get: (...parameters: ReadonlyArray<unknown>) => Record<string, unknown> | undefined }
interface Database {
  pragma: (text: string) => unknown
  prepare: (sql: string) => Statement
  transaction: (body: (index: number) => boolean) => { immediate: (index: number) => boolean }
  close: () => void
}

const require = createRequire(import.meta.url)
const openDatabase = require("better-sqlite3") as new (filename: string) => Database

/** Holds per second over `durationMs`, on `runId` of the SQLite file `filename` (stops early when it sells out). */
export const rawHoldRate = (filename: string, runId: string, durationMs: number) => {
  const db = new openDatabase(filename)
  try {
    db.pragma("journal_mode = WAL")
    db.pragma("synchronous = NORMAL")
    db.pragma("foreign_keys = ON")
    const customer = db.prepare("SELECT id FROM customers LIMIT 1").get()
    if (!customer) throw new Error("raw SQLite: the store has no customer")
    const claim = db.prepare(`UPDATE seats SET occupied_mask = occupied_mask | ?, version = version + 1
      WHERE id = (SELECT id FROM seats WHERE run_id = ? AND (occupied_mask & ?) = 0 ORDER BY id LIMIT 1) AND (occupied_mask & ?) = 0
      RETURNING id, seat_class`)
    const insert = db.prepare(`INSERT INTO orders (id, customer_id, run_id, seat_id, from_index, to_index, segment_mask, price_fen, state,
      held_at_ms, hold_expires_at_ms, paid_at_ms, issued_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'held', ?, ?, NULL, NULL)`)
    const hold = db.transaction((index: number) => {
      const segment = index % (benchStopCount - 1)
      const mask = 2 ** segment
      const seat = claim.get(mask, runId, mask, mask)
      if (!seat) return false
      const nowMs = Date.now()
      insert.run(`Oraw${String(index).padStart(15, "0")}`, customer.id, runId, seat.id, segment, segment + 1, mask, 100, nowMs, nowMs + 600_000)
      return true
    })
    const startMs = performance.now()
    let holds = 0
    while (performance.now() - startMs < durationMs && hold.immediate(holds)) holds++
    return { holds, perSecond: holds / ((performance.now() - startMs) / 1_000) }
  } finally {
    db.close()
  }
}
