/**
 * Self-service kiosks (seed 001): registered by the operator and authenticated by a device key, as gates
 * are; they hold seats for walk-up passengers, who may stay anonymous or give a phone number, and print
 * what was paid for: the ticket and a receipt with the card's BIN and last four digits only. A print job
 * stays pending until the kiosk reports it printed, so a paper-out or a jam leads to a reprint of the one
 * original, and a printed job is never handed out again.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Effect } from "effect"
import { LedgerRepo } from "../Accounts/Repo.js"
import { CryptoConfig } from "../../Settings/Crypto.js"
import { PaymentConfig } from "../../Settings/Payments.js"
import { Customers, sha256Hex } from "../../customers/Customers.js"
import { OrderNotFound, Unauthorized } from "../../Domain.js"
import type { CustomerId, FenTotal, OrderId, PhoneNumber, StationCode, TicketId } from "../../Domain.js"
import { Ids, randomHex } from "../../Ids.js"
import { Orders, toOrder } from "../../ticketing/Orders.js"
import { OrdersRepo } from "../../ticketing/Orders/Repo.js"
import type { OrderView } from "../../ticketing/Orders/Repo.js"
import type { InvalidVoucherCode, VoucherAlreadyRedeemed, VoucherNotFound, VoucherNotRedeemable } from "../../delivery/Delivery/Errors.js"
import { VouchersRepo } from "../../delivery/Delivery/Repo.js"
import { NothingToPickUp, PrintJobAlreadyPrinted, PrintJobNotFound, TicketAlreadyPrinted } from "./Errors.js"
import type { KioskId, KioskOrder, PickupRequest, PrintJob, PrintJobId, PrintJobState } from "./Api.js"
import { spanOptions } from "../../Spans.js"

type PickupFailure = InvalidVoucherCode | VoucherNotFound | VoucherAlreadyRedeemed | VoucherNotRedeemable | TicketAlreadyPrinted | NothingToPickUp

/** the most tickets one pickup by phone + ID prints: a passenger's trips of a day, not a travel agency's stock */
export const maxTicketsPerPickup = 8

/** The slip printed on the receipt printer when a ticket bought elsewhere is picked up: nothing of the ID on it. */
export const pickupSlipText = (slip: { kioskId: KioskId; orderId: OrderId; ticketId: TicketId; by: string; atMs: number }) => [
  "CHUNYUN SELF-SERVICE KIOSK - TICKET PICKUP",
  `Kiosk: ${slip.kioskId}`,
  `Order: ${slip.orderId}`,
  `Ticket: ${slip.ticketId}`,
  `Picked up by: ${slip.by}`,
  `At: ${new Date(slip.atMs).toISOString()}`
].join("\n")

