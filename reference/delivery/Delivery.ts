/**
 * Delivery after issuance (seeds 000, 003, 004). The issuing transaction writes a delivery job
 * (`enqueueDelivery`); after its commit, and again from the sweeper after a crash, the job announces the
 * ticket by SMS (000: "delivered to the phone"), gives it a pickup voucher (004) and, when the holder's
 * phone has a SIM ticket carrier (003), puts it on the carrier if there is room or else in the network
 * ticket box under the carrier's MSISDN. Every step is idempotent, so at-least-once is safe: the notice
 * has a dedupe key, a ticket's place is its primary key, a voucher is one per ticket.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect, Random, Schema } from "effect"
import { DeliveryConfig } from "../Settings/Delivery.js"
import { FenTotal, OrderNotFound, PhoneNumber, TicketNotIssued } from "../Domain.js"
import type { CustomerId, OrderId, TicketId } from "../Domain.js"
import { Devices } from "./Delivery/Devices.js"
import type { AuthenticatedDevice } from "./Delivery/Devices.js"
import { CarrierNeedsPhone, InvalidCarrierCapacity, TicketNotOnCarrier } from "./Delivery/Errors.js"
import type { CarrierState, Redemption, Voucher } from "./Delivery/Api.js"
import { VouchersRepo } from "./Delivery/Repo.js"
import { groupedVoucherCode, voucherCodeOf, voucherRandomDigits } from "./Delivery/VoucherCode.js"
import { OrdersRepo } from "../ticketing/Orders/Repo.js"
import type { OrderView } from "../ticketing/Orders/Repo.js"
import { fitText, SmsGateway } from "./Sms/GatewayPort.js"
import { forUpdate } from "../Store/Dialect.js"
import { Queries } from "../Store/Queries.js"
import { spanOptions } from "../Spans.js"

const isPhoneNumber = Schema.is(PhoneNumber)

export const ticketNoticeDedupeKey = (ticketId: string) => `ticket-notice:${ticketId}`

const yuan = (fen: number) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`

/** What a ticket's SMS notice tells of its order. */
export type TicketNoticeFields = Pick<OrderView, "train_code" | "service_date" | "from_station" | "to_station" | "coach" | "seat_code" | "price_fen">

export const ticketNoticeText = (order: TicketNoticeFields, ticketId: string, voucherCode: string) =>
  `Chunyun: ticket ${ticketId} issued. ${order.train_code} ${order.service_date} ${order.from_station}-${order.to_station}, ` +
  `coach ${order.coach} seat ${order.seat_code}, ${yuan(Number(order.price_fen))} yuan. Show the QR code in the app; ` +
  `pickup code ${groupedVoucherCode(voucherCode)}.`

interface PlaceRow { readonly ticket_id: TicketId; readonly qr_text: string; readonly written_at_ms: number | null }

