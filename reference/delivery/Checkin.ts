/**
 * Gate check-in (seeds 000, 003): verify the signature with the public key, the boarding station and
 * the time window, the binding to the presenting phone; then redeem with one conditional write, so the
 * first scan wins and every replay is refused. Every scan, admitted or not, is logged.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { CheckinConfig } from "../Settings/Checkin.js"
import { CalendarConfig } from "../Settings/Calendar.js"
import { FaultConfig } from "../Settings/Faults.js"
import { BindingMismatch, InvalidTicket, TicketAlreadyUsed, TicketForAnotherTrain, TicketNotValidHere } from "../Domain.js"
import type { GateId, StationCode, TicketId } from "../Domain.js"
import type { CurrentGate } from "../customers/Auth/Api.js"
import type { Admission } from "./Checkin/Api.js"
import { TicketKeys } from "./Issuance/Keys.js"
import { bindingTagFor, decodeTicket } from "./Issuance/TicketCode.js"
import type { TicketPayload } from "./Issuance/TicketCode.js"
import { spanOptions } from "../Spans.js"

/** Epoch ms of a service date + minute of day in the server's fixed UTC offset (China has no DST). */
export const departureEpochMs = (serviceDate: string, minuteOfDay: number, utcOffsetMinutes: number) =>
  Date.parse(`${serviceDate}T00:00:00Z`) + (minuteOfDay - utcOffsetMinutes) * 60_000

export class Checkin extends Effect.Service<Checkin>()("Checkin", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const keys = yield* TicketKeys
    const checkinSettings = yield* CheckinConfig
    const calendarSettings = yield* CalendarConfig
    const faultSettings = yield* FaultConfig

    const logScan = (gateId: GateId, ticketId: string | null, outcome: string, nowMs: number) =>
      sql`INSERT INTO scans (gate_id, ticket_id, outcome, at_ms) VALUES (${gateId}, ${ticketId}, ${outcome}, ${nowMs})`

    /** how long before the departure (train) or start (showing, event) a gate admits, and how long after */
    const windowOf = (kind: TicketPayload["kind"]) => {
      switch (kind) {
        case "train": return { what: "train", opensBeforeMs: checkinSettings.checkinOpensBeforeDepartureMs, closesAfterMs: checkinSettings.checkinClosesAfterDepartureMs }
        case "cinema": return { what: "showing", opensBeforeMs: checkinSettings.showingCheckinOpensBeforeStartMs, closesAfterMs: checkinSettings.showingCheckinClosesAfterStartMs }
        case "event": return { what: "event", opensBeforeMs: checkinSettings.eventCheckinOpensBeforeStartMs, closesAfterMs: checkinSettings.eventCheckinClosesAfterStartMs }
      }
    }

    const checkValidHere = (payload: TicketPayload, station: StationCode, nowMs: number) => {
      if (payload.fromStation !== station) return `boards at ${payload.fromStation}, this gate is at ${station}`
      const departureMs = departureEpochMs(payload.serviceDate, payload.departureMinuteOfDay, calendarSettings.utcOffsetMinutes)
      const window = windowOf(payload.kind)
      if (nowMs < departureMs - window.opensBeforeMs) return `check-in has not opened for this ${window.what}`
      if (nowMs > departureMs + window.closesAfterMs) return `check-in has closed for this ${window.what}`
      return undefined
    }

    // `voided_at_ms` sits on the ticket row itself: a scan that queued behind a cancel or change re-checks the
    // row it updates after their commit (Read Committed), but not the order read in the subquery
    // the mutation test's planted bug (reference/Config.ts plantedBug) leaves out the check that the ticket is unused
    const unusedOnly = faultSettings.plantedBug === "gate-admits-used-ticket" ? sql`1 = 1` : sql`admitted_at_ms IS NULL`
    const redeem = (payload: TicketPayload, gateId: GateId, nowMs: number) =>
      Effect.gen(function* () {
        const admitted = yield* sql<{ coach: number; seat_code: string }>`UPDATE tickets SET admitted_at_ms = ${nowMs}, admitted_gate_id = ${gateId}
          WHERE id = ${payload.ticketId} AND ${unusedOnly} AND voided_at_ms IS NULL
            AND EXISTS (SELECT 1 FROM orders o WHERE o.id = tickets.order_id AND o.state = 'issued')
          RETURNING id`
        if (admitted.length === 1) return true
        const [ticket] = yield* sql<{ admitted_at_ms: number | null; admitted_gate_id: string | null }>`SELECT admitted_at_ms, admitted_gate_id
          FROM tickets WHERE id = ${payload.ticketId}`
        if (!ticket) return yield* new InvalidTicket({ reason: "unknown-ticket", detail: "signed, but this server never issued it" })
        if (ticket.admitted_at_ms === null) return yield* new TicketNotValidHere({ reason: "the ticket's order is no longer issued (refunded or changed)" })
        return yield* new TicketAlreadyUsed({
          ticketId: payload.ticketId, firstAdmittedAtMs: Number(ticket.admitted_at_ms), firstGateId: ticket.admitted_gate_id ?? ""
        })
      })

    /** A gate told which run it boards admits that run's tickets only, not another train leaving the same station. */
    const checkBoarding = (payload: TicketPayload, gate: CurrentGate["Type"]) =>
      gate.boarding !== null && payload.kind === "train" &&
        (payload.trainCode !== gate.boarding.trainCode || payload.serviceDate !== gate.boarding.serviceDate)
        ? new TicketForAnotherTrain({
          ticketId: payload.ticketId, ticketTrainCode: payload.trainCode, ticketServiceDate: payload.serviceDate,
          gateTrainCode: gate.boarding.trainCode, gateServiceDate: gate.boarding.serviceDate
        })
        : undefined

    const scan = (gate: CurrentGate["Type"], request: { qr: string; presentedHolder: string }) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const decoded = decodeTicket(request.qr, keys.publicKeys)
        if (!decoded.ok) return yield* new InvalidTicket({ reason: decoded.failure.reason, detail: decoded.failure.detail })
        const payload = decoded.payload
        const notHere = checkValidHere(payload, gate.station, nowMs)
        if (notHere) return yield* new TicketNotValidHere({ reason: notHere })
        const anotherTrain = checkBoarding(payload, gate)
        if (anotherTrain) return yield* anotherTrain
        if (bindingTagFor(request.presentedHolder, keys.bindingSalt) !== payload.bindingTag) {
          return yield* new BindingMismatch({ ticketId: payload.ticketId })
        }
        yield* sql.withTransaction(redeem(payload, gate.id, nowMs))
        const admission: Admission = {
          ticketId: payload.ticketId as TicketId, admittedAtMs: nowMs, coach: payload.coach, seatCode: payload.seatCode,
          fromStation: payload.fromStation as StationCode, toStation: payload.toStation as StationCode
        }
        return admission
      }).pipe(
        Effect.tapBoth({
          onFailure: (error) => Effect.flatMap(Clock.currentTimeMillis, (nowMs) =>
            logScan(gate.id, null, typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : "error", nowMs)),
          onSuccess: (admission) => logScan(gate.id, admission.ticketId, "admitted", admission.admittedAtMs)
        }),
        Effect.withSpan("Checkin.scan", spanOptions)
      )

    return { scan } as const
  })
}) {}