/** Integer fen as yuan text, without a float: 25000 → "250.00". */
export const yuanText = (fen: number) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`

/**
 * The receipt of a card payment (seed 001 step d: the receipt printer prints the payment's details). A remote
 * booking's receipt names the passenger it was booked for.
 */
export const receiptText = (receipt: {
  kioskId: KioskId; orderId: OrderId; amountFen: FenTotal; cardBin: string; cardLast4: string; authCode: string; paidAtMs: number
  remoteBookingFor?: string | undefined
}) => [
  "CHUNYUN SELF-SERVICE KIOSK - PAYMENT RECEIPT",
  `Kiosk: ${receipt.kioskId}`,
  `Order: ${receipt.orderId}`,
  ...(receipt.remoteBookingFor === undefined ? [] : [`Remote booking for: ${receipt.remoteBookingFor}`]),
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
    const customers = yield* Customers
    const vouchers = yield* VouchersRepo
    const cryptoSettings = yield* CryptoConfig
    const paymentSettings = yield* PaymentConfig

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
        const unusable = `scrypt$${cryptoSettings.passwordHashCostN}$${yield* randomHex(32)}$${yield* randomHex(64)}`
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
      }).pipe(Effect.withSpan("Kiosks.holdWalkUp", spanOptions))

    const getKioskOrder = (kioskId: KioskId, orderId: OrderId) => Effect.flatMap(kioskOrder(kioskId, orderId), toKioskOrder)

    /** Inside the payment's transaction. */
    const createPrintJob = (kioskId: KioskId, orderId: OrderId, receipt: string, nowMs: number) =>
      Effect.gen(function* () {
        const jobId = `P${yield* randomHex(16)}` as PrintJobId
        yield* sql`INSERT INTO print_jobs (id, kiosk_id, order_id, receipt_text, state, created_at_ms)
          VALUES (${jobId}, ${kioskId}, ${orderId}, ${receipt}, 'pending', ${nowMs})`
        return jobId
      })

    /** Rows of print jobs as the kiosk gets them: a sale's job (its order was paid by card at a kiosk) or a pickup's. */
    const toPrintJobs = (rows: ReadonlyArray<PrintJobRow & { ticket_id: TicketId; qr_text: string; holder: string; sold_here: number }>) =>
      Effect.forEach(rows, (row) => Effect.gen(function* () {
        const order = yield* ordersRepo.byId(row.order_id)
        if (!order) return yield* Effect.dieMessage(`print job ${row.id} names a missing order`)
        const job: PrintJob = {
          jobId: row.id, orderId: row.order_id, ticketId: row.ticket_id, copy: "original",
          kind: Number(row.sold_here) > 0 ? "sale" : "pickup",
          ticketText: ticketText(order, { id: row.ticket_id, qr_text: row.qr_text, holder: row.holder }),
          receiptText: row.receipt_text, faults: Number(row.faults), lastFault: row.last_fault
        }
        return job
      }))

    /** The kiosk's jobs whose ticket is issued and that were never printed, oldest first. */
    const printJobs = (kioskId: KioskId) =>
      Effect.flatMap(sql<PrintJobRow & { ticket_id: TicketId; qr_text: string; holder: string; sold_here: number }>`
          SELECT j.*, t.id AS ticket_id, t.qr_text, t.holder,
            (SELECT COUNT(*) FROM card_payments cp WHERE cp.order_id = j.order_id AND cp.state IN ('captured', 'refunded')) AS sold_here
          FROM print_jobs j JOIN tickets t ON t.order_id = j.order_id
          WHERE j.kiosk_id = ${kioskId} AND j.state = 'pending' ORDER BY j.created_at_ms, j.id LIMIT ${paymentSettings.kioskPrintJobsBatchSize}`,
      toPrintJobs)

    /** One print job per order, ever (a UNIQUE order_id): a ticket that has one is never queued again. */
    const queuePickup = (kioskId: KioskId, ticket: { ticket_id: TicketId; order_id: OrderId }, by: string, nowMs: number) =>
      Effect.gen(function* () {
        const jobId = `P${yield* randomHex(16)}` as PrintJobId
        const slip = pickupSlipText({ kioskId, orderId: ticket.order_id, ticketId: ticket.ticket_id, by, atMs: nowMs })
        const inserted = yield* sql`INSERT INTO print_jobs (id, kiosk_id, order_id, receipt_text, state, created_at_ms)
          VALUES (${jobId}, ${kioskId}, ${ticket.order_id}, ${slip}, 'pending', ${nowMs}) ON CONFLICT (order_id) DO NOTHING RETURNING id`
        const queued: Array<PrintJobId> = inserted.length === 1 ? [jobId] : []
        return queued
      })

    /** A voucher (seed 004) redeemed at this kiosk and its ticket queued to print, in one transaction. */
    const pickupByVoucher = (kioskId: KioskId, typed: string, nowMs: number) =>
      Effect.gen(function* () {
        const { code, ticketId } = yield* vouchers.redeemVoucher(typed, kioskId, nowMs)
        const [ticket] = yield* sql<{ ticket_id: TicketId; order_id: OrderId }>`SELECT id AS ticket_id, order_id FROM tickets WHERE id = ${ticketId}`
        if (!ticket) return yield* Effect.dieMessage(`redeemed voucher ${code} has no ticket`)
        const queued: Array<PrintJobId> = yield* queuePickup(kioskId, ticket, `voucher ${code.slice(0, 4)} **** ${code.slice(8)}`, nowMs)
        // a ticket printed at the kiosk that sold it: the redemption above is rolled back with this failure
        if (queued.length === 0) return yield* new TicketAlreadyPrinted({ ticketId: ticket.ticket_id })
        return queued
      })

    /**
     * Phone number + resident ID (the ID card on the reader): the customer's issued, unused tickets that no
     * kiosk has printed, oldest first; their vouchers, if drawn, are redeemed so no machine prints them again.
     */
    const pickupByPhone = (kioskId: KioskId, phone: PhoneNumber, residentId: string, nowMs: number) =>
      Effect.gen(function* () {
        const tickets = yield* sql<{ ticket_id: TicketId; order_id: OrderId }>`SELECT t.id AS ticket_id, t.order_id
          FROM customers c JOIN orders o ON o.customer_id = c.id JOIN tickets t ON t.order_id = o.id
          WHERE c.phone = ${phone} AND c.resident_id = ${residentId.toUpperCase()} AND o.state = 'issued'
            AND t.voided_at_ms IS NULL AND t.admitted_at_ms IS NULL
            AND NOT EXISTS (SELECT 1 FROM print_jobs j WHERE j.order_id = t.order_id)
          ORDER BY t.issued_at_ms, t.id LIMIT ${maxTicketsPerPickup}`
        const by = `phone ${phone.slice(0, 3)}****${phone.slice(-4)} + ID`
        const queued: Array<PrintJobId> = []
        for (const ticket of tickets) {
          const jobs = yield* queuePickup(kioskId, ticket, by, nowMs)
          if (jobs.length === 0) continue
          queued.push(...jobs)
          yield* sql`UPDATE ticket_vouchers SET redeemed_at_ms = ${nowMs}, redeemed_machine_id = ${kioskId}
            WHERE ticket_id = ${ticket.ticket_id} AND redeemed_at_ms IS NULL`
        }
        // one answer for an unknown phone, a wrong ID and nothing left to print: the kiosk learns nothing more
        if (queued.length === 0) return yield* new NothingToPickUp({ message: "no ticket to print for this phone number and ID" })
        return queued
      })

    /** Queue the passenger's tickets to print at this kiosk; the kiosk prints them as it prints its sales. */
    const pickup = (kioskId: KioskId, request: PickupRequest) =>
      Effect.gen(function* () {
        // the ID is checked (and counted) before the transaction, which a refusal rolls back
        if ("phone" in request && !(yield* customers.checkResidentIdOf(request.phone, request.residentId))) {
          return yield* new NothingToPickUp({ message: "no ticket to print for this phone number and ID" })
        }
        const nowMs = yield* Clock.currentTimeMillis
        const queue: Effect.Effect<Array<PrintJobId>, PickupFailure | SqlError> = "voucherCode" in request
          ? pickupByVoucher(kioskId, request.voucherCode, nowMs)
          : pickupByPhone(kioskId, request.phone, request.residentId, nowMs)
        const jobIds = yield* sql.withTransaction(queue)
        const rows = yield* sql<PrintJobRow & { ticket_id: TicketId; qr_text: string; holder: string; sold_here: number }>`
          SELECT j.*, t.id AS ticket_id, t.qr_text, t.holder, 0 AS sold_here
          FROM print_jobs j JOIN tickets t ON t.order_id = j.order_id
          WHERE j.id IN ${sql.in(jobIds)} ORDER BY j.created_at_ms, j.id`
        return yield* toPrintJobs(rows)
      }).pipe(Effect.withSpan("Kiosks.pickup", spanOptions))

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

    return {
      register, authenticate, walkUpCustomer, holderOf, holdWalkUp, getKioskOrder, kioskOrder, createPrintJob, printJobs, pickup, printed, printFault
    } as const
  }),
  dependencies: [Ids.Default]
}) {}
