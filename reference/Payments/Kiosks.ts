/**
 * Self-service kiosks (seed 001): registered by the operator and authenticated by a device key, as gates
 * are; they hold seats for walk-up passengers, who may stay anonymous or give a phone number, and print
 * what was paid for: the ticket and a receipt with the card's BIN and last four digits only. A print job
 * stays pending until the kiosk reports it printed, so a paper-out or a jam leads to a reprint of the one
 * original, and a printed job is never handed out again.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { LedgerRepo } from "../Accounts/Repo.js"
import { ServerConfig } from "../Config.js"
import { sha256Hex } from "../Customers.js"
import { OrderNotFound, Unauthorized } from "../Domain.js"
import type { CustomerId, OrderId, PhoneNumber, StationCode, TicketId } from "../Domain.js"
import { Ids, randomHex } from "../Ids.js"
import { Orders, toOrder } from "../Orders.js"
import { OrdersRepo } from "../Orders/Repo.js"
import type { OrderView } from "../Orders/Repo.js"
import { PrintJobAlreadyPrinted, PrintJobNotFound } from "./Errors.js"
import type { KioskId, KioskOrder, PrintJob, PrintJobId, PrintJobState } from "./Api.js"

/** Integer fen as yuan text, without a float: 25000 → "250.00". */
export const yuanText = (fen: number) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`

/** The receipt of a card payment (seed 001 step d: the receipt printer prints the payment's details). */
export const receiptText = (receipt: {
  kioskId: KioskId; orderId: OrderId; amountFen: number; cardBin: string; cardLast4: string; authCode: string; paidAtMs: number
}) => [
  "CHUNYUN SELF-SERVICE KIOSK - PAYMENT RECEIPT",
  `Kiosk: ${receipt.kioskId}`,
  `Order: ${receipt.orderId}`,
  `Card: ${receipt.cardBin}******${receipt.cardLast4}`,
  `Amount: CNY ${yuanText(receipt.amountFen)}`,
  `Authorisation code: ${receipt.authCode}`,
  `Paid at: ${new Date(receipt.paidAtMs).toISOString()}`
].join("\n")

const ticketText = (order: OrderView, ticket: { id: TicketId; qr_text: string; holder: string }) => [
  "CHUNYUN TICKET - ORIGINAL",
  `Train ${order.train_code} on ${order.service_date}: ${order.from_station} -> ${order.to_station}`,
  `Coach ${order.coach} seat ${order.seat_code}, CNY ${yuanText(Number(order.price_fen))}`,
  `Holder: ${ticket.holder}`,
  `Ticket: ${ticket.id}`,
  `QR: ${ticket.qr_text}`
].join("\n")

interface PrintJobRow {
  readonly id: PrintJobId; readonly order_id: OrderId; readonly receipt_text: string; readonly state: "pending" | "printed"
  readonly faults: number; readonly last_fault: string | null; readonly printed_at_ms: number | null
}

const stateOf = (row: PrintJobRow): PrintJobState => ({
  jobId: row.id, state: row.state, faults: Number(row.faults), printedAtMs: row.printed_at_ms === null ? null : Number(row.printed_at_ms)
})

export class Kiosks extends Effect.Service<Kiosks>()("Kiosks", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ids = yield* Ids
    const ledger = yield* LedgerRepo
    const orders = yield* Orders
    const ordersRepo = yield* OrdersRepo
    const config = yield* ServerConfig

    const register = (kioskId: KioskId, station: StationCode) =>
      Effect.gen(function* () {
        const deviceKey = yield* ids.secretToken
        yield* sql`INSERT INTO kiosks (id, station_code, key_hash) VALUES (${kioskId}, ${station}, ${sha256Hex(deviceKey)})
          ON CONFLICT (id) DO UPDATE SET station_code = ${station}, key_hash = ${sha256Hex(deviceKey)}`
        return { kioskId, deviceKey }
      })

    const authenticate = (deviceKey: string) =>
      Effect.gen(function* () {
        const [kiosk] = yield* sql<{ id: KioskId; station_code: StationCode }>`SELECT id, station_code FROM kiosks
          WHERE key_hash = ${sha256Hex(deviceKey)}`
        if (!kiosk) return yield* new Unauthorized({ message: "unknown kiosk device key" })
        return { id: kiosk.id, station: kiosk.station_code }
      })

    /**
     * The passenger's customer row: the one registered with the phone number, else a new row that cannot log
     * in (its password hashes match no password). An anonymous passenger gets a row without a phone; the
     * ticket is then bound to the row's ID, printed on the ticket as the walk-up code.
     */
    const walkUpCustomer = (phone: PhoneNumber | undefined) =>
      Effect.gen(function* () {
        const byPhone = phone === undefined ? undefined
          : (yield* sql<{ id: CustomerId }>`SELECT id FROM customers WHERE phone = ${phone}`)[0]
        if (byPhone) return byPhone.id
        const id = yield* ids.customerId
        const nowMs = yield* Clock.currentTimeMillis
        const unusable = `scrypt$${config.passwordHashCostN}$${yield* randomHex(32)}$${yield* randomHex(64)}`
        return yield* sql.withTransaction(Effect.gen(function* () {
          const inserted = yield* sql`INSERT INTO customers (id, phone, password_hash, payment_password_hash, created_at_ms)
            VALUES (${id}, ${phone ?? null}, ${unusable}, ${unusable}, ${nowMs}) ON CONFLICT (phone) DO NOTHING RETURNING id`
          if (inserted.length === 1) {
            yield* ledger.openWallet(id)
            return id
          }
          // the same number registered a moment ago
          const [winner] = yield* sql<{ id: CustomerId }>`SELECT id FROM customers WHERE phone = ${phone ?? null}`
          if (!winner) return yield* Effect.dieMessage(`customer with phone ${phone} vanished`)
          return winner.id
        }))
      })

    const holderOf = (customerId: CustomerId) =>
      Effect.map(sql<{ phone: string | null }>`SELECT phone FROM customers WHERE id = ${customerId}`, (rows) => rows[0]?.phone ?? customerId)

    const kioskOrder = (kioskId: KioskId, orderId: OrderId) =>
      Effect.gen(function* () {
        const [sold] = yield* sql<{ order_id: OrderId }>`SELECT order_id FROM kiosk_orders WHERE order_id = ${orderId} AND kiosk_id = ${kioskId}`
        const view = sold ? yield* ordersRepo.byId(orderId) : undefined
        if (!view) return yield* new OrderNotFound({ orderId })
        return view
      })

    const toKioskOrder = (view: OrderView) =>
      Effect.map(holderOf(view.customer_id), (holder): KioskOrder => ({ ...toOrder(view), holder }))

    const holdWalkUp = (kioskId: KioskId, request: { runId: KioskOrder["runId"]; fromStation: StationCode; toStation: StationCode; passengerPhone?: PhoneNumber | undefined }) =>
      Effect.gen(function* () {
        const customerId = yield* walkUpCustomer(request.passengerPhone)
        const order = yield* orders.hold(customerId, { runId: request.runId, fromStation: request.fromStation, toStation: request.toStation })
        // a crash right here leaves a held order no kiosk can pay: it expires like any unpaid hold
        yield* sql`INSERT INTO kiosk_orders (order_id, kiosk_id) VALUES (${order.orderId}, ${kioskId})`
        const view = yield* ordersRepo.byId(order.orderId)
        if (!view) return yield* Effect.dieMessage(`order ${order.orderId} vanished after its hold committed`)
        return yield* toKioskOrder(view)
      }).pipe(Effect.withSpan("Kiosks.holdWalkUp"))

    const getKioskOrder = (kioskId: KioskId, orderId: OrderId) => Effect.flatMap(kioskOrder(kioskId, orderId), toKioskOrder)

    /** Inside the payment's transaction. */
    const createPrintJob = (kioskId: KioskId, orderId: OrderId, receipt: string, nowMs: number) =>
      Effect.gen(function* () {
        const jobId = `P${yield* randomHex(16)}` as PrintJobId
        yield* sql`INSERT INTO print_jobs (id, kiosk_id, order_id, receipt_text, state, created_at_ms)
          VALUES (${jobId}, ${kioskId}, ${orderId}, ${receipt}, 'pending', ${nowMs})`
        return jobId
      })

    /** The kiosk's jobs whose ticket is issued and that were never printed, oldest first. */
    const printJobs = (kioskId: KioskId) =>
      Effect.gen(function* () {
        const rows = yield* sql<PrintJobRow & { ticket_id: TicketId; qr_text: string; holder: string }>`
          SELECT j.*, t.id AS ticket_id, t.qr_text, t.holder FROM print_jobs j JOIN tickets t ON t.order_id = j.order_id
          WHERE j.kiosk_id = ${kioskId} AND j.state = 'pending' ORDER BY j.created_at_ms, j.id LIMIT ${config.kioskPrintJobsBatchSize}`
        return yield* Effect.forEach(rows, (row) => Effect.gen(function* () {
          const order = yield* ordersRepo.byId(row.order_id)
          if (!order) return yield* Effect.dieMessage(`print job ${row.id} names a missing order`)
          const job: PrintJob = {
            jobId: row.id, orderId: row.order_id, ticketId: row.ticket_id, copy: "original",
            ticketText: ticketText(order, { id: row.ticket_id, qr_text: row.qr_text, holder: row.holder }),
            receiptText: row.receipt_text, faults: Number(row.faults), lastFault: row.last_fault
          }
          return job
        }))
      })

    const jobOf = (kioskId: KioskId, jobId: PrintJobId) =>
      Effect.flatMap(sql<PrintJobRow>`SELECT * FROM print_jobs WHERE id = ${jobId} AND kiosk_id = ${kioskId}`, (rows) =>
        rows[0] ? Effect.succeed(rows[0]) : Effect.fail(new PrintJobNotFound({ jobId })))

    /** Printed: the job leaves the queue. Reporting it again answers the same and changes nothing. */
    const printed = (kioskId: KioskId, jobId: PrintJobId) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        yield* sql`UPDATE print_jobs SET state = 'printed', printed_at_ms = ${nowMs}
          WHERE id = ${jobId} AND kiosk_id = ${kioskId} AND state = 'pending'`
        return stateOf(yield* jobOf(kioskId, jobId))
      })

    /** Paper out or a jam: nothing usable came out, so the job stays pending and is handed out again. */
    const printFault = (kioskId: KioskId, jobId: PrintJobId, fault: "paper-out" | "jam") =>
      Effect.gen(function* () {
        yield* sql`UPDATE print_jobs SET faults = faults + 1, last_fault = ${fault}
          WHERE id = ${jobId} AND kiosk_id = ${kioskId} AND state = 'pending'`
        const job = yield* jobOf(kioskId, jobId)
        if (job.state === "printed") return yield* new PrintJobAlreadyPrinted({ jobId, printedAtMs: Number(job.printed_at_ms) })
        return stateOf(job)
      })

    return { register, authenticate, holdWalkUp, getKioskOrder, kioskOrder, createPrintJob, printJobs, printed, printFault } as const
  }),
  dependencies: [Ids.Default]
}) {}