export class Delivery extends Effect.Service<Delivery>()("Delivery", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const queries = yield* Queries
    const config = yield* DeliveryConfig
    const gateway = yield* SmsGateway
    const devices = yield* Devices
    const orders = yield* OrdersRepo
    const vouchers = yield* VouchersRepo

    // ---- vouchers (004) ----------------------------------------------------------------------------

    const drawCode = Effect.map(
      Effect.all(Array.from({ length: voucherRandomDigits }, () => Random.nextIntBetween(0, 10))),
      (digits) => voucherCodeOf(digits.join(""))
    )

    /** The ticket's voucher code, drawn on first use; a code another ticket holds is drawn again. */
    const ensureVoucher = (ticketId: TicketId) =>
      Effect.gen(function* () {
        for (let attempt = 0; attempt < config.maxVoucherCodeAttempts; attempt++) {
          const existing = yield* queries.first<{ code: string }>("SELECT code FROM ticket_vouchers WHERE ticket_id = ?", [ticketId])
          if (existing) return existing.code
          const code = yield* drawCode
          const nowMs = yield* Clock.currentTimeMillis
          yield* queries.run("INSERT INTO ticket_vouchers (ticket_id, code, created_at_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [ticketId, code, nowMs])
        }
        return yield* Effect.dieMessage(`no free voucher code for ticket ${ticketId} in ${config.maxVoucherCodeAttempts} draws`)
      })

    /** A ticket issued in this transaction has no voucher yet: draw one and insert it, and look again only on a taken code. */
    const newVoucher = (ticketId: TicketId) =>
      Effect.gen(function* () {
        const code = yield* drawCode
        const nowMs = yield* Clock.currentTimeMillis
        const inserted = yield* queries.first<{ code: string }>("INSERT INTO ticket_vouchers (ticket_id, code, created_at_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING code",
          [ticketId, code, nowMs])
        return inserted?.code ?? (yield* ensureVoucher(ticketId))
      })

    const getVoucher = (customerId: CustomerId, orderId: OrderId) =>
      Effect.gen(function* () {
        const order = yield* orders.byIdForCustomer(orderId, customerId)
        if (!order) return yield* new OrderNotFound({ orderId })
        if (!order.ticket_id) return yield* new TicketNotIssued({ orderId, state: order.state })
        const ticketId = order.ticket_id as TicketId
        const code = yield* ensureVoucher(ticketId)
        const [row] = yield* sql<{ redeemed_at_ms: number | null }>`SELECT redeemed_at_ms FROM ticket_vouchers WHERE ticket_id = ${ticketId}`
        const voucher: Voucher = {
          ticketId, orderId, code, display: groupedVoucherCode(code),
          redeemedAtMs: row?.redeemed_at_ms == null ? null : Number(row.redeemed_at_ms)
        }
        return voucher
      })

    /** A ticket machine prints the ticket once: the first redemption wins (`VouchersRepo.redeemVoucher`). */
    const redeemVoucher = (machine: AuthenticatedDevice, typed: string) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const { code, ticketId } = yield* vouchers.redeemVoucher(typed, machine.id, nowMs)
        const [ticket] = yield* sql<{ order_id: OrderId }>`SELECT order_id FROM tickets WHERE id = ${ticketId}`
        const order = ticket ? yield* orders.byId(ticket.order_id) : undefined
        if (!order) return yield* Effect.dieMessage(`redeemed voucher ${code} has no ticket or order`)
        const redemption: Redemption = {
          ticketId, orderId: order.id, runId: order.run_id, serviceDate: order.service_date,
          fromStation: order.from_station, toStation: order.to_station, coach: order.coach, seatCode: order.seat_code,
          priceFen: FenTotal.make(Number(order.price_fen)), redeemedAtMs: nowMs, machineId: machine.id
        }
        return redemption
      }).pipe(sql.withTransaction, Effect.withSpan("Delivery.redeemVoucher", spanOptions))

    // ---- SIM carriers and the network ticket box (003) ------------------------------------------------

    /**
     * Moves the oldest tickets of the box onto the carrier while it has a free slot. A slot is taken by a
     * conditional write on the carrier's row (`used_slots < capacity_slots`, and a CHECK besides), so the
     * carrier never holds more than its capacity; on PostgreSQL that write also queues concurrent fillers
     * of the same carrier behind one another.
     */
    const fillCarrier = (msisdn: string, nowMs: number) =>
      Effect.gen(function* () {
        const moved: Array<TicketId> = []
        for (let slot = 0; slot < config.maxCarrierCapacityBytes / config.carrierTicketSlotBytes; slot++) {
          const taken = yield* sql`UPDATE sim_carriers SET used_slots = used_slots + 1
            WHERE msisdn = ${msisdn} AND used_slots < capacity_slots RETURNING msisdn`
          if (taken.length === 0) break
          // seed 003 migrates the tickets not yet checked: one used at a gate (shown from the app) or voided stays in the box
          const [ticket] = yield* sql<{ ticket_id: TicketId }>`UPDATE ticket_places SET place = 'carrier', placed_at_ms = ${nowMs}, written_at_ms = NULL
            WHERE ticket_id = (SELECT p.ticket_id FROM ticket_places p WHERE p.msisdn = ${msisdn} AND p.place = 'box'
                                 AND EXISTS (SELECT 1 FROM tickets t WHERE t.id = p.ticket_id AND t.admitted_at_ms IS NULL AND t.voided_at_ms IS NULL)
                               ORDER BY p.issued_at_ms, p.ticket_id LIMIT 1 ${forUpdate(sql)})
              AND place = 'box'
            RETURNING ticket_id`
          if (!ticket) {
            yield* sql`UPDATE sim_carriers SET used_slots = used_slots - 1 WHERE msisdn = ${msisdn}`
            break
          }
          moved.push(ticket.ticket_id)
        }
        return moved
      })

    /** Puts a ticket in the box under `msisdn`, then fills the carrier from the box oldest first: a new ticket goes straight to a carrier with room. */
    const placeTicket = (ticketId: TicketId, msisdn: string, issuedAtMs: number, nowMs: number) =>
      Effect.gen(function* () {
        yield* sql`INSERT INTO ticket_places (ticket_id, msisdn, place, issued_at_ms, placed_at_ms)
          VALUES (${ticketId}, ${msisdn}, 'box', ${issuedAtMs}, ${nowMs}) ON CONFLICT (ticket_id) DO NOTHING`
        return yield* fillCarrier(msisdn, nowMs)
      })

    /** The phone's live tickets not placed yet (issued before its carrier registered) go to the box and the carrier. */
    const placeUnplaced = (msisdn: string, nowMs: number) =>
      Effect.gen(function* () {
        const unplaced = yield* sql<{ id: TicketId; issued_at_ms: number }>`SELECT t.id, t.issued_at_ms FROM tickets t
          JOIN orders o ON o.id = t.order_id
          WHERE t.holder = ${msisdn} AND o.state = 'issued' AND t.admitted_at_ms IS NULL
            AND NOT EXISTS (SELECT 1 FROM ticket_places p WHERE p.ticket_id = t.id)
          ORDER BY t.issued_at_ms, t.id`
        for (const ticket of unplaced) {
          yield* sql`INSERT INTO ticket_places (ticket_id, msisdn, place, issued_at_ms, placed_at_ms)
            VALUES (${ticket.id}, ${msisdn}, 'box', ${Number(ticket.issued_at_ms)}, ${nowMs}) ON CONFLICT (ticket_id) DO NOTHING`
        }
        return yield* fillCarrier(msisdn, nowMs)
      })

    const carrierState = (msisdn: string) =>
      Effect.gen(function* () {
        const [carrier] = yield* sql<{ capacity_bytes: number; capacity_slots: number; used_slots: number }>`SELECT capacity_bytes,
          capacity_slots, used_slots FROM sim_carriers WHERE msisdn = ${msisdn}`
        if (!carrier) return yield* Effect.dieMessage(`carrier ${msisdn} authenticated but has no row`)
        const held = yield* sql<PlaceRow>`SELECT p.ticket_id, t.qr_text, p.written_at_ms FROM ticket_places p
          JOIN tickets t ON t.id = p.ticket_id WHERE p.msisdn = ${msisdn} AND p.place = 'carrier' ORDER BY p.issued_at_ms, p.ticket_id`
        const [box] = yield* sql<{ count: number }>`SELECT COUNT(*) AS count FROM ticket_places p WHERE p.msisdn = ${msisdn} AND p.place = 'box'
          AND EXISTS (SELECT 1 FROM tickets t WHERE t.id = p.ticket_id AND t.admitted_at_ms IS NULL AND t.voided_at_ms IS NULL)`
        const state: CarrierState = {
          msisdn: msisdn as CarrierState["msisdn"], capacityBytes: Number(carrier.capacity_bytes),
          capacitySlots: Number(carrier.capacity_slots), usedSlots: Number(carrier.used_slots),
          tickets: held.map((row) => ({ ticketId: row.ticket_id, qr: row.qr_text, written: row.written_at_ms !== null })),
          inBox: Number(box?.count ?? 0)
        }
        return state
      })

    /** The customer's SIM registers its ticket storage; answers the carrier device's key. Registering again re-keys it. */
    const registerCarrier = (caller: { id: CustomerId; phone: string | null }, capacityBytes: number) =>
      Effect.gen(function* () {
        if (caller.phone === null) return yield* new CarrierNeedsPhone({ message: "a SIM carrier is registered under a phone number; this customer is an anonymous device" })
        const customer = { id: caller.id, phone: caller.phone }
        if (capacityBytes < config.minCarrierCapacityBytes || capacityBytes > config.maxCarrierCapacityBytes) {
          return yield* new InvalidCarrierCapacity({
            message: `a SIM carrier reserves ${config.minCarrierCapacityBytes}..${config.maxCarrierCapacityBytes} bytes for tickets, got ${capacityBytes}`
          })
        }
        const capacitySlots = Math.floor(capacityBytes / config.carrierTicketSlotBytes)
        const nowMs = yield* Clock.currentTimeMillis
        const deviceKey = yield* sql.withTransaction(Effect.gen(function* () {
          // a smaller capacity than the tickets it holds is kept at the old one: the carrier must report removals first
          yield* sql`INSERT INTO sim_carriers (msisdn, capacity_bytes, capacity_slots, registered_at_ms)
            VALUES (${customer.phone}, ${capacityBytes}, ${capacitySlots}, ${nowMs})
            ON CONFLICT (msisdn) DO UPDATE SET capacity_bytes = ${capacityBytes}, capacity_slots = ${capacitySlots}
            WHERE sim_carriers.used_slots <= ${capacitySlots}`
          const key = yield* devices.register("sim-carrier", customer.phone, customer.phone)
          yield* placeUnplaced(customer.phone, nowMs)
          return key
        }))
        return { deviceKey, carrier: yield* carrierState(customer.phone) }
      }).pipe(Effect.withSpan("Delivery.registerCarrier", spanOptions))

    const unknownIn = (named: ReadonlyArray<TicketId>, found: ReadonlyArray<{ ticket_id: TicketId }>) =>
      named.find((ticketId) => !found.some((row) => row.ticket_id === ticketId))

    /** The carrier wrote these tickets to the SIM (an acknowledged migration). Idempotent. */
    const acknowledgeWritten = (carrier: AuthenticatedDevice, ticketIds: ReadonlyArray<TicketId>) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const onCarrier = ticketIds.length === 0 ? [] : yield* sql<{ ticket_id: TicketId }>`SELECT ticket_id FROM ticket_places
          WHERE msisdn = ${carrier.id} AND place = 'carrier' AND ${sql.in("ticket_id", ticketIds)}`
        const stranger = unknownIn(ticketIds, onCarrier)
        if (stranger) return yield* new TicketNotOnCarrier({ ticketId: stranger })
        if (ticketIds.length > 0) {
          yield* sql`UPDATE ticket_places SET written_at_ms = ${nowMs}
            WHERE msisdn = ${carrier.id} AND place = 'carrier' AND written_at_ms IS NULL AND ${sql.in("ticket_id", ticketIds)}`
        }
        return yield* carrierState(carrier.id)
      }).pipe(sql.withTransaction)

    /**
     * The carrier reports tickets it no longer holds (used at a gate, or deleted): their slots are free,
     * and the oldest tickets of the box migrate into them. A ticket already reported is accepted again.
     */
    const reportRemoved = (carrier: AuthenticatedDevice, ticketIds: ReadonlyArray<TicketId>) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        yield* sql`SELECT msisdn FROM sim_carriers WHERE msisdn = ${carrier.id} ${forUpdate(sql)}`
        const places = ticketIds.length === 0 ? [] : yield* sql<{ ticket_id: TicketId; place: string }>`SELECT ticket_id, place
          FROM ticket_places WHERE msisdn = ${carrier.id} AND place IN ('carrier', 'removed') AND ${sql.in("ticket_id", ticketIds)} ${forUpdate(sql)}`
        const stranger = unknownIn(ticketIds, places)
        if (stranger) return yield* new TicketNotOnCarrier({ ticketId: stranger })
        const freed = places.filter((row) => row.place === "carrier").map((row) => row.ticket_id)
        if (freed.length > 0) {
          const removed = yield* sql`UPDATE ticket_places SET place = 'removed', placed_at_ms = ${nowMs}
            WHERE msisdn = ${carrier.id} AND place = 'carrier' AND ${sql.in("ticket_id", freed)} RETURNING ticket_id`
          yield* sql`UPDATE sim_carriers SET used_slots = used_slots - ${removed.length} WHERE msisdn = ${carrier.id}`
        }
        yield* fillCarrier(carrier.id, nowMs)
        return yield* carrierState(carrier.id)
      }).pipe(sql.withTransaction, Effect.withSpan("Delivery.reportRemoved", spanOptions))

    // ---- delivery jobs (000) ----------------------------------------------------------------------------

    /** Inside the issuing transaction of a ticket delivered later (a group order's): its delivery is owed from the moment it exists. */
    const enqueue = (ticketId: TicketId, nowMs: number) =>
      sql`INSERT INTO delivery_jobs (ticket_id, created_at_ms) VALUES (${ticketId}, ${nowMs})`

    /**
     * The steps of a delivery, each idempotent: the voucher, the SMS notice to a phone holder (once, by its
     * dedupe key), and the ticket's place on the holder's SIM carrier or in its network box.
     */
    const deliverySteps = (ticket: { id: TicketId; holder: string; issuedAtMs: number }, order: TicketNoticeFields, nowMs: number, freshTicket: boolean) =>
      Effect.gen(function* () {
        const code = yield* (freshTicket ? newVoucher(ticket.id) : ensureVoucher(ticket.id))
        if (!isPhoneNumber(ticket.holder)) return
        yield* gateway.send({
          to: ticket.holder, purpose: "ticket-notice", dedupeKey: ticketNoticeDedupeKey(ticket.id),
          text: fitText(ticketNoticeText(order, ticket.id, code), gateway.maxTextChars)
        })
        const carrier = yield* queries.first<{ msisdn: string }>("SELECT msisdn FROM sim_carriers WHERE msisdn = ?", [ticket.holder])
        if (carrier) yield* placeTicket(ticket.id, ticket.holder, ticket.issuedAtMs, nowMs)
      })

    /**
     * Inside the transaction that issues the ticket: the delivery done with the issue, so it commits (or not)
     * with it and no job is left for later; the job row is written done, as the record that it ran.
     */
    const deliverIssued = (ticket: { id: TicketId; holder: string; issuedAtMs: number }, order: TicketNoticeFields, nowMs: number) =>
      Effect.gen(function* () {
        yield* deliverySteps(ticket, order, nowMs, true)
        yield* queries.run("INSERT INTO delivery_jobs (ticket_id, created_at_ms, attempts, done_at_ms) VALUES (?, ?, 1, ?)", [ticket.id, nowMs, nowMs])
      })

    /** One job: lease it, then the idempotent steps, then mark it done. False when it was not ours to run. */
    const deliver = (ticketId: TicketId) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const leased = yield* sql`UPDATE delivery_jobs SET attempts = attempts + 1, leased_until_ms = ${nowMs + config.deliveryLeaseMs}
          WHERE ticket_id = ${ticketId} AND done_at_ms IS NULL AND attempts < ${config.maxDeliveryAttempts}
            AND (leased_until_ms IS NULL OR leased_until_ms <= ${nowMs})
          RETURNING ticket_id`
        if (leased.length === 0) return false
        const [ticket] = yield* sql<{ holder: string; order_id: OrderId; issued_at_ms: number }>`SELECT holder, order_id, issued_at_ms
          FROM tickets WHERE id = ${ticketId}`
        const order = ticket ? yield* orders.byId(ticket.order_id) : undefined
        if (!ticket || !order) return yield* Effect.dieMessage(`delivery job names ticket ${ticketId} without its order`)
        yield* sql.withTransaction(deliverySteps({ id: ticketId, holder: ticket.holder, issuedAtMs: Number(ticket.issued_at_ms) }, order, nowMs, false))
        yield* sql`UPDATE delivery_jobs SET done_at_ms = ${nowMs}, leased_until_ms = NULL WHERE ticket_id = ${ticketId}`
        return true
      }).pipe(Effect.withSpan("Delivery.deliver", spanOptions))

    /** The backstop: jobs whose first attempt died (or whose lease ran out) are run again. */
    const sweep = Effect.gen(function* () {
      const nowMs = yield* Clock.currentTimeMillis
      const due = yield* sql<{ ticket_id: TicketId }>`SELECT ticket_id FROM delivery_jobs
        WHERE done_at_ms IS NULL AND attempts < ${config.maxDeliveryAttempts} AND (leased_until_ms IS NULL OR leased_until_ms <= ${nowMs})
        ORDER BY created_at_ms, ticket_id LIMIT ${config.deliveryBatchSize}`
      let delivered = 0
      for (const job of due) if (yield* deliver(job.ticket_id)) delivered++
      return delivered
    }).pipe(Effect.withSpan("Delivery.sweep", spanOptions))

    return {
      enqueue, deliverIssued, deliver, sweep, getVoucher, redeemVoucher, registerCarrier, carrierState, acknowledgeWritten, reportRemoved
    } as const
  }),
  dependencies: [Devices.Default, OrdersRepo.Default, VouchersRepo.Default]
}) {}
